"""An instance's history and a full who-chain on a 1M-event cache.

uv run python bench/investigate.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bigcache import big_cache

from trailtui.filter.language import parse
from trailtui.investigate.history import history
from trailtui.investigate.identity import who
from trailtui.sources.demo import INCIDENT_INSTANCE
from trailtui.store.store import Store


def timed(fn: object, *args: object, repeat: int = 20) -> tuple[float, float, object]:
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    store = Store(big_cache(n))
    print(f"cache: {store.total():,} events")
    for instance in (INCIDENT_INSTANCE, "i-0d15ea5e0000000a1"):
        med, p95, steps = timed(history, store, instance)
        print(
            f"history {instance}: {len(steps):,} steps  median {med:.1f}ms  p95 {p95:.1f}ms  (target <= 100ms)"
        )  # type: ignore[arg-type]
    stop = store.window(parse(f"name:StopInstances resource:{INCIDENT_INSTANCE}"), 0, 1)[0]
    med, p95, chain = timed(who, store, stop.event_id)
    links = len(chain.links)  # type: ignore[attr-defined]
    print(
        f"who (incident stop, {links} links, origin {chain.origin!r}): median {med:.1f}ms  p95 {p95:.1f}ms  (target <= 100ms)"
    )  # type: ignore[attr-defined]
    sk = store.window(parse("name:StartInstances user:skeddly-*"), 0, 1)[0]
    med, p95, chain = timed(who, store, sk.event_id)
    print(f"who (scheduler start, {len(chain.links)} links): median {med:.1f}ms  p95 {p95:.1f}ms")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
