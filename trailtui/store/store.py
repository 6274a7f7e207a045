"""The SQLite cache every source lands in: ``Store`` is the facade over its parts.

* db.py: connections (a pool, WAL, busy timeout), SQL functions, write transactions
* schema.py / migrate.py: the layout, its version, the conversion of older caches
* batch.py / parse.py / ingest.py: records -> compact batches (in parse processes) -> the writer
* queries.py: windows, counts, raw records; words.py: free words and paths over the raw
  chunks; chunks.py: the decompressed chunks and matched lines kept for reading back
* facets.py: completion counts and the histogram; origins.py: sources and scopes;
  coverage.py: what lazy sources have read, and settings

The folder is 0700 and the files 0600 (audit data).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..filter.language import Filter
from ..records.event import Event
from .batch import FileBatch, FileRecord, IngestStats, batch_of
from .coverage import Coverage, Coverages
from .db import Database, StoreError
from .facets import Facets
from .ingest import Writer
from .migrate import (
    add_eids,
    add_postings,
    add_tampering,
    convert_v2,
    create_schema,
    schema_version,
    tampering_current,
)
from .origins import Origins
from .queries import Call, Queries, Row
from .schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Coverage",
    "FileRecord",
    "IngestStats",
    "Row",
    "Store",
    "StoreError",
]


def _progress_bar(what: str, unit: str) -> Callable[[int, int], None]:
    """A conversion's progress on stderr ("trailtui: <what> [####   ] done/total <unit>")."""

    def show(done: int, total: int) -> None:
        if not sys.stderr.isatty() and done < total:
            return
        pct = 100 * done // max(total, 1)
        bar = "#" * (pct // 4)
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\rtrailtui: {what} [{bar:<25}] {done:,}/{total:,} {unit}{end}")
        sys.stderr.flush()

    return show


class Store:
    """One cache file. Thread-safe for one writer and many readers (a connection per thread);
    processes share it through SQLite's locks."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._prefetched: dict[tuple[Any, ...], Future[list[Row]]] = {}
        db = Database(self.path, readonly)
        version = schema_version(db)
        if version == 2:
            db.close()
            if readonly:
                raise StoreError(
                    f"cache {self.path} is version 2: open it once with trailtui to convert it"
                )
            convert_v2(
                self.path,
                _progress_bar(f"converting the cache to version {SCHEMA_VERSION}", "events"),
            )
            db = Database(self.path, readonly)
            version = schema_version(db)
        if version in (3, 4, 5):
            if readonly:
                db.close()
                raise StoreError(
                    f"cache {self.path} is version {version}: open it once with trailtui "
                    "to upgrade it"
                )
            if version == 3:
                add_postings(db, _progress_bar(f"indexing the cache {self.path} (once)", "events"))
            if version in (3, 4):
                add_eids(db, _progress_bar(f"re-keying the cache {self.path} (once)", "events"))
            add_tampering(
                db, _progress_bar(f"noting tampering calls in {self.path} (once)", "calls")
            )
            version = schema_version(db)
        if version is not None and version != SCHEMA_VERSION:
            db.close()
            raise StoreError(
                f"cache {self.path} has schema version {version}, this trailtui uses "
                f"{SCHEMA_VERSION}: move it aside (or use --cache) and it will be rebuilt"
            )
        if version is None:
            if readonly:
                raise StoreError(f"{self.path} is not a trailtui cache")
            create_schema(db)
        # made by a trailtui with another table of tampering calls: noted again; read-only,
        # the warning reads the records (tampering_calls says None)
        current = tampering_current(db)
        if not current and not readonly:
            add_tampering(db, _progress_bar(f"noting tampering calls in {self.path}", "calls"))
            current = True
        self._tampering_current = current
        self.db = db
        self.origins = Origins(db)
        self.queries = Queries(db)
        self.facets = Facets(db, self.queries)
        self.coverages = Coverages(db)
        self._writer: Writer | None = None
        self._writer_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.commit()
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """One statement, all rows (tests, maintenance)."""
        return self.db.all(sql, params)

    # ------------------------------------------------------------------ ingest

    def write(self, batches: Sequence[FileBatch], hold: bool = False) -> list[IngestStats]:
        """Batches (files, objects, pages) in one transaction: the fast bulk path. ``hold``:
        the transaction may stay open for the next batches (commit() ends it; see Writer)."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = Writer(self.db)
            return self._writer.write(batches, hold)

    def commit(self) -> None:
        """End a transaction writes held open."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.commit()

    def ingest(
        self,
        events: Iterable[Event],
        origin: str,
        kind: str = "file",
        file: FileRecord | None = None,
    ) -> IngestStats:
        """Add events, deduplicated by eventID across every source, and (for a file or an
        object) what was read of it: one transaction."""
        b = batch_of(events, origin, kind, file)
        if not b.rows and file is None:
            return IngestStats(duplicates=b.duplicates)
        return self.write([b])[0]

    def record_file(self, file: FileRecord, kind: str = "file") -> None:
        """Remember a file or object that gave no events (unreadable, empty, a digest...)."""
        self.ingest((), file.uri, kind, file)

    def file_seen(self, uri: str, size: int | None, mtime_ns: int | None, etag: str | None) -> bool:
        row = self.db.one(
            "SELECT f.size, f.mtime_ns, f.etag FROM files f JOIN origins o ON o.id = f.origin "
            "WHERE o.uri = ?",
            (uri,),
        )
        if row is None:
            return False
        if etag is not None:
            return bool(row[2] == etag)
        return bool(row[0] == size and row[1] == mtime_ns)

    def rejects(self, limit: int = 1000) -> list[tuple[str, str, str]]:
        """(uri, where, why) of each file or object that lost records or could not be read,
        newest first: why says how many records it lost."""
        rows = self.db.all(
            "SELECT uri, location, reason FROM rejects ORDER BY at DESC, rowid LIMIT ?", (limit,)
        )
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    # ------------------------------------------------------------------ origins and scopes

    def origin_id(self, uri: str, kind: str = "file") -> int:
        return self.origins.origin_id(uri, kind)

    def root_scope(self, uri: str) -> list[int]:
        return self.origins.root_scope(uri)

    def origins_under(self, prefixes: Sequence[str]) -> list[int]:
        return self.origins.origins_under(prefixes)

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
                fut.set_result(self.queries.window(f, offset, limit, scope))
            except BaseException as e:
                fut.set_exception(e)

        threading.Thread(target=run, name="trailtui-prefetch", daemon=True).start()

    def take_prefetched(
        self, f: Filter, offset: int, limit: int, scope: Sequence[int] | None = None
    ) -> list[Row] | None:
        """The prefetched window for these arguments, if one was started (waits for it).
        The first window asked takes it or drops it: rows read before are stale later (events
        landed since), so a prefetch that missed is never used."""
        if not self._prefetched:
            return None
        fut = self._prefetched.pop(
            (f, offset, limit, None if scope is None else tuple(scope)), None
        )
        self._prefetched.clear()
        return None if fut is None else fut.result()

    def window(
        self, f: Filter, offset: int = 0, limit: int = 100, scope: Sequence[int] | None = None
    ) -> list[Row]:
        """Matching events, newest first."""
        rows = self.take_prefetched(f, offset, limit, scope)
        return rows if rows is not None else self.queries.window(f, offset, limit, scope)

    def count(
        self,
        f: Filter,
        scope: Sequence[int] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> int:
        return self.queries.count(f, scope, cancelled)

    def iter_raw(
        self, f: Filter, scope: Sequence[int] | None = None, limit: int | None = None
    ) -> Iterator[tuple[int, str]]:
        """(id, raw JSON text) of the matching events, newest first, streamed."""
        return self.queries.iter_raw(f, scope, limit)

    def tampering_calls(
        self, f: Filter, scope: Sequence[int] | None = None, limit: int | None = None
    ) -> list[Call] | None:
        """The tampering calls (and those undoing one) matching the filter, newest first, each
        with what it acted on; None when this cache does not keep them for today's table of
        calls (opened read-only: read their records instead)."""
        if not self._tampering_current:
            return None
        return self.queries.tampering_calls(f, scope, limit)

    def raw(self, event_rowid: int) -> str | None:
        """The event's record, exactly as its source gave it (secrets redacted)."""
        return self.queries.raw(event_rowid)

    def row(self, rowid: int) -> Row | None:
        return self.queries.row(rowid)

    def rowid_of(self, event_id: str) -> int | None:
        return self.queries.rowid_of(event_id)

    def index_of(
        self, f: Filter, rowid: int, ts: int, scope: Sequence[int] | None = None
    ) -> int | None:
        """The position of an event in the filter's newest-first list, None if it is not in it."""
        return self.queries.index_of(f, rowid, ts, scope)

    def issuers_of(self, access_key: str) -> list[tuple[int, int]]:
        return self.queries.issuers_of(access_key)

    def time_range(self, scope: Sequence[int] | None = None) -> tuple[int, int] | None:
        return self.queries.time_range(scope)

    def total(self) -> int:
        return self.queries.total()

    def histogram(
        self,
        f: Filter,
        start: int,
        end: int,
        bins: int,
        scope: Sequence[int] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[int]:
        return self.facets.histogram(f, start, end, bins, scope, cancelled)

    def facet(
        self,
        fieldname: str,
        f: Filter | None = None,
        prefix: str = "",
        limit: int = 10,
        scope: Sequence[int] | None = None,
    ) -> list[tuple[str, int]]:
        return self.facets.facet(fieldname, f, prefix, limit, scope)

    def paths(
        self,
        f: Filter | None = None,
        prefix: str = "",
        limit: int = 10,
        scope: Sequence[int] | None = None,
    ) -> tuple[list[tuple[str, int]], int]:
        return self.facets.paths(f, prefix, limit, scope)

    # ------------------------------------------------------------------ coverage and meta

    def set_coverage(
        self,
        source: str,
        filter_key: str,
        start: int,
        end: int,
        complete: bool,
        next_token: str | None,
    ) -> None:
        self.coverages.set_coverage(source, filter_key, start, end, complete, next_token)

    def coverage(self, source: str | None = None, filter_key: str | None = None) -> list[Coverage]:
        return self.coverages.coverage(source, filter_key)

    def get_meta(self, key: str) -> str | None:
        return self.coverages.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self.coverages.set_meta(key, value)

    # ------------------------------------------------------------------ verified log files

    def record_checks(self, checks: Iterable[Any]) -> int:
        """Keep what ``trailtui verify`` found of each log file (store/verified.py); how many."""
        from .verified import Verified

        return Verified(self.db).record(checks)

    def file_check(self, rowid: int) -> list[Any]:
        """The files (and other origins) the event was read from, each with verify's check of
        it: a list of verified.EventFile."""
        from .verified import Verified

        return Verified(self.db).of_event(rowid)

    def origins_in(self, ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """(id, uri, kind) of these origin ids (a source's scope: LookupEvents targets, log
        groups, roots)."""
        keys = sorted({int(i) for i in ids})
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self.db.all(f"SELECT id, uri, kind FROM origins WHERE id IN ({marks})", keys)
        return [(int(i), str(u), str(k)) for i, u, k in rows]

    def oldest(self, scope: Sequence[int] | None, start: int, end: int) -> int | None:
        """The time (ms) of the oldest event of the scope in [start, end], None if none."""
        from .origins import scope_sql

        cond = scope_sql(scope)
        row = self.db.one(
            "SELECT MIN(e.ts) FROM events e WHERE e.ts BETWEEN ? AND ?"
            + (f" AND {cond}" if cond else ""),
            (start, end),
        )
        return None if row is None or row[0] is None else int(row[0])
