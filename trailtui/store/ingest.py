"""The writer: batches (files, objects, pages of events) into the cache, many per transaction.

In one transaction: the batches' new dictionary values, their chunks, their events
(deduplicated by eventID across every source: an event seen before only gains an origin), and
what was read of each file (so a file is marked read together with its events: a crash loses
at most the transaction and doubles nothing). Dictionary ids are cached in memory once
committed; another process writing the same cache is safe (ids are only ever added, and the
write lock is held from the first read of the transaction).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import ExitStack
from itertools import chain, repeat
from typing import Any

from ..filter.values import ipv4_int
from .batch import TABLES, FileBatch, FileRecord, IngestStats
from .db import Database
from .origins import ensure_origin, roots
from .schema import DICTS, EVENT_DICTS, POSTED

_PROBE = 500  # eventIDs per dedupe query


def clean(s: str) -> str:
    """Text SQLite can store (lone surrogates, which json lets through, replaced)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "replace").decode("utf-8")
    return s


def _clean_tuple(v: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(clean(x) if isinstance(x, str) else x for x in v)


def reject_summary(f: FileRecord) -> tuple[str, str, int] | None:
    """(where, why, how many records were lost) for a file that lost records or could not be
    read, None when everything was read."""
    records = [(w, r) for w, r in f.rejects if not (f.error and r == f.error)]
    if not records and not f.error:
        return None
    if not records:
        return f.uri, f.error, 0
    where, why = records[0]
    n = len(records)
    reason = f"{n:,} record{'s' if n != 1 else ''} rejected (first: {why})"
    if f.error:
        reason += f"; {f.error}"
    return where, reason, n


_ROWS_PER_STATEMENT = 20
_chain = chain.from_iterable


def _insert_many(c: sqlite3.Connection, head: str, width: int, rows: list[tuple[Any, ...]]) -> None:
    """executemany with 20 rows a statement: a third less time per row than one a statement
    (measured: binding and stepping, not the B-trees, is most of an insert here)."""
    one = "(" + ",".join("?" * width) + ")"
    per = _ROWS_PER_STATEMENT
    full = len(rows) // per * per
    if full:
        c.executemany(
            f"{head} {','.join([one] * per)}",
            [tuple(_chain(rows[i : i + per])) for i in range(0, full, per)],
        )
    if full < len(rows):
        c.executemany(f"{head} {one}", rows[full:])


def post(c: sqlite3.Connection, events: Sequence[tuple[Any, ...]]) -> None:
    """The postings of these rows of ``events`` (all its columns, in order: the chunk 5th,
    POSTED's from the 7th): (column, value, chunk) once each."""
    n = len(events)
    chunks = [e[4] for e in events]
    got: set[tuple[int, int, int]] = set()
    for col in range(len(POSTED)):
        got.update(zip(repeat(col, n), [e[6 + col] for e in events], chunks, strict=True))
    _insert_many(c, "INSERT OR IGNORE INTO postings VALUES", 3, list(got))


# a batch's table number -> the posted column whose values it holds
_POSTED_OF = {TABLES.index(EVENT_DICTS[col]): i for i, col in enumerate(POSTED)}


# a transaction held open across writes (hold=True) commits past this many events or seconds:
# a commit writes every page the batches touched, and the eventID index's pages are touched
# all over (random keys). Appending 200k events to an 800k cache (measured): committing every
# 20k events, the writer wrote 1.4 GB and spent 4.7-5.3 s of CPU; held up to 3 s, 0.5 GB and
# 4.4-4.8 s (the events in memory stay those of one write)
HOLD_EVENTS = 100_000
HOLD_SECONDS = 3.0


class _Abort(Exception):
    pass


class Writer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: dict[tuple[Any, ...], int] = {}  # dictionary ids (committed or held)
        self._origins: dict[str, int] = {}
        self._txn: ExitStack | None = None  # a held transaction
        self._conn: sqlite3.Connection | None = None
        self._since = 0.0
        self._held = 0  # events written in it
        self._new: list[tuple[dict[Any, int], Any]] = []  # what it added to _ids / _origins

    def write(self, batches: Sequence[FileBatch], hold: bool = False) -> list[IngestStats]:
        """Write the batches (in the held transaction if there is one); their stats, in
        order. Committed unless ``hold``: then at the latest past HOLD_EVENTS or
        HOLD_SECONDS, or at commit(). Either way a file is marked read in the transaction
        that holds its events."""
        ids: dict[tuple[Any, ...], int] = {}
        origins: dict[str, int] = {}
        if self._conn is None:
            self._txn = ExitStack()
            self._conn = self._txn.enter_context(self.db.write())
            self._since, self._held = time.monotonic(), 0
        try:
            stats = self._write(self._conn, batches, ids, origins)
        except BaseException:
            self._end(commit=False)
            raise
        self._ids.update(ids)
        self._origins.update(origins)
        self._new += [(self._ids, k) for k in ids] + [(self._origins, k) for k in origins]
        self._held += sum(len(b.rows) for b in batches)
        if not hold or self._held >= HOLD_EVENTS or time.monotonic() - self._since > HOLD_SECONDS:
            self.commit()
        return stats

    def commit(self) -> None:
        """Commit the held transaction, if any."""
        self._end(commit=True)

    def _end(self, commit: bool) -> None:
        txn, self._txn, self._conn = self._txn, None, None
        if txn is None:
            return
        done = False
        try:
            if commit:
                txn.close()  # COMMIT (a failure rolls back, and raises)
                done = True
            else:
                txn.__exit__(_Abort, _Abort(), None)  # ROLLBACK
        finally:
            if not done:  # the ids it gave are not in the cache
                for table, k in self._new:
                    table.pop(k, None)
            self._new = []
            if len(self._ids) > 2_000_000:  # bounded memory on a cache of many values
                self._ids.clear()

    # ------------------------------------------------------------------ dictionaries

    def _intern(
        self, c: sqlite3.Connection, values: set[tuple[Any, ...]], new: dict[tuple[Any, ...], int]
    ) -> None:
        """Find or add every value (table number, *columns) not known yet; into ``new``."""
        by_table: dict[int, list[tuple[Any, ...]]] = {}
        for v in values:
            if v not in self._ids:
                by_table.setdefault(v[0], []).append(v)
        for tno, wanted in by_table.items():
            table = TABLES[tno]
            cols = DICTS[table]
            safe: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
            for v in wanted:
                safe.setdefault(_clean_tuple(v[1:]), []).append(v)
            firsts = list({k[0] for k in safe})
            for i in range(0, len(firsts), _PROBE):
                part = firsts[i : i + _PROBE]
                q = (
                    f"SELECT id, {', '.join(cols)} FROM {table} "
                    f"WHERE {cols[0]} IN ({','.join('?' * len(part))})"
                )
                for row in c.execute(q, part):
                    for v in safe.pop(tuple(row[1:]), ()):
                        new[v] = int(row[0])
            if not safe:
                continue
            nid = int(c.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])
            rows = []
            for k, vs in safe.items():
                nid += 1
                rows.append((nid, *k, ipv4_int(k[0])) if table == "ips" else (nid, *k))
                for v in vs:
                    new[v] = nid
            marks = ",".join("?" * len(rows[0]))
            cnames = ", ".join(("id", *cols, "v4") if table == "ips" else ("id", *cols))
            c.executemany(f"INSERT INTO {table} ({cnames}) VALUES ({marks})", rows)

    def _origin(
        self,
        c: sqlite3.Connection,
        b: FileBatch,
        new: dict[str, int],
        known_roots: list[tuple[int, str]],
    ) -> int:
        oid = self._origins.get(b.origin) or new.get(b.origin)
        if oid is None:
            oid = new[b.origin] = ensure_origin(c, b.origin, b.kind, known_roots)
        return oid

    # ------------------------------------------------------------------ the transaction

    def _existing(
        self, c: sqlite3.Connection, keys: Sequence[bytes | str], first: int
    ) -> dict[bytes | str, tuple[int, int]]:
        """eventID key -> (event id, first origin) of those cached before event ``first``."""
        out: dict[bytes | str, tuple[int, int]] = {}
        for i in range(0, len(keys), _PROBE):
            part = keys[i : i + _PROBE]
            q = (
                "SELECT x.eid, x.event, c.origin FROM eids x JOIN events e ON e.id = x.event "
                "JOIN chunks c ON c.id = e.chunk "
                f"WHERE x.eid IN ({','.join('?' * len(part))}) AND x.event < ?"
            )
            for k, rid, origin in c.execute(q, [*part, first]):
                out[k] = (int(rid), int(origin))
        return out

    def _write(
        self,
        c: sqlite3.Connection,
        batches: Sequence[FileBatch],
        new_ids: dict[tuple[Any, ...], int],
        new_origins: dict[str, int],
    ) -> list[IngestStats]:
        """The eventID keys go in first, optimistically and in key order (INSERT OR IGNORE:
        the eids table is the dedupe probe, and a write walks its pages once, in order); only
        when some were already cached are those found and taken out of what follows (their
        events, chunks, resources, keys), as extra origins."""
        self._intern(c, {v for b in batches for v in b.values}, new_ids)
        ids = self._ids
        first = next_event = int(
            c.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM events").fetchone()[0]
        )
        # chunk ids too: a chunk all of whose events were cached before leaves a gap
        next_chunk = int(c.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM chunks").fetchone()[0])
        known_roots = roots(c)
        seen: dict[bytes | str, tuple[int, int]] = {}  # this write's events: key -> id, origin
        events: list[tuple[Any, ...]] = []
        extra: list[tuple[int, int]] = []
        plans = []
        # postings: (column, value, chunk); a batch of one chunk gives its values (a superset
        # when some of its events were cached before, or a value only a resource or an issued
        # key holds: a filter checks every row postings lead to), a bigger one its rows'
        posts: set[tuple[int, int, int]] = set()
        many: list[tuple[Any, ...]] = []
        for b in batches:
            st = IngestStats(duplicates=b.duplicates)
            oid = self._origin(c, b, new_origins, known_roots)
            g = [ids.get(v) or new_ids[v] for v in b.values]
            cbase = next_chunk
            next_chunk += len(b.chunks)
            event_of: list[int | None] = []
            for r in b.rows:
                hit = seen.get(r[0])
                if hit is not None:  # twice in this write
                    st.duplicates += 1
                    event_of.append(None)
                    if hit[1] != oid:
                        extra.append((hit[0], oid))
                    continue
                rid = next_event
                next_event += 1
                seen[r[0]] = (rid, oid)
                event_of.append(rid)
                events.append(
                    (rid, r[0], None if r[1] is None else clean(r[1]), r[2], cbase + r[3], r[4],
                     g[r[5]], g[r[6]], g[r[7]], g[r[8]], g[r[9]], g[r[10]], g[r[11]], g[r[12]])
                )  # fmt: skip
            plans.append((b, st, oid, g, event_of, cbase))
            if len(b.chunks) == 1:  # its postings: the batch's own values, no row read
                posts.update((col, g[k], cbase) for k, v in enumerate(b.values)
                             if (col := _POSTED_OF.get(v[0])) is not None)  # fmt: skip
            else:
                many.extend(events[len(events) - sum(1 for x in event_of if x is not None) :])
        try:
            order = sorted(seen)
        except TypeError:  # SQLite's order: text (an eventID that is not a UUID) before blobs
            order = sorted(seen, key=lambda k: (isinstance(k, bytes), k))
        before = c.total_changes
        _insert_many(c, "INSERT OR IGNORE INTO eids VALUES", 2, [(k, seen[k][0]) for k in order])
        missing: dict[int, tuple[int, int]] = {}  # optimistic id -> the cached event's
        if c.total_changes - before != len(events):
            found = self._existing(c, order, first)
            missing = {seen[k][0]: hit for k, hit in found.items()}
            events = [e for e in events if e[0] not in missing]
            extra = [(missing.get(ev, (ev, 0))[0], o) for ev, o in extra]
        _insert_many(c, "INSERT INTO events VALUES", 14, events)
        post(c, [e for e in many if e[0] not in missing] if missing else many)
        _insert_many(c, "INSERT OR IGNORE INTO postings VALUES", 3, sorted(posts))
        return self._rest(c, plans, missing, extra)

    def _rest(
        self,
        c: sqlite3.Connection,
        plans: list[tuple[FileBatch, IngestStats, int, list[int], list[int | None], int]],
        missing: dict[int, tuple[int, int]],
        extra: list[tuple[int, int]],
    ) -> list[IngestStats]:
        """Chunks (those holding a new event), resources, issued keys, tampering targets,
        extra origins and file records."""
        now = int(time.time())
        chunks: list[tuple[Any, ...]] = []
        blobs: list[tuple[int, bytes]] = []
        resources: list[tuple[int, int, int, int]] = []
        issued: list[tuple[int, int]] = []
        targets: list[tuple[int, int, str]] = []
        files: list[tuple[int, FileRecord]] = []
        out: list[IngestStats] = []
        for b, st, oid, g, event_of, cbase in plans:
            out.append(st)
            done: set[int] = set()
            for k, r in enumerate(b.rows):
                rid = event_of[k]
                if rid is None:
                    continue
                hit = missing.get(rid)
                if hit is not None:  # cached before: an extra origin, not an event
                    st.duplicates += 1
                    event_of[k] = None
                    if hit[1] != oid:
                        extra.append((hit[0], oid))
                    continue
                cno = r[3]
                if cno not in done:
                    done.add(cno)
                    blob, n, t_min, t_max = b.chunks[cno]
                    chunks.append((cbase + cno, oid, n, t_min, t_max, rid, len(blob)))
                    blobs.append((cbase + cno, blob))
            st.added = len(b.rows) - (st.duplicates - b.duplicates)
            for row, pos, name, typ in b.resources:
                ev = event_of[row]
                if ev is not None:
                    resources.append((ev, pos, g[name], g[typ]))
            for row, key in b.issued:
                ev = event_of[row]
                if ev is not None:
                    issued.append((g[key], ev))
            for row, target in b.targets:
                ev = event_of[row]
                if ev is not None:
                    targets.append((ev, b.rows[row][2], clean(target)))
            if b.file is not None:
                files.append((oid, b.file))
        self._record_files(c, files, now)
        c.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)", chunks)
        c.executemany("INSERT INTO blobs VALUES (?, ?)", blobs)
        c.executemany("INSERT OR IGNORE INTO resources VALUES (?, ?, ?, ?)", resources)
        c.executemany("INSERT OR IGNORE INTO issued_keys VALUES (?, ?)", issued)
        c.executemany("INSERT INTO tampering VALUES (?, ?, ?)", targets)
        c.executemany("INSERT OR IGNORE INTO extra_origins VALUES (?, ?)", extra)
        return out

    @staticmethod
    def _record_files(c: sqlite3.Connection, files: list[tuple[int, FileRecord]], now: int) -> None:
        """What was read of each file, and (one row a file) what it lost: a file read again
        replaces what was said of it."""
        rows, rejects = [], []
        for oid, f in files:
            lost = reject_summary(f)
            rows.append(
                (oid, f.size, f.mtime_ns, f.etag, f.events,
                 0 if lost is None else max(lost[2], 1), clean(f.error), now)
            )  # fmt: skip
            if lost is not None:
                rejects.append((clean(f.uri), clean(lost[0]), clean(lost[1]), lost[2], now))
        again = [
            (oid,)
            for oid, _ in files
            if c.execute("SELECT 1 FROM files WHERE origin = ?", (oid,)).fetchone() is not None
        ]
        if again:
            c.executemany(
                "DELETE FROM rejects WHERE uri = (SELECT uri FROM origins WHERE id = ?)", again
            )
        c.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        c.executemany("INSERT INTO rejects VALUES (?, ?, ?, ?, ?)", rejects)
