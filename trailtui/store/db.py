"""Connections to one cache file: a pool (worker threads come and go, connections stay), the
pragmas (WAL and a busy timeout let processes share a cache), the SQL functions the filter
compiler emits, write transactions and cancellable reads."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..filter.values import compile_regex, ip_in
from ..locations import ensure_private_dir
from .chunks import ChunkReader
from .codec import eid_text


def _wal(c: sqlite3.Connection, seconds: float = 60.0) -> None:
    """Switch to WAL. Two processes opening a new cache at once: the switch needs the lock the
    other holds while it creates the schema, and SQLite answers "database is locked" at once
    instead of waiting on the busy timeout (seen as a failed concurrent ingest), so wait here."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            c.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# page cache of a reading connection. Each pooled connection fills its cache to the cap (a
# count or a histogram scans more than any cap), and the explorer has as many connections as
# it has worker threads reading at once (a new filter starts the list page, the count, the
# histogram, the trust worker, completion; the old filter's are still stopping): 12 of them at
# 8 MB each were 100 MB of the explorer's peak. The windows, counts and histograms of bench/
# tui.py's filters run as fast with 1, 2 or 8 MB (the file's pages are in the OS cache).
READ_CACHE_KB = 2 * 1024
# and of one writing (index pages of a big batch): 32 MB, not 64, measured appending 200k events
# to an 800k cache: the writer's CPU the same (4.7-4.8 s vs 4.7-5.3 s), its peak RSS 148 -> 127 MB
WRITE_CACHE_KB = 32 * 1024
IDLE_MAX = 4  # connections kept open between reads; those beyond are closed as they come back


class StoreError(RuntimeError):
    pass


def _regexp(pattern: str, value: str | None) -> bool:
    return bool(value) and compile_regex(pattern).search(value or "") is not None


def _ip_in(value: str | None, cidr: str) -> bool:
    return ip_in(value, cidr)


def _eid(key: bytes | str, text: str | None) -> str:
    return eid_text(key, text)


class Interrupted(sqlite3.OperationalError):
    """A read stopped by its budget or because it was cancelled."""


