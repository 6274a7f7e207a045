"""The detections screen (D): the demo's own Sigma rules over the demo incident."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import OptionList

from trailtui.detect.demo import DEMO_RULES
from trailtui.ui.app import TrailApp
from trailtui.ui.screens.detections import DetectionsScreen
from trailtui.ui.widgets.histogram import Histogram

from .helpers import settle


async def _ran(pilot: object, app: TrailApp) -> DetectionsScreen:
    for _ in range(400):
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        screen = app.screen
        if isinstance(screen, DetectionsScreen) and screen.result is not None:
            return screen
    raise AssertionError("the detections never came")


async def test_detections_screen_lists_fired_rules_and_applies_one(
    make_app: Callable[..., TrailApp],
) -> None:
    app = make_app(rules=DEMO_RULES)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        screen = await _ran(pilot, app)
        d = screen.result
        assert d is not None
        titles = [r.rule.title for r in d.fired]
        assert "VPC Flow Logs Deleted" in titles
        assert "Root Account Used" not in titles  # no root in the demo: not listed
        ranks = [r.rule.rank for r in d.fired]
        assert ranks == sorted(ranks, reverse=True)  # most severe first
        assert any("timeframe" in reason or "count" in reason for _, reason in d.skipped)
        summary = str(screen.query_one("#detections-summary").render())
        assert f"{len(d.fired)} fired" in summary and "skipped" in summary
        # the histogram marks when they fired
        assert app.query_one(Histogram).marks
        # s shows the skipped rules and why; s again the fired ones
        await pilot.press("s")
        assert screen.showing_skipped
        await pilot.press("s")
        # Enter: the rule's filter goes to the bar and the list shows its events
        i = titles.index("VPC Flow Logs Deleted")
        ol = screen.query_one(OptionList)
        ol.highlighted = i
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, DetectionsScreen)
        assert app.bar.input.value == d.fired[i].rule.filter_text
        assert app.event_list.total == d.fired[i].count == 1
        row = app.event_list.current
        assert row is not None and row.name == "DeleteFlowLogs"


async def test_no_rules_says_where_to_get_them(
    make_app: Callable[..., TrailApp], tmp_path: Path
) -> None:
    app = make_app(rules=tmp_path / "none")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await pilot.pause()
        assert not isinstance(app.screen, DetectionsScreen)
        assert any("SigmaHQ" in str(n.message) for n in app._notifications)
