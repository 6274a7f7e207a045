"""The detail view says what verify found of the log file an event was read from: a folder with
a signed chain (one file modified after its digest, one no digest lists) is opened, V
verifies it, and each event's detail says validated, MODIFIED or IN NO DIGEST; the case export
records it per pinned event."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from trailtui.sources.folder import FolderTrail
from trailtui.store.store import Store
from trailtui.ui.app import TrailApp
from trailtui.ui.screens.report import ReportScreen
from trailtui.ui.widgets.detail import DetailView

from ..fakes.cloudtrail import FakeCloudTrail
from ..test_integrity import ACCOUNT, DER, FINGERPRINT, FolderClient, build_chain
from ..test_verified import _modify, _unlisted
from .helpers import settle


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Any:
    """ListPublicKeys answered by the fake, with the key the chain was signed with."""
    ct = FakeCloudTrail(keys={"testing": ACCOUNT})
    ct.public_keys = [{"Value": base64.b64encode(DER).decode(), "Fingerprint": FINGERPRINT,
                       "ValidityStartTime": 0, "ValidityEndTime": 4102444800}]  # fmt: skip
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", ct.start())
    for k, v in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                 ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(k, v)
    yield ct
    ct.stop()


def _trail(tmp_path: Path) -> tuple[Path, list[tuple[str, str]]]:
    root = tmp_path / "sync"
    chain = build_chain(FolderClient(root))
    _modify(root / chain[1][1], "e1")
    _unlisted(root)
    return root, chain


async def _details(pilot: Any, app: TrailApp) -> dict[str, str]:
    """event id -> the detail's integrity line, for every event of the list."""
    out: dict[str, str] = {}
    await pilot.press("g")
    for i in range(app.event_list.total or 0):
        if i:
            await pilot.press("down")
        await settle(pilot)
        row = app.event_list.current
        assert row is not None
        d = app.query_one(DetailView)
        out[row.event_id] = d.integrity.plain if d.integrity is not None else ""
        # the line is on screen, at the top of the detail pane, when there is one
        assert d.has_class("-integrity") == (d.integrity is not None)
    return out


async def _verify(pilot: Any, app: TrailApp) -> list[str]:
    await pilot.press("V")
    for _ in range(400):
        await pilot.pause(0.05)
        if isinstance(app.screen, ReportScreen):
            break
    assert isinstance(app.screen, ReportScreen)
    lines = list(app.screen.lines)
    await pilot.press("escape")
    await settle(pilot)
    return lines


async def test_detail_says_whether_the_events_file_was_validated(tmp_path: Path, keys: Any) -> None:
    root, chain = _trail(tmp_path)
    store = Store(tmp_path / "c.sqlite")
    src = FolderTrail([root])
    app = TrailApp(store, src.scope(store), str(root), sources=[src])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        before = await _details(pilot, app)
        assert set(before) == {"e0", "e1", "e2", "e3", "planted"}
        assert all(
            t.startswith("log file not verified (") and "press V" in t for t in before.values()
        ), before
        lines = await _verify(pilot, app)
        assert any("5 log file checks kept in the cache" in x for x in lines), lines
        # the event on screen (the last one: e1, rewritten with e0's time) was looked up again
        d = app.query_one(DetailView)
        assert app.event_list.current is not None and app.event_list.current.event_id == "e1"
        assert d.integrity is not None and d.integrity.plain.startswith("⚠ LOG FILE MODIFIED")
        after = await _details(pilot, app)
        digest0 = chain[0][0].rsplit("/", 1)[-1]
        assert after["e0"].startswith(f"✓ log file validated by digest {digest0} at ")
        assert "digest signature valid" in after["e0"]
        assert "not checkable offline" in after["e3"]
        assert after["e1"].startswith("⚠ LOG FILE MODIFIED: ")
        assert after["planted"].startswith("⚠ LOG FILE IN NO DIGEST: ")
        # loud: red, at the top of the pane (above the title)
        await pilot.press("g")
        while app.event_list.current is not None and app.event_list.current.event_id != "e1":
            await pilot.press("down")
            await settle(pilot)
        d = app.query_one(DetailView)
        assert d.integrity is not None and "on dark_red" in str(d.integrity.spans[0].style)
        top = d.query_one("#detail-integrity")
        title = d.query_one("#detail-title")
        assert top.region.y < title.region.y and top.region.height >= 1
    store.close()


