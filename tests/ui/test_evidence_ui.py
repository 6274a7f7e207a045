from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from trailtui.evidence.bookmarks import Bookmark, Bookmarks
from trailtui.evidence.cases import Case
from trailtui.ui.app import TrailApp
from trailtui.ui.screens.bookmarks import BookmarkPicker
from trailtui.ui.widgets.pins_pane import PinsPane

from ..test_cli import run
from .helpers import settle

INCIDENT = "name:StopInstances resource:i-0badc0ffee0000001"


async def test_save_and_recall_bookmarks(make_app: Callable[..., TrailApp]) -> None:
    app = make_app(initial_filter=INCIDENT)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("w", "w", "w")  # 7d window
        await settle(pilot)
        await pilot.press("ctrl+s", *"night stop", "enter")
        await pilot.pause()
        b = Bookmarks().get("night stop")
        assert b.filter == INCIDENT and b.window == "7d" and b.source == "demo:incident"
        # the CLI sees what the TUI saved
        r = run("bookmarks", "list")
        assert "night stop" in r.stdout and "7d" in r.stdout
        Bookmarks().save(Bookmark("errors", "error:*"))
        await pilot.press("c", "w", "w")  # clear filter; window back to all
        await settle(pilot)
        await pilot.press("2")  # the second bookmark
        await settle(pilot)
        assert app.filter_text == "error:*"
        await pilot.press("1")
        await settle(pilot)
        assert app.filter_text == INCIDENT and app.window_label() == "7d"
        assert app.event_list.total == 1
        assert Bookmarks().get("night stop").last_used


async def test_picker_search_rename_delete(make_app: Callable[..., TrailApp]) -> None:
    for name, f in (
        ("alpha errors", "error:*"),
        ("beta stops", "name:StopInstances"),
        ("gamma", "user:mallory"),
    ):
        Bookmarks().save(Bookmark(name, f))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, BookmarkPicker)
        assert picker.counts["beta stops"] == app.store.count(app.effective("name:StopInstances"))
        await pilot.press(*"bst")
        assert next(b.name for b in picker.shown) == "beta stops"
        await pilot.press("ctrl+r", "ctrl+u", *"stops", "enter")
        await settle(pilot)
        assert {b.name for b in Bookmarks().all()} == {"alpha errors", "stops", "gamma"}
        await pilot.press("ctrl+u", *"gam")
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert {b.name for b in Bookmarks().all()} == {"alpha errors", "stops"}
        await pilot.press("ctrl+u", *"alp", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, BookmarkPicker)
        assert app.filter_text == "error:*"


async def test_picker_orders_by_fuzzy_match(make_app: Callable[..., TrailApp]) -> None:
    for name, f in (
        ("admin", "user:admin"),
        ("errors", "error:*"),
        ("night stop", "name:StopInstances"),
        ("nightly writes", "readonly:false"),
    ):
        Bookmarks().save(Bookmark(name, f))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, BookmarkPicker)

        def shown() -> list[str]:
            return [b.name for b in picker.shown]

        assert shown() == ["admin", "errors", "night stop", "nightly writes"]  # file order
        await pilot.press("n", "i")
        # "ni" starts two names, is scattered in "admin user:admin", absent from "errors"
        assert shown() == ["night stop", "nightly writes", "admin"]
        await pilot.press(*"ght s")
        assert shown() == ["night stop", "nightly writes"]  # the space and s come in both
        await pilot.press(*"top")
        assert shown() == ["night stop"]
        await pilot.press("ctrl+u", *"rdnly")  # letters in order, not together
        assert shown() == ["nightly writes"]
        await pilot.press("ctrl+u", *"zzz")
        assert shown() == []
        await pilot.press("ctrl+u")
        assert shown() == ["admin", "errors", "night stop", "nightly writes"]
        await pilot.press(*"admin", "enter")
        await settle(pilot)
        assert app.filter_text == "user:admin"


async def test_pin_pane_and_case_export(make_app: Callable[..., TrailApp]) -> None:
    app = make_app(initial_filter="ip:203.0.113.66")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m", *"the stop", "enter")
        await pilot.press("j", "j", "m", "enter")  # no note
        await settle(pilot)
        pins = Case.open("default").pins()
        assert len(pins) == 2 and {p.note for p in pins} == {"the stop", ""}
        assert [p.time for p in pins] == sorted(p.time for p in pins)
        await pilot.press("P")
        pane = app.query_one(PinsPane)
        assert pane.has_class("-shown") and len(pane.pins) == 2
        await pilot.press("d")  # unpin the first (oldest)
        await settle(pilot)
        assert len(Case.open("default").pins()) == 1
        await pilot.press("enter")
        await settle(pilot)
        row = app.event_list.current
        assert row is not None and row.event_id == Case.open("default").pins()[0].event_id
        await pilot.press("E")
        await pilot.pause()
        exports = Path(os.environ["TRAILTUI_DATA_DIR"]) / "exports"
        folder = next(exports.iterdir())
        md = (folder / "default.md").read_text()
        assert "| time | who | what | where | note |" in md
        line = json.loads((folder / "default.jsonl").read_text().splitlines()[0])
        assert line["sha256"] and line["event"]["sourceIPAddress"] == "203.0.113.66"


async def test_export_view_with_progress(make_app: Callable[..., TrailApp], tmp_path: Path) -> None:
    app = make_app(initial_filter="user:mallory")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        total = app.event_list.total
        await pilot.press("e")
        await pilot.pause()
        inp = app.screen.query_one("#export-path")
        inp.value = str(tmp_path / "view.csv")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        with (tmp_path / "view.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == total and all(r["who"] == "mallory" for r in rows)


def test_snapshot_picker(snap_compare: Any, make_app: Callable[..., TrailApp]) -> None:
    for name, f, w in (
        ("incident", INCIDENT, ""),
        ("errors", "error:*", "7d"),
        ("mallory", "user:mallory", ""),
    ):
        Bookmarks().save(Bookmark(name, f, window=w, created="2026-11-20T00:00:00Z"))

    async def run_(pilot: Pilot[int]) -> None:
        assert isinstance(pilot.app, TrailApp)
        pilot.app.bar.input.cursor_blink = False
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        pilot.app.screen.query_one("#bookmark-search").cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_)


def test_snapshot_pins_pane(snap_compare: Any, make_app: Callable[..., TrailApp]) -> None:
    async def run_(pilot: Pilot[int]) -> None:
        assert isinstance(pilot.app, TrailApp)
        pilot.app.bar.input.cursor_blink = False
        await settle(pilot)
        await pilot.press("m", *"night stop, 7 min after mallory's AssumeRole", "enter")
        await pilot.press("P")
        await settle(pilot)

    assert snap_compare(make_app(initial_filter=INCIDENT), terminal_size=(120, 40), run_before=run_)
