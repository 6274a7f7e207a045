"""CloudWatch Logs against the local fake in its own process, with AWS's limits on: 5
FilterLogEvents calls per second per account-region, 10,000 events or 1 MB a page, a live
tail update every second.

    uv run python bench/logs.py [throughput|follow] [--samples N]

throughput: for a group holding three days of CloudTrail records, a whole-window read with no
pattern, a selective filter pushed as a JSON pattern, and the lazy newest-first read the
explorer does (time to the first 100 rows), each with calls, pages and events/s.

follow: the latency from an event put into the fake (ingested) to its row painted by a real
explorer (TrailApp, headless, following; "painted" = the list's render_line drew the row),
p50/p95/max over N events put one at a time at random intervals, for live tail
(StartLiveTail, drained every half second) and for polling FilterLogEvents (every 3 s); beside the
anchors measured in the same run: the same put to the event coming out of a bare boto3 live
tail iterator (the floor the stream's one-second updates set), and one FilterLogEvents call's
round trip. Times are CLOCK_MONOTONIC, shared by both processes on Linux.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
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
FOLLOWED = "CloudTrail/follow"
ACCOUNT, REGION = "111111111111", "us-east-1"
EVENTS = 30_000


def spread(n: int) -> list[dict[str, Any]]:
    """n records over the three days before END."""
    out = records("111111111111", "us-east-1", n)
    step = 3 * 86400 / n
    for i, r in enumerate(out):
        r["eventTime"] = (END - timedelta(seconds=i * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def serve(conn: Any) -> None:
    """The fake in its own process, as AWS would be: its timing is not ours. Asked "calls":
    (throttled, answered) so far; ("put", record): puts it in the followed group, answers
    the monotonic time it was ingested."""
    fake = FakeLogs(keys={"AKIDA": ACCOUNT})
    fake.put_records(ACCOUNT, REGION, GROUP, spread(EVENTS))
    fake.put_records(ACCOUNT, REGION, FOLLOWED, fresh(20, datetime.now(UTC) - timedelta(minutes=5)))
    conn.send(fake.start())
    while True:
        msg = conn.recv()
        if msg == "calls":
            conn.send(
                (
                    sum(1 for c in fake.calls if c.outcome == "throttled"),
                    sum(1 for c in fake.calls if c.outcome == "ok"),
                )
            )
        elif isinstance(msg, tuple) and msg[0] == "put":
            at = time.monotonic()
            fake.put_records(ACCOUNT, REGION, FOLLOWED, [msg[1]], delay_ms=0)
            conn.send(at)
        else:
            fake.stop()
            return


def fresh(n: int, when: datetime) -> list[dict[str, Any]]:
    """n records with new ids, the newest at ``when``."""
    out = records(ACCOUNT, REGION, n, seed=random.randrange(1 << 30))
    for i, r in enumerate(out):
        r["eventID"] = str(uuid.uuid4())
        r["eventTime"] = (when - timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


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


def throughput(tmp: Path, conn: Any) -> None:
    print(f"{EVENTS:,} CloudTrail records over 3 days in one group; the fake allows 5 calls/s")
    run(tmp, "whole window, no pattern", "", conn)
    time.sleep(1.1)
    run(tmp, "name:stopinstances (pushed)", "name:stopinstances", conn)
    time.sleep(1.1)
    run(tmp, "-name:Describe* user:alice", "-name:Describe* user:alice", conn)
    time.sleep(1.1)
    run(tmp, "lazy: first 100 rows", "", conn, first=100)


# --------------------------------------------------------------------------- follow latency


def put(conn: Any) -> tuple[str, float]:
    """One new event into the followed group: its id, when it was ingested (monotonic)."""
    rec = fresh(1, datetime.now(UTC))[0]
    conn.send(("put", rec))
    return rec["eventID"], conn.recv()


def figures(lat: list[float]) -> str:
    if not lat:
        return "no samples"
    p95 = statistics.quantiles(lat, n=20, method="inclusive")[-1] if len(lat) > 1 else lat[0]
    return (
        f"p50 {statistics.median(lat) * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
        f"max {max(lat) * 1000:6.0f} ms  (n={len(lat)})"
    )


async def explorer(tmp: Path, conn: Any, live: bool, samples: int) -> tuple[list[float], str]:
    """A real explorer following the group: put events one at a time, each to its painted row."""
    from trailtui.sources.logs import LogsSource
    from trailtui.ui.app import TrailApp

    store = Store(tmp / f"follow-{'live' if live else 'poll'}.sqlite")
    src = LogsSource([FOLLOWED], [None], [REGION])
    src.live_tail = live
    app = TrailApp(store, src.scope(store), src.label, sources=[src], window="1h", follow=True)
    painted: dict[str, float] = {}
    lat: list[float] = []
    async with app.run_test(size=(160, 45)) as pilot:
        lst = app.event_list
        draw = lst.render_line

        def spy(y: int) -> Any:
            strip = draw(y)
            row = lst.row_at(int(lst.scroll_offset.y) + y)
            if row is not None and row.event_id not in painted:
                painted[row.event_id] = time.monotonic()
            return strip

        lst.render_line = spy  # type: ignore[method-assign]

        async def until(cond: Any, seconds: float) -> bool:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if cond():
                    return True
                await pilot.pause(0.01)
            return False

        wanted = "live tail (StartLiveTail)" if live else "polling FilterLogEvents"
        if not await until(lambda: app.following and wanted in app.status.follow, 60):
            raise SystemExit(f"follow never got to {wanted!r}: {app.status.follow!r}")
        how = app.status.follow
        for _ in range(samples):
            # a pause as long as the slowest cadence (polling every 3 s) at random: the put
            # falls anywhere in the period, not just after the poll that painted the last one
            await pilot.pause(random.uniform(0.3, 3.3))
            eid, at = put(conn)
            if not await until(lambda e=eid: e in painted, 30):  # type: ignore[misc]
                raise SystemExit(f"event {eid} never painted: {app.status.follow!r}")
            lat.append(painted[eid] - at)
            # back to the newest, as a user watching it does: the cursor stays on its event as
            # rows land above it, and would take the viewport down with it
            await pilot.press("g")
            await until(lambda: lst.cursor == 0, 10)
    src.close()
    store.close()
    return lat, how


def bare_live_tail(conn: Any, samples: int) -> list[float]:
    """The anchor: the same puts, each to the moment a bare boto3 live tail iterator yields it."""
    client = make_client(None, REGION)
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{FOLLOWED}"
    stream = client.start_live_tail(logGroupIdentifiers=[arn])["responseStream"]
    seen: dict[str, float] = {}
    started = threading.Event()

    def pump() -> None:
        try:
            for ev in stream:
                if "sessionStart" in ev:
                    started.set()
                for r in ev.get("sessionUpdate", {}).get("sessionResults", []):
                    seen.setdefault(json.loads(r["message"])["eventID"], time.monotonic())
        except Exception:
            pass

    threading.Thread(target=pump, daemon=True).start()
    started.wait(30)
    lat = []
    for _ in range(samples):
        time.sleep(random.uniform(0.3, 3.3))
        eid, at = put(conn)
        end = time.monotonic() + 30
        while eid not in seen and time.monotonic() < end:
            time.sleep(0.002)
        lat.append(seen[eid] - at)
    stream.close()
    return lat


def filter_round_trip(samples: int) -> list[float]:
    """The anchor for polling: one FilterLogEvents call over the last 10 minutes."""
    client = make_client(None, REGION)
    lat = []
    for _ in range(samples):
        time.sleep(0.25)  # 4 calls a second: under the fake's 5
        now = int(time.time() * 1000)
        t0 = time.monotonic()
        client.filter_log_events(
            logGroupName=FOLLOWED, startTime=now - 600_000, endTime=now, limit=10_000
        )
        lat.append(time.monotonic() - t0)
    return lat


def follow(tmp: Path, conn: Any, samples: int) -> None:
    os.environ["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"  # the stream- host is the fake's
    print(
        f"follow latency, put -> row painted by the explorer; {samples} events each, one at a "
        "time; the fake sends a live tail update every second and allows 5 calls/s"
    )
    anchor = bare_live_tail(conn, samples)
    print(f"  {'anchor: bare boto3 live tail':<38} {figures(anchor)}")
    trip = filter_round_trip(samples)
    print(f"  {'anchor: one FilterLogEvents call':<38} {figures(trip)}")
    for live in (True, False):
        lat, how = asyncio.run(explorer(tmp, conn, live, samples))
        name = "explorer, live tail" if live else "explorer, polling FilterLogEvents"
        print(f"  {name:<38} {figures(lat)}")
        print(f"  {'':<38} status: {how}")


def main() -> None:
    args = sys.argv[1:]
    what = [a for a in args if a in ("throughput", "follow")] or ["throughput", "follow"]
    samples = int(args[args.index("--samples") + 1]) if "--samples" in args else 40
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
        TRAILTUI_CACHE_DIR=str(tmp / "cache"),
        TRAILTUI_CONFIG_DIR=str(tmp / "config-dir"),
        TRAILTUI_DATA_DIR=str(tmp / "data"),
    )
    if "throughput" in what:
        throughput(tmp, parent)
    if "follow" in what:
        time.sleep(1.1)
        follow(tmp, parent, samples)
    parent.send("stop")
    proc.join()


if __name__ == "__main__":
    main()
