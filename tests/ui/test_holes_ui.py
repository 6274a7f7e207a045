"""LookupEvents and CloudWatch Logs: the histogram shades what the window has not fetched and the
status bar names it, like delivery gaps of trail files (real boto3 against the local fakes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trailtui.investigate.gaps import span_text
from trailtui.sources.logs import SETTLE, LogsSource
from trailtui.sources.lookup import LookupSource, Target
from trailtui.store.store import Store
from trailtui.ui.app import TrailApp
from trailtui.ui.widgets.histogram import HOLE_SHADE, Histogram

from ..fakes.cloudtrail import FakeCloudTrail, records
from ..fakes.logs import FakeLogs
from .helpers import settle

ACCOUNT = "111111111111"


def _recent(region: str, n: int, every: timedelta, now: datetime) -> list[dict[str, object]]:
    return [
        {**r, "eventTime": (now - every * i - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i, r in enumerate(records(ACCOUNT, region, n))
    ]


async def _idle(pilot: Any, app: TrailApp) -> None:
    for _ in range(400):
        await pilot.pause(0.05)
        if not any(w.group == "reader" and not w.is_finished for w in app.workers):
            break
    await settle(pilot)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


async def test_lookup_events_not_fetched_yet_is_shaded_and_named(
    fake: FakeCloudTrail, tmp_path: Path
) -> None:
    """(A region that refuses is a hole of its whole window: tests/test_holes.py, headless;
    the explorer retries it as long as the cursor sits at the end of the list.)"""
    now = datetime.now(UTC)
    # 500 events over ~17 h: the list pauses after ~350 (300 ahead of the cursor)
    fake.add(ACCOUNT, "us-east-1", _recent("us-east-1", 500, timedelta(minutes=2), now))
    store = Store(tmp_path / "live.sqlite")
    tgts = [Target(None, "us-east-1")]
    scope = [store.origin_id(t.key, "lookup") for t in tgts]
    app = TrailApp(store, scope, "live", sources=[LookupSource(tgts)], window="24h")
    async with app.run_test(size=(160, 40)) as pilot:
        hist = app.query_one(Histogram)
        await _idle(pilot, app)
        assert "paused" in app.status.live
        assert app.filter.since is not None
        s0 = _ms(app.filter.since) // 1000 * 1000  # (holes are to the second)
        total = app.event_list.total or 0
        assert 300 < total < 500
        oldest = store.oldest(scope, 0, _ms(now))
        assert oldest is not None
        # older than where the read paused: not fetched yet
        assert hist.holes == [(s0, oldest)], hist.holes
        when = datetime.fromtimestamp(oldest / 1000, tz=UTC)
        line = app.status.holes
        assert line == (
            f"LookupEvents us-east-1: {span_text(app.filter.since, when)} not fetched yet"
        ), line
        assert "◌ LookupEvents us-east-1: " in app.status.text.plain
        bars = hist.render().split()[0]
        assert any(HOLE_SHADE in str(s.style) for s in bars.spans)
        for _ in range(3):  # to the end of the list: the rest is fetched
            await pilot.press("G")
            await _idle(pilot, app)
        assert app.event_list.total == 500
        assert hist.holes == [] and app.status.holes == ""
    store.close()


async def test_cloudwatch_logs_not_fetched_yet_is_shaded_and_named(
    fake_logs: FakeLogs, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    # 2000 events over ~22 h: the newest slices (15 min, 1 h, 4 h) fill the list, then it pauses
    recs = _recent("us-east-1", 2000, timedelta(seconds=40), now)
    fake_logs.put_records(ACCOUNT, "us-east-1", "CloudTrail/prod", recs, delay_ms=0)
    fake_logs.rate = 0
    store = Store(tmp_path / "logs.sqlite")
    src = LogsSource(["CloudTrail/prod"], [None], ["us-east-1"])
    app = TrailApp(store, src.scope(store), src.label, sources=[src], window="24h")
    async with app.run_test(size=(160, 40)) as pilot:
        hist = app.query_one(Histogram)
        await _idle(pilot, app)
        assert "paused" in app.status.live
        assert app.filter.since is not None
        s0 = _ms(app.filter.since) // 1000 * 1000
        assert len(hist.holes) == 1, hist.holes
        a, b = hist.holes[0]
        assert a == s0 and _ms(now) - 6 * 3600_000 < b < _ms(now - SETTLE)
        assert app.status.holes.startswith("CloudWatch Logs CloudTrail/prod us-east-1: ")
        assert app.status.holes.endswith("not fetched yet")
        for _ in range(10):
            if app.event_list.total == 2000:
                break
            await pilot.press("G")
            await _idle(pilot, app)
        assert app.event_list.total == 2000
        # read whole: its newest half hour is read again each visit, so not a hole either
        assert hist.holes == [] and app.status.holes == ""
    store.close()


async def test_sources_with_files_or_the_demo_have_no_holes(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.query_one(Histogram).holes == [] and app.status.holes == ""
