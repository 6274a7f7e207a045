"""Adding events to the cache: dedupe by eventID across every source, which sources (and
roots: folders, trail locations) each event came from, and what was read of each file or
object. Mixed into ``Store`` (it supplies ``_c`` and ``_one``)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from ..filter.values import fold, ipv4_int
from ..records.event import Event, raw_bytes
from .codec import compress_raw


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


def like_prefix(base: str) -> str:
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


_INSERT = f"INSERT INTO events VALUES ({','.join('?' * 26)})"


class IngestMixin:
    def _c(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

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
        like = like_prefix(base)
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
