"""A version 2 cache (tests/data/cache-v2.sqlite, written by the v2 store) is converted on first
open: every event, its exact record, its origins, what was read and rejected, coverage and
settings; in a new file renamed over the old one, so a failure leaves the old cache intact.
A version 3 cache (tests/data/cache-v3.sqlite, written by the v3 store) gains its postings, and
it or a version 4 one (cache-v4.sqlite) its eids table, and any of them or a version 5 one
(cache-v5.sqlite) its tampering table, in place, a transaction each."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from trailtui.filter.language import parse
from trailtui.investigate.tampering import find
from trailtui.records.tampering import CALLS, target_of
from trailtui.store import migrate
from trailtui.store.codec import eid_text, raw_record_bytes
from trailtui.store.store import SCHEMA_VERSION, Store, StoreError

FIXTURE = Path(__file__).parent / "data" / "cache-v2.sqlite"
FIXTURE_V3 = Path(__file__).parent / "data" / "cache-v3.sqlite"
FIXTURE_V4 = Path(__file__).parent / "data" / "cache-v4.sqlite"
FIXTURE_V5 = Path(__file__).parent / "data" / "cache-v5.sqlite"


def _v2(path: Path) -> dict[str, object]:
    c = sqlite3.connect(path)
    try:
        events = {
            str(eid): (raw_record_bytes(bytes(raw)), str(name), str(principal), int(ts))
            for eid, raw, name, principal, ts in c.execute(
                "SELECT event_id, raw, name, principal, ts FROM events"
            )
        }
        lookup = {
            str(r[0])
            for r in c.execute(
                "SELECT e.event_id FROM events e JOIN event_origins o ON o.event = e.id "
                "JOIN origins g ON g.id = o.origin WHERE g.kind = 'lookup'"
            )
        }
        root = str(c.execute("SELECT uri FROM origins WHERE kind = 'root'").fetchone()[0])
        files = c.execute("SELECT uri, size, mtime_ns FROM files").fetchall()
        version = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    finally:
        c.close()
    return {"events": events, "lookup": lookup, "root": root, "files": files, "version": version}


def test_a_v2_cache_is_converted_on_first_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cache" / "events.sqlite"
    path.parent.mkdir(mode=0o700)
    shutil.copy(FIXTURE, path)
    old = _v2(path)
    assert old["version"] == "2"
    events = old["events"]
    assert isinstance(events, dict) and len(events) > 30
    s = Store(path)
    assert f"converting the cache to version {SCHEMA_VERSION}" in capsys.readouterr().err
    assert s.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert s.total() == len(events)
    rows = s.window(parse(""), 0, 1000)
    assert {r.event_id for r in rows} == set(events)
    for r in rows:
        raw, name, principal, ts = events[r.event_id]
        assert (s.raw(r.id) or "").encode() == raw  # byte for byte what v2 kept
        assert (r.name, r.principal, r.ts) == (name, principal, ts)
    # origins: the LookupEvents origin (its own events and the ones a file gave first too),
    # and the folder's root scope
    lookup = s.origins_under(["lookup:default:us-east-1"])
    assert {r.event_id for r in s.window(parse(""), 0, 1000, lookup)} == old["lookup"]
    root = s.root_scope(str(old["root"]))
    in_root = {r.event_id for r in s.window(parse(""), 0, 1000, root)}
    assert in_root and in_root < set(events)
    assert in_root | set(old["lookup"]) == set(events)
    # what was read of each file, and what a file lost
    files = old["files"]
    assert isinstance(files, list) and files
    assert all(s.file_seen(u, size, mtime, None) for u, size, mtime in files)
    assert any("zz-truncated.json" in uri and "invalid JSON" in why for uri, _, why in s.rejects())
    assert [c.filter_key for c in s.coverage("lookup:default:us-east-1")] == ["name=StopInstances"]
    assert s.get_meta("note") == "made by tests/data/make_v2_cache.py"
    assert s.count(parse("name:AssumeRole")) == sum(
        1 for v in events.values() if v[1] == "AssumeRole"
    )
    s.close()
    assert not list(path.parent.glob("*.v3-converting*"))
    for p in path.parent.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    s = Store(path)  # the second open converts nothing
    assert s.total() == len(events)
    assert "converting" not in capsys.readouterr().err
    s.close()


def test_a_failed_conversion_leaves_the_v2_cache_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.sqlite"
    shutil.copy(FIXTURE, path)
    before = _v2(path)

    def boom(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(migrate, "_copy_rest", boom)
    with pytest.raises(OSError, match="disk full"):
        Store(path)
    assert _v2(path) == before  # still version 2, every event and record as it was
    monkeypatch.undo()
    s = Store(path)  # converted the next time
    assert s.total() == len(_v2(FIXTURE)["events"])  # type: ignore[arg-type]
    s.close()


def _answers(s: Store) -> dict[str, list[str]]:
    filters = ["", "name:AssumeRole", "ip:10.0.0.0/8", "-name:Describe*", "region:us-east-1"]
    got = {f: [r.event_id for r in s.window(parse(f), 0, 1000)] for f in filters}
    for eid in got[""][:5]:  # the way to an event by its eventID
        rowid = s.rowid_of(eid)
        assert rowid is not None and (row := s.row(rowid)) is not None and row.event_id == eid
        got[f"id:{eid}"] = [r.event_id for r in s.window(parse(f"id:{eid}"), 0, 10)]
    return got


@pytest.mark.parametrize("fixture", [FIXTURE_V3, FIXTURE_V4], ids=["v3", "v4"])
def test_a_v3_or_v4_cache_is_upgraded_in_place_on_first_open(
    fixture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both were the v2 fixture converted by their own code: upgraded, they answer as the v2
    fixture converted by today's code does."""
    ref_path = tmp_path / "ref" / "events.sqlite"
    ref_path.parent.mkdir()
    shutil.copy(FIXTURE, ref_path)
    ref = Store(ref_path)
    want = _answers(ref)
    assert want["name:AssumeRole"] and want[""]
    ref.close()
    capsys.readouterr()
    path = tmp_path / "events.sqlite"
    shutil.copy(fixture, path)
    version = fixture.name[len("cache-v") : -len(".sqlite")]
    with pytest.raises(StoreError, match=f"is version {version}: open it once"):
        Store(path, readonly=True)  # read-only: nothing written
    assert path.read_bytes() == fixture.read_bytes()
    s = Store(path)
    err = capsys.readouterr().err
    assert ("indexing the cache" in err) == (version == "3")
    assert "re-keying the cache" in err and "noting tampering calls" in err
    assert s.get_meta("schema_version") == str(SCHEMA_VERSION) == "6"
    assert _answers(s) == want
    with s.db.conn() as c:
        n = c.execute("SELECT count(*) FROM postings").fetchone()[0]
        want_posts = c.execute(
            "SELECT count(*) FROM (SELECT DISTINCT kind, chunk FROM events)"
        ).fetchone()[0]
        got = c.execute("SELECT count(*) FROM postings WHERE col = 0").fetchone()[0]
        assert n > 0 and got == want_posts
        eids = c.execute("SELECT count(*) FROM eids").fetchone()[0]
        assert eids == s.total() == len(want[""])
        gone = c.execute("SELECT 1 FROM sqlite_master WHERE name = 'events_eid'").fetchone()
        assert gone is None
    s.close()
    s = Store(path)  # the second open upgrades nothing
    assert "indexing" not in (err := capsys.readouterr().err) and "re-keying" not in err
    assert "noting" not in err
    s.close()


