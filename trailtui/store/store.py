"""The SQLite cache: schema + version, connections, windowed queries, counts, which source
each event came from, and coverage for the lazy sources. Ingest: ingest.py; facets and the
histogram: facets.py.

The folder is 0700 and the files 0600 (audit data). WAL + a busy timeout let two processes
share one cache. Raw records are stored zstd-compressed with a raw dictionary of CloudTrail's
own vocabulary (small records compress ~3x better with it).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..fields import text_at
from ..filter.language import Filter
from ..filter.sql import to_sql
from ..filter.values import compile_regex, fold, ip_in
from ..locations import ensure_private_dir
from ..records.event import loads
from .codec import decompress_raw
from .facets import FacetsMixin
from .ingest import IngestMixin, like_prefix
from .schema import LIST_COLUMNS, SCHEMA, SCHEMA_VERSION


class StoreError(RuntimeError):
    pass


@dataclass(slots=True, frozen=True)
class Row:
    """What the event list shows for one event."""

    id: int
    event_id: str
    ts: int
    name: str
    principal: str
    source_ip: str
    region: str
    resources: str
    error_code: str
    read_only: bool | None
    source: str
    account: str

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts / 1000, tz=UTC)


@dataclass(slots=True, frozen=True)
class Coverage:
    source: str
    filter_key: str
    start: int
    end: int
    complete: bool
    next_token: str | None
    updated: int


def _contains(blob: bytes | None, needle: str) -> bool:
    if blob is None:
        return False
    return needle in fold(decompress_raw(blob))


def _field(blob: bytes | None, path: str) -> str:
    """The text at a dotted path of the raw record (fields the cache keeps no column for)."""
    if blob is None:
        return ""
    try:
        return text_at(loads(decompress_raw(blob)), path)
    except ValueError:
        return ""


def _regexp(pattern: str, value: str | None) -> bool:
    return bool(value) and compile_regex(pattern).search(value or "") is not None


def _ip_in(value: str | None, cidr: str) -> bool:
    return ip_in(value, cidr)


def _row(r: Sequence[Any]) -> Row:
    ro = None if r[9] is None else bool(r[9])
    return Row(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], ro, r[10], r[11])


class Store(IngestMixin, FacetsMixin):
    """One SQLite cache file. Thread-safe enough for one writer and many readers: every
    thread gets its own connection."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._prefetched: dict[tuple[Any, ...], Future[list[Row]]] = {}
        self._idle: list[sqlite3.Connection] = []
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if not readonly:
            ensure_private_dir(self.path.parent)
            if not self.path.exists():
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            os.chmod(self.path, 0o600)
        elif not self.path.exists():
            raise StoreError(f"no cache at {self.path}")
        self._init_schema()

    # ------------------------------------------------------------------ connections

    @contextmanager
    def _c(self) -> Iterator[sqlite3.Connection]:
        """A connection from the pool (worker threads come and go; connections stay)."""
        with self._lock:
            c = self._idle.pop() if self._idle else None
        if c is None:
            c = self._connect()
        try:
            yield c
        finally:
            if c.in_transaction:
                c.rollback()
            with self._lock:
                if c in self._conns:
                    self._idle.append(c)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._c() as c:
            return c.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._c() as c:
            return c.execute(sql, params).fetchone()

    execute = _all  # one statement, all rows (tests, maintenance)

    def _connect(self) -> sqlite3.Connection:
        c = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        c.execute("PRAGMA busy_timeout=30000")
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA temp_store=MEMORY")
        c.execute("PRAGMA cache_size=-8192")
        c.create_function("tt_contains", 2, _contains, deterministic=True)
        c.create_function("tt_regexp", 2, _regexp, deterministic=True)
        c.create_function("tt_field", 2, _field, deterministic=True)
        c.create_function("tt_ip_in", 2, _ip_in, deterministic=True)
        with self._lock:
            self._conns.append(c)
        return c

    def close(self) -> None:
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(sqlite3.Error):
                    c.close()
            self._conns.clear()
            self._idle.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def interrupt(self) -> None:
        """Abort the queries running on every connection (a new filter supersedes them)."""
        with self._lock:
            for c in self._conns:
                c.interrupt()

    def _init_schema(self) -> None:
        try:
            with self._c() as c:
                try:
                    row = c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                except sqlite3.OperationalError as e:
                    if "no such table" not in str(e):
                        raise
                    row = None
                if row is not None and int(row[0]) != SCHEMA_VERSION:
                    raise StoreError(
                        f"cache {self.path} has schema version {row[0]}, this trailtui uses "
                        f"{SCHEMA_VERSION}: move it aside (or use --cache) and it will be rebuilt"
                    )
                if row is None and self.readonly:
                    raise StoreError(f"{self.path} is not a trailtui cache")
                # new caches, and what later versions added (all IF NOT EXISTS; the newest
                # addition tells whether anything is missing, so a plain open writes nothing)
                newest = "SELECT 1 FROM sqlite_master WHERE name = 'origins_kind'"
                if not self.readonly and c.execute(newest).fetchone() is None:
                    c.executescript(
                        "BEGIN IMMEDIATE;"
                        + SCHEMA
                        + "INSERT OR REPLACE INTO meta VALUES "
                        + f"('schema_version', '{SCHEMA_VERSION}');"
                        + "COMMIT;"
                    )
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path} is not a trailtui cache: {e}") from e

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._all("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ scope

    def origins_under(self, prefixes: Sequence[str]) -> list[int]:
        """Origin ids whose uri equals or lies under any of the prefixes."""
        out: list[int] = []
        for p in prefixes:
            base = p.rstrip("/")
            like = like_prefix(base)
            rows = self._all(
                "SELECT id FROM origins WHERE uri = ? OR uri LIKE ? ESCAPE '\\'",
                (base, like),
            )
            out.extend(int(r[0]) for r in rows)
        return sorted(set(out))

    def _where(self, f: Filter, scope: Sequence[int] | None) -> tuple[str, list[Any]]:
        sql = to_sql(f)
        where, params = sql.where, list(sql.params)
        if scope is not None:
            if not scope:
                return "0", []
            where += (
                " AND EXISTS (SELECT 1 FROM event_origins o WHERE o.event = e.id AND o.origin "
                f"IN ({','.join('?' * len(scope))}))"
            )
            params.extend(scope)
        return where, params

    # ------------------------------------------------------------------ queries

    def prefetch(
        self, f: Filter, offset: int = 0, limit: int = 100, scope: Sequence[int] | None = None
    ) -> None:
        """Start reading a window in the background (the UI's first window is read while
        the UI toolkit is still importing); ``window`` with the same arguments takes it."""
        key = (f, offset, limit, None if scope is None else tuple(scope))
        fut: Future[list[Row]] = Future()
        self._prefetched[key] = fut

        def run() -> None:
            try:
                fut.set_result(self._window(f, offset, limit, scope))
            except BaseException as e:
                fut.set_exception(e)

        threading.Thread(target=run, name="trailtui-prefetch", daemon=True).start()

    def take_prefetched(
        self, f: Filter, offset: int, limit: int, scope: Sequence[int] | None = None
    ) -> list[Row] | None:
        """The prefetched window for these arguments, if one was started (waits for it)."""
        if not self._prefetched:
            return None
        fut = self._prefetched.pop(
            (f, offset, limit, None if scope is None else tuple(scope)), None
        )
        return None if fut is None else fut.result()

    def window(
        self, f: Filter, offset: int = 0, limit: int = 100, scope: Sequence[int] | None = None
    ) -> list[Row]:
        """Matching events, newest first."""
        rows = self.take_prefetched(f, offset, limit, scope)
        return rows if rows is not None else self._window(f, offset, limit, scope)

    def _window(self, f: Filter, offset: int, limit: int, scope: Sequence[int] | None) -> list[Row]:
        where, params = self._where(f, scope)
        q = (
            f"SELECT {LIST_COLUMNS} FROM events e WHERE {where} "
            "ORDER BY e.ts DESC, e.id DESC LIMIT ? OFFSET ?"
        )
        return [_row(r) for r in self._all(q, [*params, limit, offset])]

    def iter_raw(
        self, f: Filter, scope: Sequence[int] | None = None, limit: int | None = None
    ) -> Iterator[tuple[int, str]]:
        """(id, raw JSON text) of the matching events, newest first, streamed."""
        where, params = self._where(f, scope)
        q = f"SELECT e.id, e.raw FROM events e WHERE {where} ORDER BY e.ts DESC, e.id DESC"
        if limit is not None:
            q += " LIMIT ?"
            params.append(limit)
        with self._c() as c:
            cur = c.execute(q, params)
            while True:
                rows = cur.fetchmany(500)
                if not rows:
                    return
                for rid, blob in rows:
                    yield int(rid), decompress_raw(blob)

    @contextmanager
    def _cancellable(self, cancelled: Callable[[], bool] | None) -> Iterator[sqlite3.Connection]:
        """A pooled connection whose query stops (sqlite3.OperationalError) once
        ``cancelled()`` is true, so a superseded filter stops using the disk and CPU."""
        with self._c() as c:
            if cancelled is not None:
                c.set_progress_handler(lambda: 1 if cancelled() else 0, 20000)
            try:
                yield c
            finally:
                if cancelled is not None:
                    c.set_progress_handler(None, 0)

    def count(
        self,
        f: Filter,
        scope: Sequence[int] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> int:
        where, params = self._where(f, scope)
        if cancelled is not None:
            with self._cancellable(cancelled) as c:
                q = f"SELECT count(*) FROM events e WHERE {where}"
                return int(c.execute(q, params).fetchone()[0])
        return int(self._one(f"SELECT count(*) FROM events e WHERE {where}", params)[0])

    def total(self) -> int:
        return int(self._one("SELECT count(*) FROM events")[0])

    def issuers_of(self, access_key: str) -> list[tuple[int, int]]:
        """(rowid, ts) of the STS events whose credentials carry this access key, newest first."""
        rows = self._all(
            "SELECT e.id, e.ts FROM issued_keys k JOIN events e ON e.id = k.event "
            "WHERE k.access_key = ? ORDER BY e.ts DESC",
            (access_key,),
        )
        return [(int(a), int(b)) for a, b in rows]

    def index_of(
        self, f: Filter, rowid: int, ts: int, scope: Sequence[int] | None = None
    ) -> int | None:
        """The position of an event in the filter's newest-first list, None if it is not in it."""
        where, params = self._where(f, scope)
        if (
            self._one(f"SELECT 1 FROM events e WHERE {where} AND e.id = ?", [*params, rowid])
            is None
        ):
            return None
        q = f"SELECT count(*) FROM events e WHERE {where} AND (e.ts > ? OR (e.ts = ? AND e.id > ?))"
        return int(self._one(q, [*params, ts, ts, rowid])[0])

    def row(self, rowid: int) -> Row | None:
        r = self._one(f"SELECT {LIST_COLUMNS} FROM events e WHERE e.id = ?", (rowid,))
        return None if r is None else _row(r)

    def rowid_of(self, event_id: str) -> int | None:
        row = self._one("SELECT id FROM events WHERE event_id = ?", (event_id,))
        return None if row is None else int(row[0])

    def raw(self, event_rowid: int) -> str | None:
        row = self._one("SELECT raw FROM events WHERE id=?", (event_rowid,))
        return None if row is None else decompress_raw(row[0])

    def time_range(self, scope: Sequence[int] | None = None) -> tuple[int, int] | None:
        where, params = self._where(Filter(), scope)
        row = self._one(f"SELECT min(e.ts), max(e.ts) FROM events e WHERE {where}", params)
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------------ coverage

    def set_coverage(
        self,
        source: str,
        filter_key: str,
        start: int,
        end: int,
        complete: bool,
        next_token: str | None,
    ) -> None:
        self._all(
            "INSERT OR REPLACE INTO coverage VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source, filter_key, start, end, int(complete), next_token, int(time.time())),
        )

    def coverage(self, source: str | None = None, filter_key: str | None = None) -> list[Coverage]:
        q = "SELECT source, filter_key, start, end, complete, next_token, updated FROM coverage"
        conds, params = [], []
        if source is not None:
            conds.append("source = ?")
            params.append(source)
        if filter_key is not None:
            conds.append("filter_key = ?")
            params.append(filter_key)
        if conds:
            q += " WHERE " + " AND ".join(conds)
        q += " ORDER BY start"
        return [
            Coverage(str(a), str(b), int(c), int(d), bool(e), f, int(g))
            for a, b, c, d, e, f, g in self._all(q, params)
        ]
