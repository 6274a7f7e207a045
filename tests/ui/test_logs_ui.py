"""The explorer on a CloudWatch Logs group (real boto3 against tests/fakes/logs.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from trailtui.sources.logs import LogsSource
from trailtui.store.store import Store
from trailtui.ui.app import TrailApp

from ..fakes.cloudtrail import records
from ..fakes.logs import FakeLogs
from .helpers import settle


async def test_logs_list_fills_newest_first_and_pushes_the_filter(
    fake_logs: FakeLogs, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    recs = [
        {**r, "eventTime": (now - timedelta(minutes=4 * i + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i, r in enumerate(records("111111111111", "us-east-1", 200))
    ]
    fake_logs.put_records("111111111111", "us-east-1", "CloudTrail/prod", recs, delay_ms=0)
    fake_logs.rate = 0
    store = Store(tmp_path / "logs.sqlite")
    src = LogsSource(["CloudTrail/prod"], [None], ["us-east-1"])
    app = TrailApp(store, src.scope(store), src.label, sources=[src], window="24h")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if src.readers and all(r.done for r in src.readers):
                break
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        assert app.event_list.total == 200
        rows = store.window(app.filter, 0, 1000, src.scope(store))
        assert [r.ts for r in rows] == sorted((r.ts for r in rows), reverse=True)
        app.set_filter_text("name:stopinstances")
        for _ in range(200):
            await pilot.pause(0.05)
            if src.readers and all(r.done for r in src.readers):
                break
        await settle(pilot)
        assert app.event_list.total == sum(1 for r in recs if r["eventName"] == "StopInstances")
        assert "pattern pushes name:stopinstances" in src.status()
    store.close()
