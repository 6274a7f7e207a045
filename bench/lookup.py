"""LookupEvents throughput against the local fake, with AWS's 2 calls/s limit on.

    uv run python bench/lookup.py

Prints events/s fetched for 1, 3 and 10 regions (the ceiling is 50 events x 2 calls/s =
100 events/s per account-region) and the time to the first row next to one round trip.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.cloudtrail import END, FakeCloudTrail, records  # noqa: E402
from trailtui.filter.language import parse  # noqa: E402
from trailtui.sources.lookup import (  # noqa: E402
    RateLimiter,
    Target,
    build_fetchers,
    fetch_all,
    make_client,
    plan_for,
)
from trailtui.store.store import Store  # noqa: E402

PER_REGION = 2000
REGIONS = [f"r-{i}" for i in range(10)]


def serve(conn: Any, rate: float) -> None:
    """The fake in its own process, as AWS would be: its timing is not ours."""
    fake = FakeCloudTrail(keys={"AKIDA": "111111111111"}, rate=rate)
    for r in REGIONS:
        fake.add("111111111111", r, records("111111111111", r, PER_REGION))
    conn.send(fake.start())
    conn.recv()  # until told to stop
    throttled = sum(1 for c in fake.calls if c.outcome == "throttled")
    conn.send(throttled)


def setup(tmp: Path, rate: float) -> tuple[Any, Any]:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=serve, args=(child, rate), daemon=True)
    proc.start()
    url = parent.recv()
    creds = tmp / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIDA\naws_secret_access_key = s\n")
    os.environ.update(
        AWS_SHARED_CREDENTIALS_FILE=str(creds),
        AWS_CONFIG_FILE=str(tmp / "config"),
        AWS_ENDPOINT_URL_CLOUDTRAIL=url,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return proc, parent


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="trailtui-bench-lookup-"))
    window = (END - timedelta(days=30), END)
    # one round trip, against an unthrottled fake
    proc, conn = setup(tmp, 0)
    client = make_client(Target(None, "r-0"))
    client.lookup_events(MaxResults=1)
    t = time.perf_counter()
    for _ in range(5):
        client.lookup_events(MaxResults=50, StartTime=window[0], EndTime=window[1])
    rtt = (time.perf_counter() - t) / 5
    conn.send("stop")
    conn.recv()
    proc.join()
    proc, conn = setup(tmp, 2.0)  # AWS's limit from here on
    print(f"one round trip (50 events): {rtt * 1000:.1f} ms")
    for n in (1, 3, 10):
        store = Store(tmp / f"bench-{n}.sqlite")
        limiter = RateLimiter()
        fetchers = build_fetchers(
            store, [Target(None, r) for r in REGIONS[:n]], plan_for(parse("")), *window
        )
        for f in fetchers:
            f.limiter = limiter
            f._client()  # clients are made when a source opens, before the first fetch
        t0 = time.perf_counter()
        errors = fetch_all(fetchers)
        elapsed = time.perf_counter() - t0
        events = sum(f.stats.events for f in fetchers)
        first = min(f.stats.first_page_at for f in fetchers if f.stats.first_page_at) - t0
        throttled = sum(f.stats.throttled for f in fetchers)
        ceiling = 100.0 * n
        print(
            f"{n:2d} region(s): {events:,} events in {elapsed:.1f}s = {events / elapsed:,.1f} events/s "
            f"({events / elapsed / ceiling:.0%} of the {ceiling:.0f}/s ceiling); first row after "
            f"{first * 1000:.0f} ms (round trip + {(first - rtt) * 1000:.0f} ms); throttled {throttled}; "
            f"errors {len(errors)}"
        )
        store.close()
        time.sleep(1.1)
    conn.send("stop")
    print(f"calls the fake throttled in all: {conn.recv()}")
    proc.join()


if __name__ == "__main__":
    main()
