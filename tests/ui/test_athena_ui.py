"""The explorer on Athena (real boto3 against tests/fakes/athena.py, which runs the SQL over the
trail in moto's S3): what each query scanned in the status bar, a filter with no time window
asks before it runs, a new filter stops the running query."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from trailtui.sources.athena import AthenaSource
from trailtui.sources.athena_setup import setup
from trailtui.store.store import Store
from trailtui.ui.app import TrailApp
from trailtui.ui.screens.confirm import ConfirmScreen

from ..conftest import BUCKET
from ..fakes.athena import FakeAthena, put_trail
from .helpers import settle

ACCOUNT = "111111111111"
REGIONS = ("us-east-1", "eu-west-1")
NAMES = ("StopInstances", "DescribeInstances", "AssumeRole", "GetObject")


@pytest.fixture
def athena(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAthena]:
    fa = FakeAthena(s3)
    fa.workgroups["primary"]["output"] = "s3://results/"
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", fa.start())
    yield fa
    fa.stop()


def recent(days: int = 4) -> list[dict[str, Any]]:
    """An event an hour per region, from half an hour ago back ``days`` days."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    out = []
    for r in REGIONS:
        for i in range(days * 24):
            t = now - timedelta(minutes=30 + 60 * i)
            out.append(
                {
                    "eventVersion": "1.09",
                    "eventID": f"{r}-{i}",
                    "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "eventName": NAMES[i % len(NAMES)],
                    "eventSource": "ec2.amazonaws.com",
                    "awsRegion": r,
                    "recipientAccountId": ACCOUNT,
                    "sourceIPAddress": "10.0.0.1",
                    "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": ACCOUNT},
                }
            )
    return out


@pytest.fixture
def trail(s3: Any, athena: FakeAthena) -> list[dict[str, Any]]:
    recs = recent()
    put_trail(s3, BUCKET, recs, per_file=6)
    setup(f"s3://{BUCKET}", say=lambda _: None)
    return recs


def _app(tmp_path: Path) -> tuple[TrailApp, Store, AthenaSource]:
    store = Store(tmp_path / "c.sqlite")
    src = AthenaSource("trailtui.cloudtrail")
    app = TrailApp(store, src.scope(store), src.label, sources=[src], window="24h")
    return app, store, src


async def _until(pilot: Pilot[int], cond: Callable[[], bool], rounds: int = 400) -> None:
    for _ in range(rounds):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("waited 20 s in vain")


async def _idle(pilot: Pilot[int], app: TrailApp) -> None:
    """Until the reader has stopped (paused for rows, done or asking)."""
    await _until(
        pilot, lambda: not any(w.group == "reader" and not w.is_finished for w in app.workers)
    )
    await settle(pilot)


def _asking(app: TrailApp) -> bool:
    return isinstance(app.screen, ConfirmScreen)


async def test_no_time_window_asks_before_it_runs(
    athena: FakeAthena, trail: list[dict[str, Any]], tmp_path: Path
) -> None:
    app, store, src = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _idle(pilot, app)
        assert app.event_list.total == sum(
            1 for r in trail if r["eventTime"] >= f"{app.filter.since:%Y-%m-%dT%H:%M:%S}"
        )
        # what the query scanned and cost, in the status bar
        assert re.search(r"scanned [\d.,]+ kB \(\$0\.0001 at \$5/TB\)", app.status.live)
        for _ in range(2):  # 24h -> 7d -> 30d: windows, no question
            await pilot.press("w")
            await _idle(pilot, app)
            assert not _asking(app)
        n = len(athena.selects())
        await pilot.press("w")  # -> all: no since:
        await _until(pilot, lambda: _asking(app))
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        oldest = min(r["eventTime"][:10] for r in trail)
        text = " ".join(screen.lines)
        assert f"would scan every day of trailtui.cloudtrail since {oldest}" in text, text
        assert "1 account × 2 regions" in text and "partitions" in text
        # the queries so far give an idea of the bytes
        assert re.search(r"about [\d.,]+ k?B \(\$0\.0001\) at the [\d.,]+ k?B a day", text), text
        await pilot.press("n")
        await _until(pilot, lambda: not _asking(app))
        await settle(pilot)
        assert len(athena.selects()) == n  # nothing ran
        assert app.status.live.startswith("nothing was scanned: no time window")
        assert "press w for one, or type since:" in app.status.live
        assert "press w for one" in app.status.text.plain[:120]  # on screen, not cut off
        assert app.event_list.total == len(trail)  # the cache shows what it holds
        await pilot.press("G")  # moving on doesn't ask again
        await settle(pilot)
        assert not _asking(app) and len(athena.selects()) == n

        app.set_filter_text("name:StopInstances")  # a new filter, still no window: asks
        await _until(pilot, lambda: _asking(app))
        await pilot.press("escape")  # Esc says no too
        await _until(pilot, lambda: not _asking(app))
        await settle(pilot)
        assert len(athena.selects()) == n and "nothing was scanned" in app.status.live

        app.set_filter_text("name:StopInstances")
        await _until(pilot, lambda: _asking(app))
        await pilot.press("y")
        await _until(pilot, lambda: not _asking(app))
        await _idle(pilot, app)
        assert len(athena.selects()) > n  # (the cache covers the 30 days read: only the gap)
        assert app.event_list.total == sum(1 for r in trail if r["eventName"] == "StopInstances")
        assert src.done(app.filter)

        app.set_filter_text("")  # Enter says yes
        await _until(pilot, lambda: _asking(app))
        await pilot.press("enter")
        await _until(pilot, lambda: not _asking(app))
        await _idle(pilot, app)
        assert app.event_list.total == len(trail)
        assert "window complete" in app.status.live
    store.close()


async def test_a_new_filter_stops_the_running_query(
    athena: FakeAthena, trail: list[dict[str, Any]], tmp_path: Path
) -> None:
    athena.delay = 30.0  # the first query runs long
    app, store, _ = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: any(q.state == "RUNNING" for q in athena.selects()))
        first = athena.selects()[0]
        athena.delay = 0.0
        app.set_filter_text("name:StopInstances")
        await _until(pilot, lambda: first.state == "CANCELLED")
        assert first.id in athena.stopped  # StopQueryExecution, not left to run
        await _idle(pilot, app)
        later = athena.selects()[1:]
        assert later and all("stopinstances" in q.sql for q in later)
        assert all(q.state == "SUCCEEDED" for q in later)
        since = f"{app.filter.since:%Y-%m-%dT%H:%M:%S}"
        assert app.event_list.total == sum(
            1 for r in trail if r["eventName"] == "StopInstances" and r["eventTime"] >= since
        )
        assert "scanned" in app.status.live and "SQL: name:StopInstances" in app.status.live
    store.close()
