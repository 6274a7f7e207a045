from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from trailtui.evidence.bookmarks import Bookmark, Bookmarks
from trailtui.evidence.cases import Case, Pin, sha256_text
from trailtui.evidence.export import case_jsonl_lines, case_markdown, export_case, export_view
from trailtui.evidence.tomlfile import BookmarkError
from trailtui.filter.language import parse
from trailtui.records.event import parse_record
from trailtui.store.store import Store

from .test_cli import demo_cache, run  # noqa: F401


def test_bookmarks_survive_a_restart_and_read_back() -> None:
    b = Bookmarks()
    b.save(
        Bookmark(
            "incident", 'name:StopInstances user:"a \\"quoted\\" name"', window="7d", source="demo"
        )
    )
    b.save(Bookmark("errors", "error:*"))
    again = Bookmarks()  # a new process would do the same
    got = {x.name: x for x in again.all()}
    assert got["incident"].filter == 'name:StopInstances user:"a \\"quoted\\" name"'
    assert got["incident"].window == "7d" and got["incident"].source == "demo"
    assert parse(got["incident"].filter_text())
    text = again.path.read_text()
    assert text.startswith("# trailtui bookmarks") and "[[bookmark]]" in text


NASTY = 'q"uo\\te\t\nnl\r\x1b[2J\x07\x00\x7f\x9b31m \u202eevil\u202c\u200b ü 🎉 [bold]x[/]'


def test_toml_escapes_what_a_terminal_acts_on_and_reads_back() -> None:
    b = Bookmarks()
    b.save(Bookmark("nasty", NASTY, source=NASTY))
    case = Case.open("esc")
    case.pin(Pin("e1", "2024-01-01T00:00:00Z", NASTY, "w", "ip", note=NASTY, raw="x\ud800y"))
    assert Bookmarks().get("nasty").filter == NASTY
    pin = Case.open("esc").pins()[0]
    assert pin.note == NASTY and pin.name == NASTY
    assert pin.raw == "x\ufffdy"  # a lone surrogate can't be written as UTF-8
    for path in (b.path, case.path):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# trailtui ")
        assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)
        assert "\u202e" not in text and "\u200b" not in text
        assert "\\u001b[2J" in text and "\\u009b31m" in text and "\\u202e" in text
    r = run("bookmarks", "show", "nasty")
    assert r.returncode == 0 and "\x1b" not in r.stdout and "\x9b" not in r.stdout
    assert "\u202e" not in r.stdout


def test_files_written_before_still_read() -> None:
    # as the hand-rolled writer wrote them (uppercase \u escapes, \t)
    old = (
        "# trailtui bookmarks: saved filters.\n#\n# more\n\n"
        "[[bookmark]]\n"
        'name = "old"\n'
        'filter = "name:x user:\\"a \\\\ b\\" \\u001B\\u009B\\t\\n"\n'
        'window = "7d"\n'
        'created = "2024-01-01T00:00:00Z"\n'
        "\n[[bookmark]]\n"
        'name = "empty"\n'
        'filter = ""\n'
    )
    b = Bookmarks()
    b.path.parent.mkdir(parents=True, exist_ok=True)
    b.path.write_text(old, encoding="utf-8")
    got = {x.name: x for x in b.all()}
    assert got["old"].filter == 'name:x user:"a \\ b" \x1b\x9b\t\n' and got["old"].window == "7d"
    assert got["empty"].filter == ""
    b.touch("old")  # rewritten by tomli-w: the same bookmarks, the header kept
    again = {x.name: x for x in Bookmarks().all()}
    assert again["old"].filter == got["old"].filter and again["old"].last_used
    assert again["empty"].filter == ""
    text = b.path.read_text()
    assert text.startswith("# trailtui bookmarks") and text.count("[[bookmark]]") == 2


def test_rename_delete_touch_and_errors() -> None:
    b = Bookmarks()
    b.save(Bookmark("a", "name:A"))
    b.save(Bookmark("b", "name:B"))
    with pytest.raises(BookmarkError):
        b.rename("a", "b")
    b.rename("a", "c")
    b.touch("c")
    assert b.get("c").last_used
    b.delete("b")
    assert [x.name for x in b.all()] == ["c"]
    with pytest.raises(BookmarkError):
        b.delete("nope")
    with pytest.raises(BookmarkError):
        b.save(Bookmark("", "x"))


def test_corrupt_file_is_reported_with_line_and_kept() -> None:
    b = Bookmarks()
    b.save(Bookmark("ok", "name:X"))
    broken = b.path.read_text().replace('name = "ok"', 'name = "ok')
    b.path.write_text(broken)
    with pytest.raises(BookmarkError) as ei:
        b.all()
    msg = str(ei.value)
    assert str(b.path) in msg and "line 6" in msg
    with pytest.raises(BookmarkError):
        b.save(Bookmark("new", "name:Y"))  # never overwrites a file with an error
    assert b.path.read_text() == broken


SAVER = """
import sys
from trailtui.evidence.bookmarks import Bookmark, Bookmarks; from trailtui.evidence.cases import Case, Pin
tag = sys.argv[1]
for i in range(40):
    Bookmarks().save(Bookmark(f"{tag}-{i}", f"name:{tag}{i}"))
    Case.open("shared").pin(Pin(f"{tag}-{i}", f"2024-01-01T00:00:{i:02d}Z", "X", "w", "ip"))
"""


