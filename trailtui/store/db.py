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
from .codec import eid_text
from .words import ChunkReader


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


READ_CACHE_KB = 8 * 1024  # page cache of a reading connection
WRITE_CACHE_KB = 64 * 1024  # and of one writing (index pages of a big batch)


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
        with self._lock:
            if self._closed:
                raise StoreError(f"the cache {self.path} is closed")
            c = self._idle.pop() if self._idle else None
        if c is None:
            c = self._connect()
        with self._lock:
            self._busy.add(id(c))
        try:
            yield c
        finally:
            if c.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    c.rollback()
            with self._lock:
                self._busy.discard(id(c))
                if self._closed:
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
        c.execute("PRAGMA temp_store=MEMORY")
        # readers: a small page cache each and no mmap (every pooled thread has a connection, and
        # mapped pages of a scanned 1M cache count as the explorer's memory: 943 MB measured);
        # a write transaction raises its own connection's cache while it writes
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
        with self.conn() as c:
            c.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KB}")
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
        self, cancelled: Callable[[], bool] | None = None, budget: float | None = None
    ) -> Iterator[sqlite3.Connection]:
        """A pooled connection whose statements stop (Interrupted) once ``cancelled()`` is true
        or ``budget`` seconds have passed, so a superseded filter stops using the disk and CPU
        and a plan that turns out slow can be swapped for another."""
        if cancelled is None and budget is None:
            with self.conn() as c:
                yield c
            return
        deadline = None if budget is None else time.perf_counter() + budget
        stopped = [False]

        def handler() -> int:
            if (cancelled is not None and cancelled()) or (
                deadline is not None and time.perf_counter() > deadline
            ):
                stopped[0] = True
                return 1
            return 0

        with self.conn() as c:
            c.set_progress_handler(handler, 5000)
            try:
                yield c
            except sqlite3.OperationalError as e:
                if stopped[0] or "interrupt" in str(e):
                    raise Interrupted(str(e)) from e
                raise
            finally:
                c.set_progress_handler(None, 0)

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
        self.chunks.clear()
