"""Nothing lost, nothing doubled: `trailtui ingest` killed (-9) at random moments, again and
again, then run to the end: every eventID once, and no file is ever marked read unless all of
its events are in."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from trailtui.store.codec import eid_text
from trailtui.store.store import Store

from .test_events import RECORD

FILES = 600
PER_FILE = 100  # 60,000 events: a full ingest takes a few seconds here


def _folder(root: Path, rng: random.Random) -> dict[str, set[str]]:
    """A trail-shaped folder; eventIDs by file path (a few events sit in two files)."""
    out: dict[str, set[str]] = {}
    t0 = 1_730_000_000
    prev: list[str] = []
    for k in range(FILES):
        t = t0 + 300 * k
        stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(t))
        day = time.strftime("%Y/%m/%d", time.gmtime(t))
        p = root / "AWSLogs/111122223333/CloudTrail/us-east-1" / day / f"f_{stamp}_{k}.json.gz"
        p.parent.mkdir(parents=True, exist_ok=True)
        ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(PER_FILE)]
        ids[:2] = prev[-2:] or ids[:2]  # delivered twice: the same events in the next file
        recs = [
            {**RECORD, "eventID": eid, "eventTime": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(t + i)), "eventName": f"Call{i % 7}"}
            for i, eid in enumerate(ids)
        ]  # fmt: skip
        p.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode(), 1))
        out[str(p.resolve())] = set(ids)
        prev = ids
    return out


def _check(db: Path, files: dict[str, set[str]]) -> tuple[int, int]:
    """(events in the cache, files marked read); fails on a doubled event or a file marked
    read with an event missing."""
    s = Store(db)
    try:
        ids = [eid_text(k, t) for k, t in s.execute("SELECT eid, eid_text FROM events")]
        have = set(ids)
        assert len(have) == len(ids) == s.total()
        read = 0
        for uri, want in files.items():
            st = os.stat(uri)
            if s.file_seen(uri, st.st_size, st.st_mtime_ns, None):
                read += 1
                assert want <= have, f"{uri} marked read but {len(want - have)} events missing"
        return len(have), read
    finally:
        s.close()


@pytest.mark.slow
def test_ingest_killed_at_random_moments_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(1234)
    files = _folder(tmp_path / "trail", rng)
    unique = len(set().union(*files.values()))
    db = tmp_path / "cache" / "events.sqlite"
    cmd = [sys.executable, "-m", "trailtui", "ingest", str(tmp_path / "trail"), "--cache", str(db)]
    env = {**os.environ, "TRAILTUI_INGEST_WORKERS": "2"}
    kills = 0
    longest = 2.5  # s before the kill, at most
    progress: list[tuple[int, int]] = []
    while kills < 6:
        p = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        time.sleep(rng.uniform(0.2, longest))
        if p.poll() is not None:  # it finished before the kill: again, from an empty cache
            assert p.returncode == 0
            for f in db.parent.iterdir():
                f.unlink()
            longest /= 2
            continue
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        kills += 1
        progress.append(_check(db, files))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    events, read = _check(db, files)
    assert (events, read) == (unique, len(files)), progress
    # a later ingest finds every file read
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert "0 events added" in r.stderr and f"{len(files):,} unchanged" in r.stderr, r.stderr


@pytest.mark.slow
def test_two_ingests_of_different_folders_at_once(tmp_path: Path) -> None:
    rng = random.Random(99)
    a = _folder(tmp_path / "a", rng)
    b = _folder(tmp_path / "b", rng)
    db = tmp_path / "cache" / "events.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "trailtui", "ingest", str(tmp_path / d), "--cache", str(db)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for d in ("a", "b")
    ]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    both = {**a, **b}
    assert _check(db, both) == (len(set().union(*both.values())), len(both))
