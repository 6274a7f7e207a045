"""What verify found of each log file, kept in the cache (store/verified.py) and said of each
event: a folder with a signed chain (made here) is read into the cache, verified, and each
event's file is looked up: validated, modified after its digest, in no digest, deleted."""

from __future__ import annotations

import base64
import gzip
import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from trailtui.investigate.integrity import FolderReader, record, verify, verify_source
from trailtui.sources.folder import FolderTrail, ingest_paths, origin_uri
from trailtui.sources.s3 import S3Location, S3Trail
from trailtui.store.store import Store
from trailtui.store.verified import (
    MISSING,
    MODIFIED,
    UNLISTED,
    VALIDATED,
    EventFile,
    FileCheck,
    file_uri,
    worst,
)

from .conftest import BUCKET
from .test_integrity import ACCOUNT, DER, FINGERPRINT, REGION, T0, FolderClient, build_chain

KEYS = {FINGERPRINT: DER}


def _unlisted(root: Path) -> Path:
    """A log file CloudTrail never delivered: no digest lists it."""
    t = T0 + timedelta(hours=1, minutes=30)
    p = root / (
        f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{t:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_{REGION}_{t:%Y%m%dT%H%MZ}_planted.json.gz"
    )
    rec = {"eventID": "planted", "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventName": "Y"}
    p.write_bytes(gzip.compress(json.dumps({"Records": [rec]}).encode()))
    return p


def _modify(path: Path, event_id: str) -> None:
    """Rewrite a log file after its digest was written (the record says something else)."""
    rec = {"eventID": event_id, "eventTime": T0.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventName": "Z"}
    path.write_bytes(gzip.compress(json.dumps({"Records": [rec]}).encode()))


def _files(store: Store, event_id: str) -> list[EventFile]:
    rowid = store.rowid_of(event_id)
    assert rowid is not None, event_id
    return store.file_check(rowid)


def _one(store: Store, event_id: str) -> EventFile:
    files = _files(store, event_id)
    assert len(files) == 1, files
    return files[0]


def test_folder_events_say_what_verify_found_of_their_file(tmp_path: Path) -> None:
    root = tmp_path / "sync"
    chain = build_chain(FolderClient(root))
    _modify(root / chain[1][1], "e1")  # bytes changed after the digest, before the read
    planted = _unlisted(root)
    store = Store(tmp_path / "c.sqlite")
    ingest_paths(store, [root], workers=0)
    (root / chain[2][1]).unlink()  # read into the cache, then deleted
    assert all(_one(store, f"e{h}").integrity == "not verified" for h in range(4))
    report = verify(FolderReader(root), None, T0 + timedelta(days=3), KEYS)
    assert record(store, report) == 5
    e0, e1, e2, e3 = (_one(store, f"e{h}") for h in range(4))
    # the uri the cache gave the file and the one verify checked are one spelling
    assert e0.uri == origin_uri(root / chain[0][1]) == file_uri(str(root / chain[0][1]))
    assert e0.check is not None and e0.check.status == VALIDATED
    assert e0.check.digest == chain[0][0] and e0.integrity == "validated" and e0.level == "ok"
    assert e0.sentence().startswith(
        f"log file validated by digest {chain[0][0].rsplit('/', 1)[-1]} at "
    )
    assert "digest signature valid" in e0.sentence()
    # the newest digest's signature can't be checked offline: validated, and it says so
    assert e3.integrity == "validated" and "not checkable offline" in e3.sentence()
    assert e1.integrity == "modified" and e1.level == "bad"
    assert e1.sentence().startswith("LOG FILE MODIFIED: ")
    assert e2.integrity == "missing when verified" and e2.level == "bad"
    assert e2.sentence().startswith("LOG FILE WAS MISSING when verify ran at ")
    p = _one(store, "planted")
    assert p.uri == origin_uri(planted)
    assert p.integrity == "not in digest" and p.sentence().startswith("LOG FILE IN NO DIGEST: ")
    # a second verify replaces the first's results: the deleted file came back rewritten
    _modify(root / chain[2][1], "e2")
    store.record_checks(verify(FolderReader(root), None, T0 + timedelta(days=3), KEYS).files)
    e2 = _one(store, "e2")
    assert e2.check is not None and e2.check.status == MODIFIED
    # the cache read other bytes than verify checked: that is said, not "modified" alone
    assert e2.integrity == "changed since verified" and e2.level == "bad"
    assert e2.sentence().startswith("LOG FILE CHANGED after the cache read it")
    store.close()


def test_a_modified_digest_does_not_vouch_for_its_files(tmp_path: Path) -> None:
    root = tmp_path / "sync"
    chain = build_chain(FolderClient(root))
    p = root / chain[1][0]
    digest = json.loads(gzip.decompress(p.read_bytes()))
    digest["digestEndTime"] = "2026-11-19T02:00:00Z"  # the log file's hash still matches
    p.write_bytes(gzip.compress(json.dumps(digest).encode()))
    store = Store(tmp_path / "c.sqlite")
    ingest_paths(store, [root], workers=0)
    store.record_checks(verify(FolderReader(root), None, T0 + timedelta(days=3), KEYS).files)
    e1 = _one(store, "e1")
    assert e1.integrity == "digest invalid" and e1.level == "bad"
    assert "was modified after CloudTrail wrote it" in e1.sentence()
    assert _one(store, "e0").integrity == "validated"
    store.close()


def test_paths_through_a_link_and_events_in_two_files(tmp_path: Path) -> None:
    """The cache read the folder through a symbolic link, verify the real path: one file. An
    event two files hold is looked up in both (the worst says most)."""
    root = tmp_path / "sync"
    chain = build_chain(FolderClient(root))
    link = tmp_path / "link"
    link.symlink_to(root)
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps({"Records": [{"eventID": "e0", "eventTime": "2026-11-19T01:00:00Z",
                                             "eventName": "X"}]}))  # fmt: skip
    store = Store(tmp_path / "c.sqlite")
    ingest_paths(store, [link, copy], workers=0)
    store.record_checks(verify(FolderReader(root), None, T0 + timedelta(days=3), KEYS).files)
    files = _files(store, "e0")
    assert sorted(f.integrity for f in files) == ["not verified", "validated"]
    w = worst(files)
    assert w is not None and w.uri == str(copy.resolve())
    assert _one(store, "e1").uri == str((root / chain[1][1]).resolve())
    store.close()


def test_a_cache_never_verified_and_origins_that_are_no_file(tmp_path: Path) -> None:
    from trailtui.records.event import parse_record

    store = Store(tmp_path / "c.sqlite")
    rec = {"eventID": "L1", "eventTime": "2026-11-19T01:00:00Z", "eventName": "X"}
    store.ingest([parse_record(rec)], "lookup:default:us-east-1", "lookup")
    with sqlite3.connect(tmp_path / "c.sqlite") as c:  # an older cache: no table at all
        assert not c.execute("SELECT name FROM sqlite_master WHERE name='file_checks'").fetchall()
    f = _one(store, "L1")
    assert f.integrity == "no file (LookupEvents)" and f.level == "none" and f.check is None
    assert store.record_checks([FileCheck("s3://b/k", VALIDATED, "d", 1, "")]) == 1
    assert _one(store, "L1").integrity == "no file (LookupEvents)"
    store.close()
    ro = Store(tmp_path / "c.sqlite", readonly=True)  # the table exists now; reads work
    assert _one(ro, "L1").check is None
    ro.close()


def test_hostile_names_stay_text(tmp_path: Path) -> None:
    """A digest key with escape codes and markup reaches the sentence as plain text; the
    detail view cleans it (tests/ui) like every other value."""
    c = FileCheck("/x/a.json.gz", UNLISTED, "", 0, "")
    assert EventFile("/x/a.json.gz", "file", c).sentence().startswith("LOG FILE IN NO DIGEST")
    c = FileCheck("/x/a", MISSING, "AWSLogs/[red]x\x1b[31m.json.gz", 0, "")
    assert "[red]x\x1b[31m.json.gz" in EventFile("/x/a", "file", c).sentence()


def test_s3_objects_verified_in_place(s3: Any, tmp_path: Path) -> None:
    chain = build_chain(s3)
    s3.put_object(Bucket=BUCKET, Key=chain[1][1], Body=gzip.compress(b'{"Records": [{"eventID"'
                  b': "e1", "eventTime": "2026-11-19T02:00:00Z", "eventName": "Z"}]}'))  # fmt: skip
    store = Store(tmp_path / "c.sqlite")
    loc = S3Location.parse(f"s3://{BUCKET}")
    trail = S3Trail(s3, loc)
    trail.read_window(store, T0, T0 + timedelta(hours=23))
    assert store.rowid_of("e0") is not None
    report = verify(S3Trail(s3, loc), T0, T0 + timedelta(hours=23), KEYS)
    store.record_checks(report.files)
    e0, e1 = _one(store, "e0"), _one(store, "e1")
    assert e0.uri == f"s3://{BUCKET}/{chain[0][1]}"
    assert e0.integrity == "validated" and "digest signature valid" in e0.sentence()
    assert e1.integrity == "modified"
    store.close()


def test_explorer_verify_keeps_the_results(tmp_path: Path, monkeypatch: Any) -> None:
    """verify_source (V) with the store: the results are kept, and the report says so."""
    root = tmp_path / "sync"
    build_chain(FolderClient(root))
    store = Store(tmp_path / "c.sqlite")
    ingest_paths(store, [root], workers=0)
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", "http://127.0.0.1:9")  # no keys
    got = verify_source(FolderTrail([root]), T0, T0 + timedelta(days=3), store)
    assert got is not None
    ok, lines = got
    assert ok and any("4 log file checks kept in the cache" in x for x in lines), lines
    e0 = _one(store, "e0")
    assert e0.integrity == "validated" and "digest signature not checked" in e0.sentence()
    store.close()


def _keys_file(path: Path) -> None:
    path.write_text(json.dumps({"PublicKeyList": [{
        "Value": base64.b64encode(DER).decode(), "Fingerprint": FINGERPRINT,
        "ValidityStartTime": "2026-01-01T00:00:00Z", "ValidityEndTime": "2027-01-01T00:00:00Z"}]}))  # fmt: skip


def test_cli_verify_keeps_the_results_in_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "sync"
    chain = build_chain(FolderClient(root))
    _modify(root / chain[1][1], "e1")
    cache = tmp_path / "c.sqlite"
    keys = tmp_path / "keys.json"
    _keys_file(keys)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trailtui", *args], capture_output=True,
                              text=True, env=os.environ, timeout=120)  # fmt: skip

    r = run("ingest", str(root), "--cache", str(cache))
    assert r.returncode == 0, r.stderr
    r = run("verify", str(root), "--public-keys", str(keys), "--cache", str(cache))
    assert r.returncode == 1 and f"MODIFIED: {chain[1][1]}" in r.stdout
    assert f"4 log file results kept in {cache}" in r.stderr
    store = Store(cache, readonly=True)
    assert [_one(store, f"e{h}").integrity for h in range(4)] == [
        "validated", "modified", "validated", "validated"]  # fmt: skip
    store.close()
