"""The SQLite cache: schema + version, ingest (dedupe by eventID), windowed queries, counts,
facets, which source each event came from, and coverage for the lazy sources.

The folder is 0700 and the files 0600 (audit data). WAL + a busy timeout let two processes
share one cache. Raw records are stored zlib-compressed with a preset dictionary of
CloudTrail's own vocabulary (small records compress ~3x better with it).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .events import Event, raw_bytes
from .facets import FacetsMixin
from .locations import ensure_private_dir
from .query import Filter, compile_regex, fold, ip_in, ipv4_int, to_sql
from .schema import (
    _SCHEMA,
    LIST_COLUMNS,
    SCHEMA_VERSION,
    compress_raw,
    decompress_raw,
)


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


@dataclass(slots=True)
class IngestStats:
    added: int = 0
    duplicates: int = 0


@dataclass(slots=True, frozen=True)
class FileRecord:
    """What was read of one file or object: the store skips it next time if unchanged."""

    uri: str
    size: int | None
    mtime_ns: int | None
    etag: str | None
    events: int
    rejects: Sequence[tuple[str, str]]
    error: str


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


def _regexp(pattern: str, value: str | None) -> bool:
    return bool(value) and compile_regex(pattern).search(value or "") is not None


def _ip_in(value: str | None, cidr: str) -> bool:
    return ip_in(value, cidr)


def _like_prefix(base: str) -> str:
    """A LIKE pattern (ESCAPE '\\') for what lies under base/."""
    return base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


def _clean(s: str) -> str:
    return s.encode("utf-8", "replace").decode("utf-8")


def _row_values(eid: int, ev: Event) -> tuple[Any, ...]:
    p = ev.principal
    return (
        eid,
        ev.event_id,
        ev.ts_ms,
        ev.name,
        ev.source,
        ev.region,
        ev.account,
        p.display,
        p.type,
        p.arn,
        p.user_name,
        p.session_name,
        p.lookup_username,
        p.access_key,
        p.invoked_by,
        p.source_identity,
        ev.source_ip,
        ipv4_int(ev.source_ip),
        ev.user_agent,
        ev.error_code,
        ev.error_message,
        None if ev.read_only is None else int(ev.read_only),
        ev.event_type,
        ev.category,
        ", ".join(n for _, n in ev.resources),
        compress_raw(raw_bytes(ev.raw)),
    )


def _row(r: Sequence[Any]) -> Row:
    ro = None if r[9] is None else bool(r[9])
    return Row(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], ro, r[10], r[11])


_INSERT = f"INSERT INTO events VALUES ({','.join('?' * 26)})"


class Store(FacetsMixin):
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
                        + _SCHEMA
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

    # ------------------------------------------------------------------ ingest

    def origin_id(self, uri: str, kind: str = "file") -> int:
        with self._c() as c:
            return self._origin(c, uri, kind)

    @staticmethod
    def _origin(c: sqlite3.Connection, uri: str, kind: str) -> int:
        c.execute("INSERT OR IGNORE INTO origins (uri, kind) VALUES (?, ?)", (uri, kind))
        return int(c.execute("SELECT id FROM origins WHERE uri=?", (uri,)).fetchone()[0])

    def ingest(
        self,
        events: Iterable[Event],
        origin: str,
        kind: str = "file",
        file: FileRecord | None = None,
    ) -> IngestStats:
        """Add events, deduplicated by eventID across every source, and (for a file or an
        object) what was read of it: one transaction."""
        stats = IngestStats()
        batch: dict[str, Event] = {}
        for ev in events:
            if ev.event_id in batch:
                stats.duplicates += 1
            else:
                batch[ev.event_id] = ev
        if not batch and file is None:
            return stats
        with self._c() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                oid = self._origin(c, origin, kind)
                if batch:
                    self._insert(c, batch, [oid, *self._roots_of(c, origin)], stats)
                if file is not None:
                    self._record_file(c, file)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            return stats

    @staticmethod
    def _roots_of(c: sqlite3.Connection, uri: str) -> list[int]:
        """The roots (folders, trail locations) a source lies under: its events carry them too."""
        return [
            int(rid)
            for rid, root in c.execute("SELECT id, uri FROM origins WHERE kind = 'root'")
            if uri == root or uri.startswith(root + "/")
        ]

    def root_scope(self, uri: str) -> list[int]:
        """The scope of a folder or a trail location: the one origin id that every event read
        under it carries, however many files or objects it has (a list of every file's id
        would outgrow SQLite's variable limit). Events cached before the root existed are
        given it once, when it is created."""
        base = uri.rstrip("/")
        like = _like_prefix(base)
        with self._c() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                row = c.execute(
                    "SELECT id FROM origins WHERE uri = ? AND kind = 'root'", (base,)
                ).fetchone()
                if row is None:
                    c.execute("INSERT INTO origins (uri, kind) VALUES (?, 'root')", (base,))
                    row = c.execute("SELECT last_insert_rowid()").fetchone()
                    c.execute(
                        "INSERT OR IGNORE INTO event_origins SELECT o.event, ? FROM event_origins o"
                        " JOIN origins g ON g.id = o.origin WHERE g.kind != 'root'"
                        " AND (g.uri = ? OR g.uri LIKE ? ESCAPE '\\')",
                        (row[0], base, like),
                    )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return [int(row[0])]

    @staticmethod
    def _insert(
        c: sqlite3.Connection, batch: dict[str, Event], oids: list[int], stats: IngestStats
    ) -> None:
        existing: dict[str, int] = {}
        ids = list(batch)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = f"SELECT event_id, id FROM events WHERE event_id IN ({','.join('?' * len(chunk))})"
            for eid_text, rid in c.execute(q, chunk):
                existing[fold(eid_text)] = rid
        next_id = int(c.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM events").fetchone()[0])
        rows: list[tuple[Any, ...]] = []
        res_rows: list[tuple[int, str, str]] = []
        key_rows: list[tuple[str, int]] = []
        origin_rows: list[tuple[int, int]] = []
        for key, ev in batch.items():
            folded = fold(key)
            rid = existing.get(folded)
            if rid is not None:
                stats.duplicates += 1
                origin_rows.extend((rid, o) for o in oids)
                continue
            rid = next_id
            next_id += 1
            existing[folded] = rid
            rows.append(_row_values(rid, ev))
            res_rows.extend((rid, t, n) for t, n in ev.resources)
            if ev.issued_key:
                key_rows.append((ev.issued_key, rid))
            origin_rows.extend((rid, o) for o in oids)
        stats.added = len(rows)
        try:
            c.executemany(_INSERT, rows)
        except (UnicodeEncodeError, sqlite3.ProgrammingError):
            for r in rows:
                c.execute(_INSERT, tuple(_clean(v) if isinstance(v, str) else v for v in r))
        try:
            c.executemany("INSERT INTO resources VALUES (?, ?, ?)", res_rows)
        except (UnicodeEncodeError, sqlite3.ProgrammingError):
            c.executemany(
                "INSERT INTO resources VALUES (?, ?, ?)",
                [(a, _clean(b), _clean(n)) for a, b, n in res_rows],
            )
        c.executemany("INSERT INTO issued_keys VALUES (?, ?)", key_rows)
        c.executemany("INSERT OR IGNORE INTO event_origins VALUES (?, ?)", origin_rows)

    def file_seen(self, uri: str, size: int | None, mtime_ns: int | None, etag: str | None) -> bool:
        row = self._one("SELECT size, mtime_ns, etag FROM files WHERE uri=?", (uri,))
        if row is None:
            return False
        if etag is not None:
            return bool(row[2] == etag)
        return bool(row[0] == size and row[1] == mtime_ns)

    def record_file(self, file: FileRecord, kind: str = "file") -> None:
        """Remember a file or object that gave no events (unreadable, empty, a digest...)."""
        self.ingest((), file.uri, kind, file)

    @staticmethod
    def _record_file(c: sqlite3.Connection, f: FileRecord) -> None:
        now = int(time.time())
        c.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (f.uri, f.size, f.mtime_ns, f.etag, f.events, len(f.rejects), _clean(f.error), now),
        )
        c.execute("DELETE FROM rejects WHERE uri=?", (f.uri,))
        c.executemany(
            "INSERT INTO rejects VALUES (?, ?, ?, ?)",
            [(f.uri, _clean(w), _clean(r), now) for w, r in f.rejects],
        )

    def rejects(self, limit: int = 1000) -> list[tuple[str, str, str]]:
        rows = self._all(
            "SELECT uri, location, reason FROM rejects ORDER BY at DESC, rowid LIMIT ?", (limit,)
        )
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    # ------------------------------------------------------------------ scope

    def origins_under(self, prefixes: Sequence[str]) -> list[int]:
        """Origin ids whose uri equals or lies under any of the prefixes."""
        out: list[int] = []
        for p in prefixes:
            base = p.rstrip("/")
            like = _like_prefix(base)
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
