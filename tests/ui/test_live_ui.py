"""The explorer on live LookupEvents (real boto3 against the local fake)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from trailtui.sources.lookup import LookupSource, Target
from trailtui.store.store import Store
from trailtui.ui.app import TrailApp

from ..fakes.cloudtrail import FakeCloudTrail, records
from .helpers import settle


def _recent(region: str, n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    out = []
    for i, r in enumerate(records("111111111111", region, n)):
        out.append(
            {**r, "eventTime": (now - timedelta(minutes=3 * i + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        )
    return out


async def test_live_list_grows_and_completes(fake: FakeCloudTrail, tmp_path: Path) -> None:
    fake.add("111111111111", "us-east-1", _recent("us-east-1", 150))
    fake.add("111111111111", "eu-west-1", _recent("eu-west-1", 100))
    store = Store(tmp_path / "live.sqlite")
    tgts = [Target(None, "us-east-1"), Target(None, "eu-west-1")]
    scope = [store.origin_id(t.key, "lookup") for t in tgts]
    app = TrailApp(store, scope, "live", sources=[LookupSource(tgts)], window="24h")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.sources[0].fetchers and all(f.done for f in app.sources[0].fetchers):
                break
        await settle(pilot)
        await pilot.press("G")  # nearing the end asks for more, if there is more
        await settle(pilot)
        assert app.event_list.total == 250
        assert "window complete" in app.status.live
        rows = store.window(app.filter, 0, 1000, scope)
        assert [r.ts for r in rows] == sorted((r.ts for r in rows), reverse=True)
        # a new filter: its own plan; the answer is exact
        app.set_filter_text("name:StopInstances")
        for _ in range(200):
            await pilot.pause(0.05)
            if all(f.done for f in app.sources[0].fetchers):
                break
        await settle(pilot)
        want = sum(
            1
            for r in _recent("us-east-1", 150) + _recent("eu-west-1", 100)
            if r["eventName"] == "StopInstances"
        )
        assert app.event_list.total == want
        # the complete wider window answers it: only the seconds since were asked for
        first_end = max(
            c.params["EndTime"] for c in fake.calls if not c.params.get("LookupAttributes")
        )
        named = [c for c in fake.calls if c.params.get("LookupAttributes")]
        assert named and all(c.params["StartTime"] >= first_end - 0.001 for c in named)
    store.close()


async def test_live_errors_are_one_line_and_the_cache_stays(
    fake: FakeCloudTrail, tmp_path: Path
) -> None:
    fake.fail_with[("111111111111", "us-east-1")] = (400, "AccessDeniedException", "no")
    store = Store(tmp_path / "live.sqlite")
    tgts = [Target(None, "us-east-1")]
    scope = [store.origin_id(t.key, "lookup") for t in tgts]
    app = TrailApp(store, scope, "live", sources=[LookupSource(tgts)], window="24h")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.status.message:
                break
        assert app.status.error
        assert (
            app.status.message
            == "not allowed to call cloudtrail:LookupEvents in default profile / us-east-1"
        )
        await pilot.press("j", "question_mark")  # still working
        assert type(app.screen).__name__ == "HelpScreen"
    store.close()
