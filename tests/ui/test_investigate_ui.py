from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from trailtui.sources.demo import INCIDENT_INSTANCE, MALLORY_IP
from trailtui.ui.app import TrailApp
from trailtui.ui.screens.history import HistoryScreen
from trailtui.ui.screens.who import WhoScreen
from trailtui.ui.widgets.instance_strip import InstanceStrip

from .helpers import settle

INCIDENT = f"name:StopInstances resource:{INCIDENT_INSTANCE}"


async def test_history_screen_and_open(make_app: Callable[..., TrailApp]) -> None:
    app = make_app(initial_filter=INCIDENT)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.query_one(InstanceStrip).instance == INCIDENT_INSTANCE
        await pilot.press("h")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        assert [s.name for s in screen.steps] == [
            "StopInstances",
            "CreateTags",
            "TerminateInstances",
        ]
        await pilot.press("j", "j", "enter")  # the failed TerminateInstances
        await settle(pilot)
        assert not isinstance(app.screen, HistoryScreen)
        row = app.event_list.current
        assert row is not None and row.name == "TerminateInstances"


async def test_who_screen_and_link(make_app: Callable[..., TrailApp]) -> None:
    app = make_app(initial_filter=INCIDENT)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        who_line = str(app.query_one("#detail-who").render())
        assert "mallory" in who_line and "seen nowhere else" in who_line
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WhoScreen)
        assert screen.chain.links[-1].who == "mallory"
        await pilot.press("down", "enter")  # open the AssumeRole link
        await settle(pilot)
        row = app.event_list.current
        assert row is not None and row.name == "AssumeRole" and row.source_ip == MALLORY_IP


async def test_lifecycle_jumps_whatever_the_filter(make_app: Callable[..., TrailApp]) -> None:
    app = make_app(initial_filter="resource:i-0d15ea5e0000000a1 name:DescribeInstances")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        first = app.event_list.current
        assert first is not None and first.name == "DescribeInstances"
        await pilot.press("left_square_bracket")  # the lifecycle event before it
        await settle(pilot)
        prev = app.event_list.current
        assert prev is not None and prev.name in ("StartInstances", "StopInstances")
        assert prev.ts < first.ts
        assert app.filter_text == "resource:i-0d15ea5e0000000a1"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        nxt = app.event_list.current
        assert (
            nxt is not None and nxt.ts > prev.ts and nxt.name in ("StartInstances", "StopInstances")
        )


async def test_pivots(make_app: Callable[..., TrailApp]) -> None:
    app = make_app(initial_filter=INCIDENT)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        assert app.filter_text == f"ip:{MALLORY_IP}"
        assert app.event_list.total == 8
        await pilot.press("K")  # the newest event from that IP is mallory's session
        await settle(pilot)
        assert app.filter_text.startswith("key:")
        await pilot.press("U")
        await settle(pilot)
        assert app.filter_text.startswith("user:")
        assert app.event_list.total and app.event_list.total >= 1


def test_snapshot_history(snap_compare: Any, make_app: Callable[..., TrailApp]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        assert isinstance(pilot.app, TrailApp)
        pilot.app.bar.input.cursor_blink = False
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)

    assert snap_compare(make_app(initial_filter="resource:i-0d15ea5e0000000a1 name:StopInstances"),
                        terminal_size=(120, 40), run_before=run)  # fmt: skip


def test_snapshot_who(snap_compare: Any, make_app: Callable[..., TrailApp]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        assert isinstance(pilot.app, TrailApp)
        pilot.app.bar.input.cursor_blink = False
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)

    assert snap_compare(make_app(initial_filter=INCIDENT), terminal_size=(120, 40), run_before=run)
