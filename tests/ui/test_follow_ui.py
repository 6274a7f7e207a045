"""Follow mode: events put into the fake CloudWatch Logs endpoint (and files written to a
folder) while the explorer runs appear at the top, once each, with the cursor kept on the
event it was on and the new ones counted in the status bar."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from trailtui.sources.base import Follow
from trailtui.sources.folder import FolderTrail
from trailtui.sources.logs import LogsSource
from trailtui.store.store import Row, Store
from trailtui.ui.app import TrailApp

from ..fakes.cloudtrail import records
from ..fakes.logs import FakeLogs

FAST = Follow(0.2, timedelta(minutes=10), "polling FilterLogEvents every 0.2 s")


def _at(recs: list[dict[str, Any]], start: datetime, step: timedelta) -> list[dict[str, Any]]:
    return [
        {**r, "eventTime": (start - i * step).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i, r in enumerate(recs)
    ]


async def _until(pilot: Pilot[int], cond: Any, rounds: int = 200) -> None:
    for _ in range(rounds):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("timed out")


def _ids(app: TrailApp) -> list[str]:
    return [r.event_id for r in app.store.window(app.filter, 0, 10_000, app.scope)]


def _logs_app(fake_logs: FakeLogs, tmp_path: Path) -> tuple[TrailApp, LogsSource]:
    """The explorer on a followed CloudWatch Logs group of 40 events (the last 24 h)."""
    now = datetime.now(UTC)
    old = _at(
        records("111111111111", "us-east-1", 40), now - timedelta(minutes=2), timedelta(minutes=3)
    )
    fake_logs.put_records("111111111111", "us-east-1", "CloudTrail/prod", old, delay_ms=0)
    fake_logs.rate = 0
    store = Store(tmp_path / "logs.sqlite")
    src = LogsSource(["CloudTrail/prod"], [None], ["us-east-1"])
    src.follow = FAST
    return TrailApp(store, src.scope(store), src.label, sources=[src], window="24h"), src


async def _following_at_3(
    pilot: Pilot[int], app: TrailApp, fake_logs: FakeLogs
) -> tuple[Row, set[str]]:
    """The cursor on the fourth event, follow on, then five new events delivered: the
    cursor's event (it should stay on it, now the ninth) and the new ones' ids."""
    lst = app.event_list
    await _until(pilot, lambda: lst.total == 40 and not app.reader_busy())
    await pilot.press("j", "j", "j")
    await _until(pilot, lambda: lst.current is not None and lst.cursor == 3)
    kept = lst.current
    assert kept is not None
    await pilot.press("ctrl+t")
    assert app.following
    assert "polling FilterLogEvents" in app.status.follow
    fresh = records("111111111111", "us-east-1", 45)[40:]
    fresh = _at(fresh, datetime.now(UTC), timedelta(seconds=1))
    fake_logs.put_records("111111111111", "us-east-1", "CloudTrail/prod", fresh, delay_ms=0)
    return kept, {r["eventID"] for r in fresh}


async def test_follow_logs_new_events_on_top_cursor_kept(
    fake_logs: FakeLogs, tmp_path: Path
) -> None:
    app, _ = _logs_app(fake_logs, tmp_path)
    store = app.store
    async with app.run_test(size=(140, 40)) as pilot:
        lst = app.event_list
        kept, fresh = await _following_at_3(pilot, app, fake_logs)
        await _until(pilot, lambda: lst.total == 45)
        await _until(pilot, lambda: lst.current is not None and lst.cursor == 8)
        assert lst.current is not None and lst.current.event_id == kept.event_id
        ids = _ids(app)
        assert len(ids) == len(set(ids)) == 45  # none twice
        assert set(ids[:5]) == fresh  # on top
        assert lst.row_at(0) is not None and lst.row_at(0).event_id in ids[:5]  # type: ignore[union-attr]
        assert "5 new" in app.status.follow
        # more polls add nothing twice
        calls = len(fake_logs.ok_calls())
        await _until(pilot, lambda: len(fake_logs.ok_calls()) >= calls + 3)
        assert lst.total == 45 and len(set(_ids(app))) == 45
        # one key pauses; going to the top clears the count
        await pilot.press("ctrl+t")
        assert not app.following and "paused" in app.status.follow
        await pilot.press("g")
        await _until(pilot, lambda: app.status.follow == "")
    store.close()


async def test_follow_a_read_landing_events_above_the_cursor_keeps_it_on_its_event(
    fake_logs: FakeLogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Following, the window's own read (the cursor nearing the end starts one) may bring the
    new events before a poll does: the cursor stays on its event all the same (it stayed on
    its row: a full run saw the test above time out with the cursor at 3)."""
    monkeypatch.setattr(TrailApp, "_follow_tick", lambda self: None)  # no polls: the read
    app, src = _logs_app(fake_logs, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        lst = app.event_list
        kept, _ = await _following_at_3(pilot, app, fake_logs)
        await _until(pilot, lambda: not app.reader_busy())
        src.refresh()  # what is new since the last read, read by the window's read
        app.read_more()
        await _until(pilot, lambda: lst.total == 45)
        await _until(pilot, lambda: lst.current is not None and lst.cursor == 8)
        assert lst.current is not None and lst.current.event_id == kept.event_id
        assert "5 new" in app.status.follow  # counted as the polls count theirs
    app.store.close()


def _write_trail_file(folder: Path, name: str, recs: list[dict[str, Any]]) -> None:
    with gzip.open(folder / name, "wt") as fh:
        json.dump({"Records": recs}, fh)


async def test_follow_folder_new_files(tmp_path: Path) -> None:
    folder = tmp_path / "trail"
    folder.mkdir()
    now = datetime.now(UTC)
    recs = _at(
        records("111111111111", "us-east-1", 25), now - timedelta(minutes=5), timedelta(minutes=1)
    )
    _write_trail_file(folder, "111111111111_CloudTrail_us-east-1_a.json.gz", recs[5:])
    store = Store(tmp_path / "f.sqlite")
    src = FolderTrail([folder])
    src.follow = Follow(0.2, timedelta(minutes=20), "looking for new files every 0.2 s")
    app = TrailApp(store, None, src.label, sources=[src], follow=True)
    async with app.run_test(size=(140, 40)) as pilot:
        lst = app.event_list
        await _until(pilot, lambda: lst.total == 20)
        assert app.following
        await pilot.press("j")
        await _until(pilot, lambda: lst.cursor == 1 and lst.current is not None)
        kept = lst.current
        assert kept is not None
        # a file lands while the help screen is on top: the list under it takes the events
        await pilot.press("question_mark")
        await _until(pilot, lambda: len(app.screen_stack) == 2)
        _write_trail_file(folder, "111111111111_CloudTrail_us-east-1_b.json.gz", recs[:5])
        await _until(pilot, lambda: lst.total == 25)
        await pilot.press("escape")
        await _until(pilot, lambda: lst.current is not None and lst.cursor == 6)
        assert lst.current is not None and lst.current.event_id == kept.event_id
        ids = _ids(app)
        assert len(set(ids)) == 25
        assert set(ids[:5]) == {r["eventID"] for r in recs[:5]}
    store.close()


async def test_follow_lookup_polls_and_says_the_delay(fake: Any, tmp_path: Path) -> None:
    from trailtui.sources.lookup import LookupSource, Target

    now = datetime.now(UTC)
    recs = _at(
        records("111111111111", "us-east-1", 12), now - timedelta(minutes=1), timedelta(minutes=2)
    )
    fake.add("111111111111", "us-east-1", recs[2:])
    store = Store(tmp_path / "l.sqlite")
    src = LookupSource([Target(None, "us-east-1")])
    src.follow = Follow(0.3, timedelta(minutes=15), LookupSource.follow.how)  # type: ignore[union-attr]
    app = TrailApp(store, src.scope(store), src.label, sources=[src], window="24h", follow=True)
    async with app.run_test(size=(140, 40)) as pilot:
        lst = app.event_list
        await _until(pilot, lambda: lst.total == 10)
        assert "~5 min after the call" in app.status.follow
        # an event LookupEvents shows late: its time is inside what was already read
        fake.add("111111111111", "us-east-1", recs[:2])
        await _until(pilot, lambda: lst.total == 12)
        assert len(set(_ids(app))) == 12
    store.close()


def _live_fake(fake_logs: FakeLogs, monkeypatch: pytest.MonkeyPatch) -> None:
    """StartLiveTail reachable (boto3 would send it to stream-127.0.0.1), an update every 0.1 s
    (AWS: 1 s), a short overlap before the stream alone vouches for new events."""
    from trailtui.sources import livetail

    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    monkeypatch.setattr(livetail, "OVERLAP", 0.3)
    fake_logs.live_update_every = 0.1
    fake_logs.rate = 0


async def test_follow_logs_by_live_tail(
    fake_logs: FakeLogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _live_fake(fake_logs, monkeypatch)
    now = datetime.now(UTC)
    old = _at(
        records("111111111111", "us-east-1", 30), now - timedelta(minutes=2), timedelta(minutes=3)
    )
    fake_logs.put_records("111111111111", "us-east-1", "CloudTrail/prod", old, delay_ms=0)
    store = Store(tmp_path / "live.sqlite")
    src = LogsSource(["CloudTrail/prod"], [None], ["us-east-1"])
    src.follow = FAST
    app = TrailApp(store, src.scope(store), src.label, sources=[src], window="24h")
    async with app.run_test(size=(140, 40)) as pilot:
        lst = app.event_list
        await _until(pilot, lambda: lst.total == 30 and not app.reader_busy())
        await pilot.press("j", "j")
        await _until(pilot, lambda: lst.current is not None and lst.cursor == 2)
        kept = lst.current
        assert kept is not None
        await pilot.press("ctrl+t")
        assert "live tail" in app.status.follow  # starting (or already started)
        await _until(pilot, lambda: "live tail (StartLiveTail)" in app.status.follow, 600)
        # delivered while the explorer follows: down the stream, on top, once
        fresh = _at(
            records("111111111111", "us-east-1", 36)[30:], datetime.now(UTC), timedelta(seconds=1)
        )
        fake_logs.put_records("111111111111", "us-east-1", "CloudTrail/prod", fresh, delay_ms=0)
        await _until(pilot, lambda: lst.total == 36, 600)
        await _until(pilot, lambda: lst.current is not None and lst.cursor == 8)
        assert lst.current is not None and lst.current.event_id == kept.event_id
        ids = _ids(app)
        assert len(ids) == len(set(ids)) == 36
        assert set(ids[:6]) == {r["eventID"] for r in fresh}
        assert "6 new" in app.status.follow
        assert sum(s.sent for s in fake_logs.open_sessions()) >= 6
        await pilot.press("ctrl+t")
        assert not app.following
    src.close()
    store.close()


async def test_follow_logs_polls_when_live_tail_is_refused(
    fake_logs: FakeLogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _live_fake(fake_logs, monkeypatch)
    fake_logs.live_tail = False  # an endpoint without StartLiveTail
    now = datetime.now(UTC)
    old = _at(records("111111111111", "us-east-1", 10), now, timedelta(minutes=3))
    fake_logs.put_records("111111111111", "us-east-1", "CloudTrail/prod", old, delay_ms=0)
    store = Store(tmp_path / "poll.sqlite")
    src = LogsSource(["CloudTrail/prod"], [None], ["us-east-1"])
    src.follow = FAST
    app = TrailApp(store, src.scope(store), src.label, sources=[src], window="24h", follow=True)
    async with app.run_test(size=(140, 40)) as pilot:
        lst = app.event_list
        await _until(pilot, lambda: lst.total == 10)
        await _until(pilot, lambda: "no live tail" in app.status.follow, 600)
        assert (
            "polling FilterLogEvents every 0.2 s; no live tail (not offered by the endpoint)"
            in app.status.follow
        )
        fresh = _at(
            records("111111111111", "us-east-1", 14)[10:], datetime.now(UTC), timedelta(seconds=1)
        )
        fake_logs.put_records("111111111111", "us-east-1", "CloudTrail/prod", fresh, delay_ms=0)
        await _until(pilot, lambda: lst.total == 14, 600)
        assert len(set(_ids(app))) == 14
    store.close()