def _calls_from_records(s: Store) -> dict[str, str]:
    """eventID -> target of every call the tampering table keeps, read from the records."""
    out = {}
    for _, text in s.iter_raw(parse("name:" + ",".join(sorted(CALLS)))):
        raw = json.loads(text)
        out[raw["eventID"]] = target_of(raw)
    return out


def _table(s: Store) -> dict[str, str]:
    got = s.execute(
        "SELECT e.eid, e.eid_text, t.target FROM tampering t JOIN events e ON e.id = t.event"
    )
    return {eid_text(bytes(k) if isinstance(k, bytes) else k, x): str(t) for k, x, t in got}


def test_a_v5_cache_gains_its_tampering_table_on_first_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What each tampering call acted on is read once from its record; the warning then
    reads no record, and says what reading them says."""
    path = tmp_path / "events.sqlite"
    shutil.copy(FIXTURE_V5, path)
    with pytest.raises(StoreError, match="is version 5: open it once"):
        Store(path, readonly=True)
    assert path.read_bytes() == FIXTURE_V5.read_bytes()
    s = Store(path)
    err = capsys.readouterr().err
    assert "noting tampering calls" in err and "re-keying" not in err
    assert s.get_meta("schema_version") == "6"
    want = _calls_from_records(s)
    assert len(want) == 6 and set(want.values()) >= {"main-trail", "org-trail", ""}
    assert _table(s) == want
    found = find(s, parse(""))
    assert [(x.name, x.target, x.undone_by) for x in found] == [
        ("StopLogging", "main-trail", "StartLogging"),
        ("DeleteTrail", "org-trail", ""),
        ("DisableKey", "1234abcd-12ab-34cd-56ef-1234567890ab", ""),
        ("DeleteFlowLogs", "", ""),
    ]
    s._tampering_current = False  # the records' way gives the same findings
    assert find(s, parse("")) == found
    s.close()


def test_a_changed_table_of_tampering_calls_is_noted_again(tmp_path: Path) -> None:
    """A cache made when the table of tampering calls was another: filled again on a
    read-write open; read-only, the warning reads the records."""
    path = tmp_path / "events.sqlite"
    shutil.copy(FIXTURE_V5, path)
    Store(path).close()
    c = sqlite3.connect(path)
    c.execute("UPDATE meta SET value = 'StopLogging' WHERE key = 'tampering_calls'")
    c.execute("DELETE FROM tampering")
    c.commit()
    c.close()
    s = Store(path, readonly=True)
    assert s.tampering_calls(parse("")) is None
    found = find(s, parse(""))
    assert len(found) == 4
    s.close()
    s = Store(path)
    assert s.get_meta("tampering_calls") == migrate.CALLS_KEY
    assert _table(s) == _calls_from_records(s)
    assert find(s, parse("")) == found
    s.close()


@pytest.mark.parametrize(
    ("fixture", "step", "table"),
    [
        (FIXTURE_V3, migrate.add_postings, "postings"),
        (FIXTURE_V4, migrate.add_eids, "eids"),
        (FIXTURE_V5, migrate.add_tampering, "tampering"),
    ],
    ids=["v3", "v4", "v5"],
)
def test_a_failed_upgrade_leaves_the_version_it_was(
    fixture: Path, step: Any, table: str, tmp_path: Path
) -> None:
    path = tmp_path / "events.sqlite"
    shutil.copy(fixture, path)
    version = fixture.name[len("cache-v") : -len(".sqlite")]

    def boom(done: int, total: int) -> None:
        if done == total:  # the work done, not yet committed
            raise OSError("disk full")

    db = migrate.Database(path)
    try:
        with pytest.raises(OSError, match="disk full"):
            step(db, boom)
    finally:
        db.close()
    c = sqlite3.connect(path)
    try:
        got = c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        assert got == version
        assert c.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is None
    finally:
        c.close()
    s = Store(path)  # upgraded the next time
    assert s.get_meta("schema_version") == "6"
    assert s.total() == (44 if version == "5" else 38)
    s.close()
