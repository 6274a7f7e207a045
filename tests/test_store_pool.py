"""The cache's connection pool: a burst of reading threads leaves a few connections open,
not one per thread, and each reading connection keeps a small page cache (the explorer's
memory: one 8 MB cache per connection ever opened made its peak)."""

from __future__ import annotations

import threading
from pathlib import Path

from trailtui.filter.language import Filter, parse
from trailtui.records.event import parse_record
from trailtui.store.db import IDLE_MAX, READ_CACHE_KB
from trailtui.store.store import Store

from .test_events import RECORD


def _store(tmp_path: Path, n: int = 300) -> Store:
    s = Store(tmp_path / "c.sqlite")
    recs = [
        {**RECORD, "eventID": f"ev-{i}", "eventTime": f"2024-05-01T12:{i // 60:02d}:{i % 60:02d}Z"}
        for i in range(n)
    ]
    s.ingest([parse_record(r) for r in recs], "t")
    return s


def test_a_burst_of_readers_leaves_a_few_connections_open(tmp_path: Path) -> None:
    s = _store(tmp_path)
    start = threading.Barrier(12)
    inside = threading.Barrier(12)
    counts: list[int] = []
    lock = threading.Lock()

    def read() -> None:
        start.wait()
        with s.db.conn() as c:  # all twelve hold a connection at once
            inside.wait()
            n = c.execute("SELECT count(*) FROM events").fetchone()[0]
        with lock:
            counts.append(n + len(s.window(Filter(), 0, 10)))

    threads = [threading.Thread(target=read) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == [310] * 12
    assert s.db.open_connections() == IDLE_MAX
    # what stays open serves the next reads
    assert s.count(parse("name:StopInstances")) == 300
    assert s.db.open_connections() == IDLE_MAX
    s.close()
    assert s.db.open_connections() == 0


def test_reading_connections_keep_a_small_cache_and_sort_big_on_disk(tmp_path: Path) -> None:
    s = _store(tmp_path, 10)
    with s.db.conn() as c:
        assert c.execute("PRAGMA cache_size").fetchone()[0] == -READ_CACHE_KB
        assert c.execute("PRAGMA temp_store").fetchone()[0] == 1  # FILE
    s.close()


def test_a_writers_cache_is_kept_for_writes_and_dropped_for_reads(tmp_path: Path) -> None:
    s = _store(tmp_path, 10)  # the ingest wrote through a connection with a writer's cache
    with s.db.write() as w:
        assert w.execute("PRAGMA cache_size").fetchone()[0] < -READ_CACHE_KB
        with s.db.conn() as r:  # a reader meanwhile: another connection, a reader's cache
            assert r is not w
            assert r.execute("PRAGMA cache_size").fetchone()[0] == -READ_CACHE_KB
    with s.db.write() as again:
        assert again is w  # the next write gets the warm one back
    with s.db.conn() as r:
        assert r.execute("PRAGMA cache_size").fetchone()[0] == -READ_CACHE_KB
    assert s.count(Filter()) == 10
    s.close()
