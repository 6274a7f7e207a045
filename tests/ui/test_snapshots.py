"""What the screen looks like (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from trailtui.ui.app import TrailApp

from .helpers import settle


async def _ready(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, TrailApp)
    app.bar.input.cursor_blink = False
    await settle(pilot)


def test_main_120x40(snap_compare: Any, make_app: Callable[..., TrailApp]) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_ready)


def test_main_80x24(snap_compare: Any, make_app: Callable[..., TrailApp]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_ready)


def test_help_screen(snap_compare: Any, make_app: Callable[..., TrailApp]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await _ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run)


def test_detail_tree(snap_compare: Any, make_app: Callable[..., TrailApp]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await _ready(pilot)
        await pilot.press("enter", "down", "down", "down", "down", "down", "down")
        await pilot.pause()

    app = make_app(initial_filter="name:StopInstances resource:i-0badc0ffee0000001")
    assert snap_compare(app, terminal_size=(120, 40), run_before=run)
