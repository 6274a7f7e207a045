"""The explorer on trail log files in S3 (moto's S3 server, real boto3): read lazily, newest
first, with a progress line; V verifies the window, F lists what was skipped."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trailtui.sources.folder import FolderTrail, origin_uri
from trailtui.sources.s3 import S3Location, S3Trail
from trailtui.store.store import Store
from trailtui.ui.app import TrailApp
from trailtui.ui.screens.report import ReportScreen

from ..conftest import BUCKET
from ..fakes.cloudtrail import FakeCloudTrail
from ..test_integrity import DER, FINGERPRINT, build_chain
from ..test_s3 import counting, put_log
from .helpers import settle

ACCOUNT = "111111111111"


def _app(s3: Any, tmp_path: Path, **kw: Any) -> tuple[TrailApp, Store]:
    store = Store(tmp_path / "c.sqlite")
    loc = S3Location.parse(f"s3://{BUCKET}")
    scope = store.root_scope(loc.uri)
    return TrailApp(store, scope, f"s3://{BUCKET}", sources=[S3Trail(s3, loc)], **kw), store


async def _idle(pilot: Any, app: TrailApp) -> None:
    """Until the trail worker has stopped (paused for rows or done)."""
    for _ in range(400):
        await pilot.pause(0.05)
        if not any(w.group == "reader" and not w.is_finished for w in app.workers):
            break
    await settle(pilot)


async def test_s3_read_lazily_newest_first_with_progress(s3: Any, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for h in range(40):  # 40 objects of 20 events, one every 30 minutes back from now
        put_log(s3, ACCOUNT, "us-east-1", now - timedelta(minutes=30 * h + 5), n=20)
    calls = counting(s3)
    app, store = _app(s3, tmp_path, window="24h")
    async with app.run_test(size=(120, 40)) as pilot:
        await _idle(pilot, app)
        first_gets = calls.get("GetObject", 0)
        # enough for the screen and 300 rows ahead, not the whole window
        assert first_gets == 16  # two chunks of 8: 320 rows, the first past 300 ahead
        assert app.event_list.total == first_gets * 20
        rows = store.window(app.filter, 0, 5, app.scope)
        assert rows[0].time > now - timedelta(minutes=6)  # the newest object came first
        status = app.status.live
        assert re.search(r"S3 16/\d+ objects", status), status
        assert "kB/s" in status and "paused" in status
        assert "left" in status  # the time left of the window
        await pilot.press("G")  # near the end: more is read
        for _ in range(10):
            await _idle(pilot, app)
            await pilot.press("G")
        assert calls["GetObject"] == 40
        assert app.event_list.total == 800
        assert "window read" in app.status.live
        # reopening reads nothing again
        app.action_refresh_sources()
        await _idle(pilot, app)
        assert calls["GetObject"] == 40


async def test_verify_and_skipped_keys(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_chain(s3)
    t = datetime(2026, 11, 19, 6, tzinfo=UTC)
    put_log(s3, ACCOUNT, "us-east-1", t, body=b"\x1f\x8b\x08\x00truncated")
    ct = FakeCloudTrail(keys={"testing": ACCOUNT})
    ct.public_keys = [{"Value": base64.b64encode(DER).decode(), "Fingerprint": FINGERPRINT,
                       "ValidityStartTime": 0, "ValidityEndTime": 4102444800}]  # fmt: skip
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", ct.start())
    app, _ = _app(s3, tmp_path, initial_filter="since:2026-11-19 until:2026-11-19")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _idle(pilot, app)
            assert app.event_list.total == 4
            await pilot.press("V")
            for _ in range(200):
                await pilot.pause(0.05)
                if isinstance(app.screen, ReportScreen):
                    break
            assert isinstance(app.screen, ReportScreen)
            text = "\n".join(app.screen.lines)
            # the chain is intact; the damaged object is in no digest: unlisted, so not valid
            assert "4 signatures valid" in text and "4 valid, 0 modified" in text, text
            assert "UNLISTED" in text and "20261119T0600Z" in text
            assert app.screen.title_text.endswith("PROBLEMS FOUND")
            await pilot.press("escape")
            await pilot.press("F")
            await settle(pilot)
            assert isinstance(app.screen, ReportScreen)
            skipped = "\n".join(app.screen.lines)
            assert "truncated" in skipped or "gzip" in skipped, skipped
            assert "CloudTrail_us-east-1_20261119T0600Z" in skipped
    finally:
        ct.stop()


def test_progress_line_estimates_unlisted_days() -> None:
    from trailtui.sources.progress import ReadStats

    st = ReadStats(objects=10, bytes=10_000_000, busy=2.0, listed=20, listed_bytes=20_000_000,
                 days_listed=1, days_total=3)  # fmt: skip
    line = st.progress_line()
    # 10 MB of the listed day left + 2 unlisted days at ~20 MB each = 50 MB at 5 MB/s
    assert "10/20 objects (+2 days to list)" in line and "5.0 MB/s" in line and "10.0 MB" in line
    assert "~10 s left" in line


async def test_folder_read_lazily_newest_first(tmp_path: Path) -> None:
    folder = tmp_path / "AWSLogs"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for h in range(30):
        t = now - timedelta(minutes=30 * h + 5)
        recs = [{"eventID": f"{h}-{i}", "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "eventName": "GetObject"} for i in range(20)]  # fmt: skip
        p = folder / f"{t:%Y/%m/%d}" / f"111_CloudTrail_us-east-1_{t:%Y%m%dT%H%MZ}_x.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"Records": recs}))
    store = Store(tmp_path / "c.sqlite")
    scope = store.root_scope(origin_uri(folder))
    lazy = FolderTrail([folder], eager_bytes=0)  # (a folder under 16 MB is read whole)
    app = TrailApp(store, scope, str(folder), sources=[lazy])
    async with app.run_test(size=(120, 40)) as pilot:
        await _idle(pilot, app)
        assert app.event_list.total == 320  # 16 files: the first past 300 rows ahead
        assert store.window(app.filter, 0, 1, scope)[0].event_id.startswith("0-")  # newest
        assert "16/30 files" in app.status.live and "paused" in app.status.live
        for _ in range(5):
            await pilot.press("G")
            await _idle(pilot, app)
        assert app.event_list.total == 600 and "window read" in app.status.live
        (folder / "late.json").write_text(json.dumps({"Records": [
            {"eventID": "late", "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")}]}))  # fmt: skip
        await pilot.press("r")  # new files are read, the others skipped
        await _idle(pilot, app)
        assert app.event_list.total == 601
        assert lazy.stats.objects == 1


async def test_small_folder_is_read_whole(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    for h in range(30):
        recs = [{"eventID": f"{h}-{i}", "eventTime": f"2026-11-20T{h % 24:02d}:00:00Z"}
                for i in range(20)]  # fmt: skip
        (folder / f"{h:03d}.json").write_text(json.dumps({"Records": recs}))
    store = Store(tmp_path / "c.sqlite")
    scope = store.root_scope(origin_uri(folder))
    app = TrailApp(store, scope, str(folder), sources=[FolderTrail([folder])])
    async with app.run_test(size=(120, 40)) as pilot:
        await _idle(pilot, app)
        assert app.event_list.total == 600 and "window read" in app.status.live


async def test_tampering_and_delivery_gaps_are_shown(tmp_path: Path) -> None:
    """A folder where eu-west-1 went silent while logging was stopped: the status bar says it,
    the histogram flags the StopLogging and shades the silence."""
    from ..test_trust import T0, _write_log, rec

    root = tmp_path / "trail"
    n, t = 0, T0
    while t <= T0 + timedelta(hours=6):
        n += 1
        _write_log(root, "us-east-1", t, [rec(n, "DescribeTrails", t, awsRegion="us-east-1")])
        if not (T0 + timedelta(minutes=10) < t < T0 + timedelta(hours=2, minutes=40)):
            name = {T0 + timedelta(minutes=10): "StopLogging",
                    T0 + timedelta(hours=2, minutes=40): "StartLogging"}.get(t, "DescribeTrails")  # fmt: skip
            _write_log(root, "eu-west-1", t, [rec(n, name, t)])
        t += timedelta(minutes=5)
    store = Store(tmp_path / "c.sqlite")
    src = FolderTrail([root])
    app = TrailApp(store, src.scope(store), str(root), sources=[src])
    async with app.run_test(size=(200, 40)) as pilot:
        from trailtui.ui.widgets.histogram import Histogram

        hist = app.query_one(Histogram)
        for _ in range(100):
            await pilot.pause(0.05)
            if hist.gaps:
                break
        await settle(pilot)
        trust = app.status.trust
        assert trust.startswith("logging stopped in eu-west-1 at 2026-11-19 02:10 by mallory")
        assert "restarted 2026-11-19 04:40" in trust
        assert "no log files from 111122223333 eu-west-1 11-19 02:10–04:40" in trust
        ms = int((T0 + timedelta(minutes=10)).timestamp() * 1000)
        assert hist.flags == [ms]
        assert hist.gaps == [(ms, int((T0 + timedelta(hours=2, minutes=40)).timestamp() * 1000))]
        await pilot.press("T")  # the tampering preset: just the stop
        await settle(pilot)
        assert app.event_list.total == 1


async def test_verify_a_synced_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """V on a folder source: the chain is checked offline (the newest digest's signature is
    not checkable), with the keys of ListPublicKeys from the fake."""
    from ..test_integrity import FolderClient

    root = tmp_path / "sync"
    build_chain(FolderClient(root))
    ct = FakeCloudTrail(keys={"testing": ACCOUNT})
    ct.public_keys = [{"Value": base64.b64encode(DER).decode(), "Fingerprint": FINGERPRINT,
                       "ValidityStartTime": 0, "ValidityEndTime": 4102444800}]  # fmt: skip
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", ct.start())
    for k, v in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                 ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(k, v)
    store = Store(tmp_path / "c.sqlite")
    src = FolderTrail([root])
    app = TrailApp(store, src.scope(store), str(root), sources=[src])
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _idle(pilot, app)
            await pilot.press("V")
            for _ in range(200):
                await pilot.pause(0.05)
                if isinstance(app.screen, ReportScreen):
                    break
            assert isinstance(app.screen, ReportScreen)
            text = "\n".join(app.screen.lines)
            assert "3 signatures valid" in text and "4 valid, 0 modified" in text, text
            assert "not checkable offline" in text
            assert app.screen.title_text.endswith("valid")
    finally:
        ct.stop()