def test_two_processes_saving_at_once_lose_nothing() -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", SAVER, tag], env=os.environ) for tag in ("a", "b")
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0
    names = {b.name for b in Bookmarks().all()}
    assert len(names) == 80
    assert len(Case.open("shared").pins()) == 80


def test_cli_and_import_export(tmp_path: Path) -> None:
    r = run("bookmarks", "save", "night", "name:StopInstances", "--since", "24h")
    assert r.returncode == 0, r.stderr
    r = run("bookmarks", "save", "bad", "nmae:x")
    assert r.returncode == 2 and "unknown field" in r.stderr
    assert Bookmarks().get("night").window == "24h"  # the TUI reads what the CLI wrote
    Bookmarks().save(Bookmark("from-tui", "error:*"))
    r = run("bookmarks", "list")
    assert "night" in r.stdout and "from-tui" in r.stdout
    r = run("bookmarks", "export", "night")
    shared = tmp_path / "team.toml"
    shared.write_text(r.stdout.replace('"night"', '"team-night"'))
    assert run("bookmarks", "import", str(shared)).returncode == 0
    assert Bookmarks().get("team-night").filter == "name:StopInstances"
    assert run("bookmarks", "delete", "night").returncode == 0
    assert run("bookmarks", "show", "night").returncode == 2


def test_query_with_a_bookmark(demo_cache: Path) -> None:  # noqa: F811
    Bookmarks().save(Bookmark("stop", "name:StopInstances resource:i-0badc0ffee0000001"))
    r = run("query", "--bookmark", "stop", "--demo", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1


def test_pins_persist_in_time_order_with_hashes(demo_store: Store) -> None:
    case = Case.open("inc-1")
    rows = demo_store.window(parse("user:mallory ip:203.0.113.66"), 0, 3)
    for r in rows:
        raw = demo_store.raw(r.id) or ""
        case.pin(Pin(r.event_id, r.time.strftime("%Y-%m-%dT%H:%M:%SZ"), r.name, r.principal, r.source_ip,
                     note="looks | odd\nreally", filter="user:mallory", raw=raw))  # fmt: skip
    pins = Case.open("inc-1").pins()
    assert [p.time for p in pins] == sorted(p.time for p in pins)
    assert all(p.sha256 == sha256_text(p.raw) for p in pins)
    md = case_markdown("inc-1", pins)
    assert (
        md.count("\n| 2026-11-19") == 3 and "looks \\| odd really" in md and "`user:mallory`" in md
    )
    for line, p in zip(case_jsonl_lines(pins), pins, strict=True):
        obj = json.loads(line)
        assert obj["sha256"] == sha256_text(
            json.dumps(obj["event"], ensure_ascii=False, separators=(",", ":"))
        )
        assert obj["event"]["eventID"] == p.event_id
    with pytest.raises(BookmarkError):
        Case.open("../evil")


def test_case_export_files(tmp_path: Path, demo_store: Store) -> None:
    r = demo_store.window(parse("name:AssumeRole user:mallory"), 0, 1)[0]
    case = Case.open("x")
    case.pin(
        Pin(
            r.event_id,
            "2026-11-19T03:09:05Z",
            r.name,
            r.principal,
            r.source_ip,
            raw=demo_store.raw(r.id) or "",
        )
    )
    paths = export_case("x", case.pins(), tmp_path)
    assert [p.name for p in paths] == ["x.md", "x.jsonl", "x.filters.txt"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in paths)


def test_csv_parses_back_with_quotes_commas_newlines(tmp_path: Path) -> None:
    nasty = 'a "quoted", comma\nnewline\r\nand =cmd|x'
    rec = {"eventID": "n1", "eventTime": "2024-05-01T00:00:00Z", "eventName": "X",
           "userAgent": nasty, "errorMessage": nasty, "userIdentity": {"type": "IAMUser", "userName": nasty}}  # fmt: skip
    out = tmp_path / "v.csv"
    n = export_view([json.dumps(rec)], "csv", out)
    assert n == 1
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert (
        rows[0]["user_agent"] == nasty
        and rows[0]["who"] == nasty
        and rows[0]["error_message"] == nasty
    )


@pytest.mark.slow
def test_jsonl_export_of_100k_streams_in_flat_memory(tmp_path: Path) -> None:
    store = Store(tmp_path / "big.sqlite")
    base = {
        "eventTime": "2024-05-01T00:00:00Z",
        "eventName": "GetObject",
        "requestParameters": {"pad": "x" * 400},
    }
    for start in range(0, 100_000, 20_000):
        store.ingest(
            [parse_record({**base, "eventID": f"e{i}"}) for i in range(start, start + 20_000)],
            "big",
        )
    out = tmp_path / "all.jsonl"
    seen: list[int] = []
    tracemalloc.start()
    n = export_view((raw for _, raw in store.iter_raw(parse(""))), "jsonl", out, seen.append)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 100_000 and seen[-1] == 100_000
    assert out.stat().st_size > 40_000_000
    assert peak < 10_000_000, peak  # ~45 MB written, a few MB held at most
    with out.open() as f:
        assert sum(1 for _ in f) == 100_000
