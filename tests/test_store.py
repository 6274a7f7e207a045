from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from trailtui.filter.language import parse
from trailtui.records.event import parse_record
from trailtui.records.inputs import parse_file, parse_text
from trailtui.sources.folder import ingest_paths, origin_uri
from trailtui.store.codec import _ZDICT, compress_raw, decompress_raw
from trailtui.store.store import SCHEMA_VERSION, Store, StoreError

from .conftest import REAL
from .test_events import RECORD


def _rec(i: int, **kw: object) -> dict[str, object]:
    return {
        **RECORD,
        "eventID": f"ev-{i}",
        "eventTime": f"2024-05-01T12:{i // 60:02d}:{i % 60:02d}Z",
        **kw,
    }


def test_private_permissions(tmp_path: Path) -> None:
    path = tmp_path / "c" / "events.sqlite"
    s = Store(path)
    s.ingest([parse_record(_rec(1))], "t")
    s.close()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for p in path.parent.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_schema_version_is_stored_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Store(path).close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    con.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="schema version 999"):
        Store(path)


def test_not_a_cache(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError):
        Store(path)


def test_dedupe_across_sources_remembers_each_source(tmp_path: Path) -> None:
    s = Store(tmp_path / "c.sqlite")
    a = [parse_record(_rec(i)) for i in range(10)]
    b = [parse_record(_rec(i)) for i in range(5, 15)]
    assert s.ingest(a, "src-a").added == 10
    st = s.ingest(b, "src-b")
    assert (st.added, st.duplicates) == (5, 5)
    assert s.total() == 15
    only_b = s.origins_under(["src-b"])
    assert s.count(parse(""), only_b) == 10
    assert s.count(parse(""), s.origins_under(["src-a"])) == 10
    assert s.count(parse(""), []) == 0


def test_window_newest_first_with_offsets(tmp_path: Path) -> None:
    s = Store(tmp_path / "c.sqlite")
    s.ingest([parse_record(_rec(i)) for i in range(250)], "t")
    f = parse("")
    first = s.window(f, 0, 100)
    assert [r.event_id for r in first[:3]] == ["ev-249", "ev-248", "ev-247"]
    assert s.window(f, 200, 100)[-1].event_id == "ev-0"
    assert len(s.window(f, 200, 100)) == 50


def test_raw_is_compressed_and_round_trips(tmp_path: Path) -> None:
    s = Store(tmp_path / "c.sqlite")
    rec = _rec(1, userAgent="\x1b[31m[bold]x[/] \u202e", requestParameters={"big": "y" * 100_000})
    s.ingest([parse_record(rec)], "t")
    row = s.window(parse(""), 0, 1)[0]
    assert json.loads(s.raw(row.id) or "") == rec
    size = s.execute("SELECT length(data) FROM blobs")[0][0]
    assert size < 2000


def test_json_orjson_refuses_is_still_read_and_stored(tmp_path: Path) -> None:
    """NaN, integers beyond 64 bits and lone surrogates: orjson refuses them, json takes them."""
    text = (
        '{"Records": [{"eventTime": "2024-05-01T12:00:00Z", "eventID": "odd", "eventName": "X",'
        ' "requestParameters": {"n": NaN, "big": 123456789012345678901234567890,'
        ' "s": "\\ud800 lone"}}]}'
    )
    res = parse_text(text)
    assert [e.event_id for e in res.events] == ["odd"] and not res.rejected
    s = Store(tmp_path / "c.sqlite")
    s.ingest(res.events, "t")
    raw = json.loads(s.raw(s.window(parse(""), 0, 1)[0].id) or "")
    assert raw["requestParameters"]["big"] == 123456789012345678901234567890
    assert s.window(parse("123456789012345678901234567890"), 0, 5)


def test_caches_written_with_zlib_still_read() -> None:
    """Raw blobs were zlib (with the same dictionary) before zstd: both decompress."""
    text = json.dumps(_rec(1))
    c = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, _ZDICT)
    assert decompress_raw(c.compress(text.encode()) + c.flush()) == text
    assert decompress_raw(compress_raw(text.encode())) == text