async def test_events_from_no_file_say_nothing(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        d = app.query_one(DetailView)
        assert app.event_list.current is not None
        assert d.integrity is None and not d.has_class("-integrity")


async def test_case_export_records_whether_each_pinned_file_was_validated(
    tmp_path: Path, keys: Any
) -> None:
    root, chain = _trail(tmp_path)
    store = Store(tmp_path / "c.sqlite")
    src = FolderTrail([root])
    app = TrailApp(store, src.scope(store), str(root), sources=[src])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await _verify(pilot, app)
        await pilot.press("g")
        pinned = []
        for _ in range(app.event_list.total or 0):
            row = app.event_list.current
            assert row is not None
            if row.event_id in ("e0", "e1", "planted"):
                await pilot.press("m")
                await pilot.pause()
                await pilot.press("enter")
                await settle(pilot)
                pinned.append(row.event_id)
            await pilot.press("down")
            await settle(pilot)
        assert sorted(pinned) == ["e0", "e1", "planted"]
        await pilot.press("E")
        await settle(pilot)
    exported = sorted((tmp_path / "data" / "exports").glob("default-*/default.jsonl"))
    assert exported, list((tmp_path / "data").rglob("*"))
    pins = {json.loads(x)["event_id"]: json.loads(x) for x in exported[0].read_text().splitlines()}
    f0 = pins["e0"]["file"]
    assert f0["integrity"] == "validated" and f0["digest"] == chain[0][0]
    assert f0["uri"] == str((root / chain[0][1]).resolve())
    assert f0["checked_at"].endswith("Z")
    assert pins["e1"]["file"]["integrity"] == "modified"
    assert pins["planted"]["file"]["integrity"] == "not in digest"
    assert pins["planted"]["file"]["digest"] is None
    md = exported[0].with_suffix(".md").read_text()
    assert "| log file |" in md and "| modified |" in md and "| not in digest |" in md
    store.close()


def test_export_of_a_pin_whose_event_is_not_cached_or_from_lookup(tmp_path: Path) -> None:
    from trailtui.evidence.cases import Pin
    from trailtui.evidence.export import case_jsonl_lines, case_markdown, pin_files
    from trailtui.records.event import parse_record

    store = Store(tmp_path / "c.sqlite")
    rec = {"eventID": "L1", "eventTime": "2026-11-19T01:00:00Z", "eventName": "X"}
    store.ingest([parse_record(rec)], "lookup:default:us-east-1", "lookup")
    pins = [Pin("L1", "2026-11-19T01:00:00Z", "X", "", ""), Pin("gone", "", "Y", "", "")]
    files = pin_files(pins, store)
    got = [json.loads(x)["file"] for x in case_jsonl_lines(pins, files)]
    assert got[0] == {"uri": "lookup:default:us-east-1", "integrity": "no file (LookupEvents)",
                      "digest": None, "checked_at": None, "detail": None}  # fmt: skip
    assert got[1]["integrity"] == "not in the cache" and got[1]["uri"] is None
    md = case_markdown("c", pins, files)
    assert "no file (LookupEvents)" in md and "not in the cache" in md
    store.close()


def test_hostile_file_and_digest_names_reach_the_detail_as_plain_text() -> None:
    """A forged digest can name any object: its key reaches the detail cleaned, never as
    markup or terminal codes."""
    from trailtui.store.verified import MISSING, EventFile, FileCheck
    from trailtui.ui.widgets.detail import integrity_text

    evil = "AWSLogs/[bold red]x\x1b]8;;e\x07\u202e.json.gz"
    text = integrity_text([EventFile("/x/" + evil, "file", FileCheck("/x/a", MISSING, evil))])
    assert text is not None
    plain = text.plain
    assert "[bold red]x" in plain  # shown as typed, not applied
    assert not any(c in plain for c in "\x1b\x07\u202e")
    assert integrity_text([EventFile("lookup:default:us-east-1", "lookup")]) is None
