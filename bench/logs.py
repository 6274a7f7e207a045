"""CloudWatch Logs (FilterLogEvents) throughput against the local fake in its own process,
with its limits on: 5 calls per second per account-region, 10,000 events or 1 MB a page.

    uv run python bench/logs.py

Prints, for a group holding three days of CloudTrail records: a whole-window read with no
pattern, a selective filter pushed as a JSON pattern, and the lazy newest-first read the
explorer does (time to the first 100 rows), each with calls, pages and events/s.
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

from tests.fakes.cloudtrail import END, records  # noqa: E402
from tests.fakes.logs import FakeLogs  # noqa: E402
from trailtui.filter.language import parse  # noqa: E402
from trailtui.filter.logs import compile_filter  # noqa: E402
from trailtui.sources.logs import GroupReader, LogGroup, make_client, read_groups  # noqa: E402
from trailtui.store.store import Store  # noqa: E402

GROUP = "CloudTrail/bench"
EVENTS = 30_000


def spread(n: int) -> list[dict[str, Any]]:
    """n records over the three days before END."""
    out = records("111111111111", "us-east-1", n)
    step = 3 * 86400 / n
    for i, r in enumerate(out):
        r["eventTime"] = (END - timedelta(seconds=i * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def serve(conn: Any) -> None:
    """The fake in its own process, as AWS would be: its timing is not ours."""
    fake = FakeLogs(keys={"AKIDA": "111111111111"})
    fake.put_records("111111111111", "us-east-1", GROUP, spread(EVENTS))
    conn.send(fake.start())
    while conn.recv() == "calls":
        conn.send(
            (
                sum(1 for c in fake.calls if c.outcome == "throttled"),
                sum(1 for c in fake.calls if c.outcome == "ok"),
            )
        )


def run(tmp: Path, name: str, text: str, conn: Any, first: int | None = None) -> None:
    store = Store(tmp / f"{name}.sqlite")
    f = parse(text)
    pattern = compile_filter(f).pattern
    lo, hi = END - timedelta(days=3, minutes=5), END + timedelta(minutes=30)
    r = GroupReader(
        store,
        LogGroup(None, "us-east-1", GROUP),
        pattern,
        int(lo.timestamp() * 1000),
        int(hi.timestamp() * 1000),
        make_client(None, "us-east-1"),  # made when the source opens, before the clock
    )
    conn.send("calls")
    thr0, ok0 = conn.recv()
    t0 = time.perf_counter()
    enough = (lambda: store.total() >= first) if first else (lambda: False)
    errors = read_groups([r], enough=enough)
    elapsed = time.perf_counter() - t0
    conn.send("calls")
    thr1, ok1 = conn.recv()
    s = r.stats
    firstrow = (s.first_page_at - t0) * 1000 if s.first_page_at else float("nan")
    print(
        f"{name:<28} {s.events:>6,} events in {elapsed:5.1f}s = {s.events / elapsed:8,.0f} events/s; "
        f"{s.calls} calls ({ok1 - ok0} answered, {thr1 - thr0} throttled), {s.pages} pages; "
        f"first rows after {firstrow:.0f} ms; errors {len(errors)}"
    )
    if pattern:
        print(f"{'':<28} pattern ({len(pattern)} chars): {pattern[:110]}…")
    store.close()


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="trailtui-bench-logs-"))
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=serve, args=(child,), daemon=True)
    proc.start()
    url = parent.recv()
    creds = tmp / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIDA\naws_secret_access_key = s\n")
    os.environ.update(
        AWS_SHARED_CREDENTIALS_FILE=str(creds),
        AWS_CONFIG_FILE=str(tmp / "config"),
        AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=url,
        AWS_EC2_METADATA_DISABLED="true",
    )
    print(f"{EVENTS:,} CloudTrail records over 3 days in one group; the fake allows 5 calls/s")
    run(tmp, "whole window, no pattern", "", parent)
    time.sleep(1.1)
    run(tmp, "name:stopinstances (pushed)", "name:stopinstances", parent)
    time.sleep(1.1)
    run(tmp, "-name:Describe* user:alice", "-name:Describe* user:alice", parent)
    time.sleep(1.1)
    run(tmp, "lazy: first 100 rows", "", parent, first=100)
    parent.send("stop")
    proc.join()


if __name__ == "__main__":
    main()
