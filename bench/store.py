"""Window, count and facet latency on a 1M-event cache.

uv run python bench/store.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datetime import UTC

from _bigcache import big_cache

from trailtui.filter.language import parse
from trailtui.store.store import Store

FILTERS = [
    "",
    "name:StopInstances",
    "name:Stop*",
    "-name:Describe*,Decrypt",
    "user:mallory",
    "user:skeddly-*",
    "resource:i-0badc0ffee0000001",
    "error:*",
    "ip:203.0.113.0/24",
    "readonly:false region:eu-west-1",
    "name:/^(Stop|Terminate)/",
    "key:ASIAMALL0RYEXAMPLE01",
    "since:3d",
]


def ms(f: object, *a: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f(*a)  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = big_cache(n)
    s = Store(path)
    print(f"cache: {path} ({path.stat().st_size / 1e6:,.0f} MB, {s.total():,} events)")
    print(f"{'filter':40} {'win@0':>8} {'win@1k':>8} {'count':>9} {'matches':>10}")
    from datetime import datetime

    now = datetime(2026, 11, 20, 6, tzinfo=UTC)
    for text in FILTERS:
        f = parse(text, now)
        w0 = ms(s.window, f, 0, 100)
        w1 = ms(s.window, f, 1000, 100)
        c = ms(s.count, f, repeat=1)
        print(f"{text or '(all)':40} {w0:7.1f}ms {w1:7.1f}ms {c:8.0f}ms {s.count(f):>10,}")
    for field in ("user", "name", "resource"):
        print(f"facet {field:10} {ms(s.facet, field, parse(''), 'sk', repeat=1):8.0f}ms")


if __name__ == "__main__":
    main()