def test_facets(demo_store: Store) -> None:
    users = demo_store.facet("user", parse("name:StopInstances"), "sk")
    assert users and all(v.lower().startswith("sk") for v, _ in users)
    assert any(v.startswith("skeddly-") for v, _ in users)
    names = dict(demo_store.facet("name", parse("error:*"), "", 50))
    assert names["CreateUser"] > 0 and "Decrypt" not in names
    assert demo_store.facet("resource", None, "i-0badc")[0][0] == "i-0badc0ffee0000001"
    assert {v for v, _ in demo_store.facet("readonly")} == {"true", "false"}


def test_coverage_round_trip(tmp_path: Path) -> None:
    s = Store(tmp_path / "c.sqlite")
    s.set_coverage("lookup:111:us-east-1", "name=StopInstances", 100, 200, False, "tok")
    s.set_coverage("lookup:111:us-east-1", "name=StopInstances", 100, 200, True, None)
    cov = s.coverage("lookup:111:us-east-1")
    assert len(cov) == 1 and cov[0].complete and cov[0].next_token is None


def test_bad_file_next_to_good_ones_loses_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    good = sorted((REAL / "invictus-ir" / "CloudTrail").glob("*.json"))[:5]
    expected = sum(len(parse_file(p).events) for p in good)
    for p in good:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "aa-truncated.json").write_bytes(
        good[0].read_bytes()[:-100].replace(b'"eventID":"', b'"eventID":"x', 3)
    )
    (folder / "zz-invalid.json").write_text("{nope")
    (folder / "mm-empty.json.gz").write_bytes(b"")
    (folder / "mm-notgzip.json.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    s = Store(tmp_path / "c.sqlite")
    report = ingest_paths(s, [folder])
    bad = {Path(f.path).name for f in report.rejected_files}
    assert {"zz-invalid.json", "mm-empty.json.gz", "mm-notgzip.json.gz"} <= bad
    good_ids = {e.event_id for p in good for e in parse_file(p).events}
    scope = s.origins_under([origin_uri(folder)])
    stored = {r.event_id for r in s.window(parse(""), 0, 100_000, scope)}
    assert good_ids <= stored
    assert len(good_ids) == expected
    # a second ingest reads nothing again
    again = ingest_paths(s, [folder])
    assert again.added == 0 and again.unchanged == len(again.files)


def test_origin_uris_resolve_links_as_path_resolve_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walk resolves each folder once: every file's origin is still its resolved path
    (a linked file is its target, a file in a linked folder is under the folder's target)."""
    real = tmp_path / "real" / "a" / "b"
    real.mkdir(parents=True)
    (real / "f.json").write_text("{}")
    (tmp_path / "real" / "a" / "link.json").symlink_to(real / "f.json")
    (tmp_path / "linked").symlink_to(tmp_path / "real" / "a")
    monkeypatch.chdir(tmp_path / "real")
    dirs: dict[str, str] = {}
    for p in [
        real / "f.json",
        tmp_path / "real" / "a" / "link.json",
        tmp_path / "linked" / "b" / "f.json",
        tmp_path / "linked" / "link.json",
        Path("a/b/f.json"),
        Path("a/b/../b/f.json"),
        Path("."),
        Path("a/.."),
    ]:
        assert origin_uri(p, dirs) == str(p.resolve()) == origin_uri(p), p


def test_a_folder_is_one_scope_id_however_many_files(tmp_path: Path) -> None:
    """A folder's (or a trail's) scope is its root origin: events cached before the root
    existed are given it when it is created, and files added later carry it."""
    logs = tmp_path / "logs"
    for day in ("01", "02"):
        (logs / day).mkdir(parents=True)
        for i in range(30):
            rec = _rec(i, eventID=f"{day}-{i}")
            (logs / day / f"{i:03d}.json").write_text(json.dumps({"Records": [rec]}))
    s = Store(tmp_path / "c.sqlite")
    ingest_paths(s, [logs / "01"])  # before any root
    root = s.root_scope(origin_uri(logs))
    assert len(root) == 1 and s.count(parse(""), root) == 30
    ingest_paths(s, [logs])  # day 02 lands under the root
    assert s.count(parse(""), root) == 60
    assert s.count(parse(""), s.root_scope(origin_uri(logs / "02"))) == 30
    assert s.root_scope(origin_uri(logs)) == root  # the same id next time
    (logs / "02" / "new.json").write_text(json.dumps({"Records": [_rec(1, eventID="late")]}))
    ingest_paths(s, [logs / "02"])
    assert s.count(parse(""), root) == 61
    assert s.count(parse(""), s.root_scope(origin_uri(logs / "02"))) == 31
    assert s.count(parse(""), s.root_scope(str(tmp_path / "log"))) == 0  # not a prefix match


WRITER = """
import sys
import zlib
from pathlib import Path
from trailtui.records.event import parse_record
from trailtui.store.store import Store
s = Store(Path(sys.argv[1]))
tag = sys.argv[2]
for b in range(20):
    evs = [parse_record({"eventID": f"{tag}-{b}-{i}", "eventTime": "2024-05-01T00:00:00Z",
                         "eventName": "X"}) for i in range(200)]
    s.ingest(evs, tag)
print(s.total())
"""


def test_two_processes_share_one_cache(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    Store(path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), tag], stdout=subprocess.PIPE, text=True
        )
        for tag in ("a", "b")
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out
    s = Store(path)
    assert s.total() == 8000
    assert s.count(parse(""), s.origins_under(["a"])) == 4000


def test_user_facet_counts_each_event_once(tmp_path: Path) -> None:
    s = Store(tmp_path / "c.sqlite")
    s.ingest(
        [
            parse_record(_rec(i, userIdentity={"type": "IAMUser", "userName": "alice"}))
            for i in range(3)
        ],
        "t",
    )
    assert s.facet("user", parse(""), "al") == [("alice", 3)]


def test_one_write_of_batches_that_repeat_each_other_and_the_cache(tmp_path: Path) -> None:
    """Events cached before and events twice in one transaction: each one row, every source
    that gave it remembered (the writer inserts optimistically and sorts it out after)."""
    from trailtui.store.batch import batch_of

    s = Store(tmp_path / "c.sqlite")
    a = [parse_record(_rec(i)) for i in range(8)]
    assert s.ingest(a[:5], "src-a").added == 5
    st = s.write([batch_of(a[3:8], "src-b"), batch_of(a[:8], "src-c")])
    assert [(x.added, x.duplicates) for x in st] == [(3, 2), (0, 8)]
    assert s.total() == 8
    for src, n in (("src-a", 5), ("src-b", 5), ("src-c", 8)):
        assert s.count(parse(""), s.origins_under([src])) == n, src
    assert {r.event_id for r in s.window(parse(""), 0, 10)} == {e.event_id for e in a}
    for r in s.window(parse(""), 0, 10):
        assert json.loads(s.raw(r.id) or "")["eventID"] == r.event_id


def test_a_damaged_chunk_reads_as_missing_not_a_crash(tmp_path: Path) -> None:
    """A chunk whose bytes were damaged on disk: its events have no raw record (the detail view
    says so), and nothing raises."""
    s = Store(tmp_path / "c.sqlite")
    s.ingest([parse_record(_rec(i)) for i in range(3)], "test")
    s.execute("UPDATE blobs SET data = x'00ffffffff'")
    rid = s.window(parse(""), 0, 1)[0].id
    s.close()
    s = Store(tmp_path / "c.sqlite")  # a fresh chunk cache
    assert s.raw(rid) is None
    assert s.window(parse("nothing-matches-this"), 0, 10) == []
    # a raw condition checked row by row finds nothing in it either (none of its lines can
    # be read), counted as the scan finds it
    assert s.count(parse("(requestParameters.x:* OR name:NoSuchCall)")) == 0
    for text in ("-requestParameters.x:*", "(requestParameters.x:* OR name:NoSuchCall)"):
        assert s.count(parse(text)) == len(s.window(parse(text), 0, 10)), text


def test_postings_of_a_batch_of_several_chunks_name_each_chunk(tmp_path: Path) -> None:
    """A big file is several chunks: each chunk's postings hold its own rows' values, so a
    value only the last chunk holds leads there alone (a one-chunk batch posts its values)."""
    recs = [_rec(i) for i in range(2500)]
    recs[2400]["sourceIPAddress"] = "198.51.100.7"
    recs[2400]["eventName"] = "RareCall"
    s = Store(tmp_path / "c.sqlite")
    s.ingest([parse_record(r) for r in recs], "big-file")
    s.ingest([parse_record(_rec(2600, eventName="RareCall"))], "small-file")
    with s.db.conn() as c:
        n_chunks = c.execute("SELECT count(*) FROM chunks").fetchone()[0]
        ip = c.execute(
            "SELECT p.chunk FROM postings p JOIN ips d ON d.id = p.value "
            "WHERE p.col = 5 AND d.s = '198.51.100.7'"
        ).fetchall()
        rare = c.execute(
            "SELECT p.chunk FROM postings p JOIN kinds k ON k.id = p.value "
            "WHERE p.col = 0 AND k.name = 'RareCall' ORDER BY p.chunk"
        ).fetchall()
    assert n_chunks >= 4 and len(ip) == 1 and len(rare) == 2
    assert [r.event_id for r in s.window(parse("ip:198.51.100.7"), 0, 10)] == [
        recs[2400]["eventID"]
    ]
    assert s.count(parse("name:RareCall")) == 2
    s.close()


def test_postings_of_two_terms_on_one_column_meet_in_a_value(tmp_path: Path) -> None:
    """`source:iam readonly:false` reads only the chunks holding an IAM call that writes, not
    every chunk holding an IAM read beside some other write."""
    s = Store(tmp_path / "c.sqlite")
    iam, ec2 = "iam.amazonaws.com", "ec2.amazonaws.com"
    for i in range(8):  # a chunk each: an IAM read and an EC2 write
        s.ingest(
            [parse_record(_rec(10 * i, eventSource=iam, eventName="GetUser", readOnly=True)),
             parse_record(_rec(10 * i + 1, eventSource=ec2, eventName="StopInstances",
                                readOnly=False))],
            f"file-{i}",
        )  # fmt: skip
    s.ingest([parse_record(_rec(99, eventSource=iam, eventName="CreateUser", readOnly=False))], "w")
    f = parse("source:iam readonly:false")
    p = s.queries.plan(f, None)
    assert p.chunks is not None and len(p.chunks) == 1
    assert [r.name for r in s.window(f, 0, 10)] == ["CreateUser"]
    s.close()


def test_writes_held_open_are_seen_once_committed_and_a_failed_one_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bulk writes may share a transaction (hold=True): another reader sees none of it until
    it commits; a write that fails rolls all of it back, and the dictionary ids it handed out
    are forgotten (the next write of the same values gives them again, correctly)."""
    from trailtui.store import ingest
    from trailtui.store.batch import batch_of

    path = tmp_path / "c.sqlite"
    s = Store(path)

    def batch(i: int, user: str) -> object:
        rec = _rec(i, userIdentity={"type": "IAMUser", "userName": user, "arn": f"a/{user}"})
        return batch_of([parse_record(rec)], f"file-{i}")

    s.write([batch(1, "alice")], hold=True)  # type: ignore[list-item]
    other = Store(path, readonly=True)
    assert other.count(parse("")) == 0
    s.commit()
    assert other.count(parse("user:alice")) == 1

    s.write([batch(2, "bob")], hold=True)  # type: ignore[list-item]
    real = ingest.Writer._rest

    def broken(*a: object, **kw: object) -> object:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(ingest.Writer, "_rest", broken)
    with pytest.raises(sqlite3.OperationalError):
        s.write([batch(3, "carol")], hold=True)  # type: ignore[list-item]
    monkeypatch.setattr(ingest.Writer, "_rest", real)
    assert other.count(parse("")) == 1  # bob's and carol's events rolled back together
    s.write([batch(2, "bob"), batch(3, "carol")], hold=True)  # type: ignore[list-item]
    s.close()  # commits what is held
    assert [r.principal for r in other.window(parse(""), 0, 10)] == ["carol", "bob", "alice"]
    other.close()


def test_lines_a_scan_found_read_back_as_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lines a chunk scan matched are kept for reading the page it found (within a
    byte budget): each reads back as its own record, before and after others push it out."""
    from trailtui.store import chunks

    monkeypatch.setattr(chunks, "FOUND_BYTES", 3_000)  # a few records
    s = Store(tmp_path / "c.sqlite")
    for k in range(4):  # a chunk each
        recs = [_rec(k * 10 + i, userAgent=f"agent-{k}-{i}") for i in range(10)]
        s.ingest([parse_record(r) for r in recs], f"file-{k}")
    for k in range(4):
        for i in (0, 9):
            rows = s.window(parse(f"agent-{k}-{i}"), 0, 10)
            assert [r.event_id for r in rows] == [f"ev-{k * 10 + i}"]
            assert json.loads(s.raw(rows[0].id) or "")["userAgent"] == f"agent-{k}-{i}"
    reader = s.db.chunks
    assert 0 < reader._found_bytes <= 3_000 and len(reader._found) < 8
    s.close()