class Database:
    """One SQLite cache file; every thread gets its own connection from the pool."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._idle: list[sqlite3.Connection] = []
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._busy: set[int] = set()  # ids of the connections in use
        self._big: set[int] = set()  # ids of the connections with a writer's page cache
        self._closed = False
        if not readonly:
            ensure_private_dir(self.path.parent)
            if not self.path.exists():
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            os.chmod(self.path, 0o600)
        elif not self.path.exists():
            raise StoreError(f"no cache at {self.path}")
        self.chunks = ChunkReader(self.conn)

    @contextmanager
    def conn(self) -> Iterator[sqlite3.Connection]:
        """A connection from the pool, back in the pool afterwards (closed then, when the
        cache was closed while it was in use: closing it under a running statement crashes
        the process)."""
        with self._pooled(writing=False) as c:
            yield c

    def _take(self, writing: bool) -> sqlite3.Connection | None:
        """An idle connection (under the lock): a writer gets the one that wrote last (its
        big page cache holds the index pages the next batch writes), a reader another."""
        for i in range(len(self._idle) - 1, -1, -1):
            if (id(self._idle[i]) in self._big) == writing:
                return self._idle.pop(i)
        return self._idle.pop() if self._idle else None

    @contextmanager
    def _pooled(self, writing: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"the cache {self.path} is closed")
            c = self._take(writing)
        if c is None:
            c = self._connect()
        with self._lock:
            self._busy.add(id(c))
        try:
            if not writing and id(c) in self._big:
                # a writer's connection reads again: back to a reader's cache (the pages
                # over it are freed)
                c.execute(f"PRAGMA cache_size=-{READ_CACHE_KB}")
                self._big.discard(id(c))
            yield c
        finally:
            if c.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    c.rollback()
            with self._lock:
                self._busy.discard(id(c))
                if self._closed or (c in self._conns and len(self._idle) >= IDLE_MAX):
                    # closed, or a burst of readers is over: only a few stay open (each
                    # keeps its page cache)
                    if c in self._conns:
                        self._conns.remove(c)
                    self._big.discard(id(c))
                    with contextlib.suppress(sqlite3.Error):
                        c.close()
                elif c in self._conns:
                    self._idle.append(c)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.conn() as c:
            return c.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.conn() as c:
            return c.execute(sql, params).fetchone()

    def _connect(self) -> sqlite3.Connection:
        c = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        c.execute("PRAGMA busy_timeout=60000")
        if not self.readonly:
            _wal(c)
            # checkpoint every ~32 MB of WAL, not 4: a page written by several transactions
            # (index pages) is copied back once (ingest writes ~6 MB a transaction)
            c.execute("PRAGMA wal_autocheckpoint=8192")
        c.execute("PRAGMA synchronous=NORMAL")
        # big sorts (GROUP BY over a million rows: the histogram of everything) spill to a
        # temporary file past the page cache's size, as SQLite does by default, instead of
        # growing in memory (30 MB more at the peak with MEMORY, and no faster); the file is
        # SQLite's own (0600, deleted as it is opened)
        c.execute("PRAGMA temp_store=FILE")
        # readers: a small page cache each and no mmap (every pooled thread has a connection, and
        # mapped pages of a scanned 1M cache count as the explorer's memory: 943 MB measured);
        # a write transaction raises its own connection's cache, kept for the writes that
        # follow (the pool hands that connection to writers first) and dropped when the
        # connection goes to a reader
        c.execute(f"PRAGMA cache_size=-{READ_CACHE_KB}")
        c.create_function("tt_regexp", 2, _regexp, deterministic=True)
        c.create_function("tt_ip_in", 2, _ip_in, deterministic=True)
        c.create_function("tt_eid", 2, _eid, deterministic=True)
        self.chunks.register(c)
        with self._lock:
            self._conns.append(c)
        return c

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: the write lock is taken at once, so two
        writers queue on the busy timeout instead of failing half-way)."""
        with self._pooled(writing=True) as c:
            if id(c) not in self._big:
                c.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KB}")
                self._big.add(id(c))
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
                c.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    c.execute("ROLLBACK")
                raise

    @contextmanager
    def reading(
        self, cancelled: Callable[[], bool] | None = None, steps: int | None = None
    ) -> Iterator[sqlite3.Connection]:
        """A pooled connection whose statements stop (Interrupted) once ``cancelled()`` is true
        or past ``steps`` SQLite VM steps, so a superseded filter stops using the disk and CPU
        and a plan that turns out slow can be swapped for another (a budget of work, not of
        time: the same plan whether the machine is busy or not)."""
        if cancelled is None and steps is None:
            with self.conn() as c:
                yield c
            return
        # the handler takes the interpreter's lock: asked every 5,000 steps (0.25 ms of SQLite
        # work), a query beside a busy Python thread waited for it again and again
        every = 50_000
        left = [None if steps is None else steps // every]
        stopped = [False]

        def handler() -> int:
            n = left[0]
            if n is not None:
                left[0] = n - 1
            if (cancelled is not None and cancelled()) or (n is not None and n <= 0):
                stopped[0] = True
                return 1
            return 0

        with self.conn() as c:
            c.set_progress_handler(handler, every)
            try:
                yield c
            except sqlite3.OperationalError as e:
                if stopped[0] or "interrupt" in str(e):
                    raise Interrupted(str(e)) from e
                raise
            finally:
                c.set_progress_handler(None, 0)

    def open_connections(self) -> int:
        """How many connections are open (in use or idle)."""
        with self._lock:
            return len(self._conns)

    def close(self) -> None:
        """Close the idle connections now, those in use (another thread's statement) as they
        come back; no connection is handed out after."""
        with self._lock:
            self._closed = True
            for c in self._conns:
                if id(c) not in self._busy:
                    with contextlib.suppress(sqlite3.Error):
                        c.close()
            self._conns.clear()
            self._idle.clear()
            self._big.clear()
        self.chunks.clear()
