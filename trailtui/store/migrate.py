"""Opening a cache: its version checked, a new one created, a version 2 cache (one wide row
and one compressed record per event) converted to the current layout, a version 3 cache given
its postings (version 4: the chunks that hold each value), a version 4 one its eids table
(version 5: the eventID keys in a table of their own, not an index on events) and a version 5
one its tampering table (version 6: what each tampering call acted on, read once from the
records); each of these in one transaction, in place. The tampering table is filled again
the same way when the list of calls it keeps (records/tampering.py's CALLS) has changed.

The conversion writes a new file beside the old one and renames it over the old one only when
it is complete, so a crash (or kill -9) at any moment leaves either the old cache, which is
converted again next time, or the new one: never half of each, never nothing. Nothing is
parsed again: the normalized columns and the exact stored records are carried over.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zstandard

from ..records.tampering import CALLS, target_in
from .batch import (
    T_ACCOUNT,
    T_AGENT,
    T_ERROR,
    T_IP,
    T_KEY,
    T_KIND,
    T_PRINCIPAL,
    T_REGION,
    BatchBuilder,
    FileBatch,
)
from .codec import decompress_chunk, eid_key, raw_record_bytes
from .db import Database, StoreError
from .ingest import Writer, clean, post
from .origins import like_prefix
from .schema import EIDS, NEWEST_TABLE, POSTINGS, SCHEMA, SCHEMA_VERSION, TAMPERING

# the calls whose targets a cache keeps, as its meta table says them
CALLS_KEY = ",".join(sorted(CALLS))
Progress = Callable[[int, int], None]  # (events converted, events in all)


def schema_version(db: Database) -> int | None:
    """The cache's schema version (None: an empty file, a new cache)."""
    try:
        with db.conn() as c:
            try:
                row = c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            except sqlite3.OperationalError as e:
                if "no such table" not in str(e):
                    raise
                if c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise StoreError(f"{db.path} is not a trailtui cache") from None
                return None
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{db.path} is not a trailtui cache: {e}") from e
    if row is None:
        raise StoreError(f"{db.path} is not a trailtui cache")
    try:
        return int(row[0])
    except ValueError:
        raise StoreError(f"{db.path} has schema version {row[0]!r}") from None


def create_schema(db: Database) -> None:
    """A new cache's tables (a plain open of a complete cache writes nothing)."""
    with db.conn() as c:
        done = c.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (NEWEST_TABLE,)).fetchone()
        if done is not None:
            return
        c.executescript(
            "BEGIN IMMEDIATE;"
            + SCHEMA
            + f"INSERT OR REPLACE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
            + f"INSERT OR REPLACE INTO meta VALUES ('tampering_calls', '{CALLS_KEY}');"
            + "COMMIT;"
        )


def add_postings(db: Database, progress: Progress | None = None) -> None:
    """Version 3 -> 4: the postings, from the events already cached (one transaction: a crash
    leaves version 3, which is upgraded again next time)."""
    with db.write() as c:
        row = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or row[0] != "3":  # another process did it meanwhile
            return
        c.execute(POSTINGS)
        top = int(c.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
        step = 100_000
        for first in range(1, top + 1, step):
            rows = c.execute(
                "SELECT * FROM events WHERE id BETWEEN ? AND ?", (first, first + step - 1)
            ).fetchall()
            post(c, rows)
            if progress is not None:
                progress(min(first + step - 1, top), top)
        c.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")


def add_eids(db: Database, progress: Progress | None = None) -> None:
    """Version 4 -> 5: the eventID keys move from an index on events to a table of their own
    (one transaction: a crash leaves version 4, which is upgraded again next time)."""
    with db.write() as c:
        row = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or row[0] != "4":  # another process did it meanwhile
            return
        top = int(c.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
        if progress is not None:
            progress(0, top)
        c.execute(EIDS)
        c.execute("INSERT INTO eids SELECT eid, id FROM events ORDER BY eid")
        c.execute("DROP INDEX IF EXISTS events_eid")
        c.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
        if progress is not None:
            progress(top, top)


def tampering_current(db: Database) -> bool:
    """Whether the cache's tampering table keeps today's calls (a version 6 cache made by a
    trailtui whose table of tampering calls was another is filled again)."""
    row = db.one("SELECT value FROM meta WHERE key = 'tampering_calls'")
    return row is not None and row[0] == CALLS_KEY


def add_tampering(db: Database, progress: Progress | None = None) -> None:
    """Version 5 -> 6, or a table of another list of calls: the tampering table from the
    records already cached (the calls' records read once, a chunk at a time; one transaction:
    a crash leaves the cache as it was, which is done again next time)."""
    with db.write() as c:
        version = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        calls = c.execute("SELECT value FROM meta WHERE key = 'tampering_calls'").fetchone()
        if version is None or version[0] not in ("5", "6"):
            return
        if version[0] == "6" and calls is not None and calls[0] == CALLS_KEY:
            return  # another process did it meanwhile
        for ddl in filter(None, TAMPERING.split(";\n")):  # (a script would commit)
            c.execute(ddl)
        c.execute("DELETE FROM tampering")
        names = sorted(CALLS)
        rows = c.execute(
            "SELECT e.id, e.ts, e.chunk, e.idx FROM events e JOIN kinds k ON k.id = e.kind "
            f"WHERE k.name IN ({','.join('?' * len(names))}) ORDER BY e.chunk, e.idx",
            names,
        ).fetchall()
        if progress is not None:
            progress(0, len(rows))
        out: list[tuple[int, int, str]] = []
        lines: list[bytes] = []
        at = None
        for n, (event, ts, chunk, idx) in enumerate(rows, 1):
            if chunk != at:
                at = chunk
                blob = c.execute("SELECT data FROM blobs WHERE chunk = ?", (chunk,)).fetchone()
                try:
                    lines = decompress_chunk(bytes(blob[0])).split(b"\n") if blob else []
                except zstandard.ZstdError:  # a damaged chunk: its calls without a target
                    lines = []
            target = target_in(lines[idx]) if idx < len(lines) else ""
            out.append((int(event), int(ts), clean(target)))
            if progress is not None and n % 10_000 == 0:
                progress(n, len(rows))
        c.executemany("INSERT INTO tampering VALUES (?, ?, ?)", out)
        c.execute("INSERT OR REPLACE INTO meta VALUES ('tampering_calls', ?)", (CALLS_KEY,))
        c.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
        if progress is not None:
            progress(len(rows), len(rows))


_V2_EVENTS = (
    "SELECT id, event_id, ts, name, source, region, account, principal, principal_type, "
    "principal_arn, user_name, session_name, lookup_username, access_key, invoked_by, "
    "source_identity, source_ip, user_agent, error_code, read_only, event_type, category, raw "
    "FROM events WHERE id > ? ORDER BY id LIMIT ?"
)

STEP = 5000  # v2 events read at a time
WRITE = 20000  # events per write transaction


def convert_v2(path: Path, progress: Progress | None = None) -> None:
    """Convert the version 2 cache at ``path`` to version 3, in place and crash-safe."""
    tmp = path.with_name(path.name + ".v3-converting")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    old = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        old.execute("PRAGMA busy_timeout=60000")
        old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        new = Database(tmp)
        try:
            create_schema(new)
            _convert(old, new, progress)
            with new.conn() as c:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                c.execute("PRAGMA journal_mode=DELETE")
        finally:
            new.close()
    finally:
        old.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for p in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _convert(old: sqlite3.Connection, new: Database, progress: Progress | None) -> None:
    total = int(old.execute("SELECT count(*) FROM events").fetchone()[0])
    v2_origins = {
        int(i): (str(u), str(k)) for i, u, k in old.execute("SELECT id, uri, kind FROM origins")
    }
    with new.write() as c:
        ids = {
            i: int(
                c.execute(
                    "INSERT INTO origins (uri, kind) VALUES (?, ?) RETURNING id", (clean(u), k)
                ).fetchone()[0]
            )
            for i, (u, k) in sorted(v2_origins.items())
        }
        for uri, kind in v2_origins.values():
            if kind == "root":
                c.execute(
                    "INSERT OR IGNORE INTO origin_roots SELECT r.id, o.id FROM origins r, origins o "
                    "WHERE r.uri = ? AND o.id != r.id AND (o.uri = ? OR o.uri LIKE ? ESCAPE '\\')",
                    (uri, uri, like_prefix(uri)),
                )
    roots = {i for i, (_, k) in v2_origins.items() if k == "root"}
    issued: dict[int, str] = {
        int(e): str(k) for k, e in old.execute("SELECT access_key, event FROM issued_keys")
    }
    writer = Writer(new)
    pending: list[FileBatch] = []
    extra: list[tuple[bytes | str, int]] = []
    n_pending = done = last = 0
    while True:
        rows = old.execute(_V2_EVENTS, (last, STEP)).fetchall()
        if not rows:
            break
        lo, hi = rows[0][0], rows[-1][0]
        last = hi
        origins: dict[int, list[int]] = {}
        for ev, o in old.execute(
            "SELECT event, origin FROM event_origins WHERE event BETWEEN ? AND ? ORDER BY event, origin",
            (lo, hi),
        ):
            if o not in roots:
                origins.setdefault(int(ev), []).append(int(o))
        resources: dict[int, list[tuple[str, str]]] = {}
        for ev, typ, name in old.execute(
            "SELECT event, type, name FROM resources WHERE event BETWEEN ? AND ? ORDER BY rowid",
            (lo, hi),
        ):
            resources.setdefault(int(ev), []).append((str(typ), str(name)))
        builder: BatchBuilder | None = None
        for r in rows:
            rid = int(r[0])
            ors = origins.get(rid) or [0]
            first = ors[0]
            uri, kind = v2_origins.get(first, ("cache-v2", "v2"))
            if builder is None or builder.batch.origin != uri:
                if builder is not None:
                    pending.append(builder.finish())
                builder = BatchBuilder(uri, kind)
            _add_v2(builder, r, resources.get(rid, []), issued.get(rid, ""))
            extra.extend((eid_key(str(r[1]))[0], ids[o]) for o in ors[1:] if o in ids)
            n_pending += 1
        if builder is not None:
            pending.append(builder.finish())
        done += len(rows)
        if n_pending >= WRITE:
            _flush(writer, pending, extra)
            pending, extra, n_pending = [], [], 0
        if progress is not None:
            progress(done, total)
    _flush(writer, pending, extra)
    _copy_rest(old, new, ids)


def _add_v2(b: BatchBuilder, r: Any, resources: list[tuple[str, str]], issued: str) -> None:
    (_, event_id, ts, name, source, region, account, display, ptype, arn, user_name, session,
     lookup_username, access_key, invoked_by, source_identity, ip, agent, error_code, ro,
     event_type, category, raw) = r  # fmt: skip
    L = b.value
    b.add(
        str(event_id),
        int(ts),
        raw_record_bytes(bytes(raw)),
        (
            L((T_KIND, name, source, event_type, category, ro)),
            L((T_REGION, region)),
            L((T_ACCOUNT, account)),
            L((T_PRINCIPAL, display, ptype, arn, user_name, session, lookup_username,
               invoked_by, source_identity)),
            L((T_KEY, access_key)),
            L((T_IP, ip)),
            L((T_AGENT, agent)),
            L((T_ERROR, error_code)),
        ),
        resources,
        issued,
        name,
    )  # fmt: skip


def _flush(writer: Writer, batches: list[FileBatch], extra: list[tuple[bytes | str, int]]) -> None:
    if batches:
        writer.write(batches)
    if not extra:
        return
    with writer.db.write() as c:
        for i in range(0, len(extra), 500):
            part = extra[i : i + 500]
            got = {
                k: int(v)
                for k, v in c.execute(
                    f"SELECT eid, event FROM eids WHERE eid IN ({','.join('?' * len(part))})",
                    [k for k, _ in part],
                )
            }
            c.executemany(
                "INSERT OR IGNORE INTO extra_origins VALUES (?, ?)",
                [(got[k], o) for k, o in part if k in got],
            )


def _copy_rest(old: sqlite3.Connection, new: Database, ids: dict[int, int]) -> None:
    """Files read, what they lost, coverage and settings."""
    with new.write() as c:
        for uri, size, mtime_ns, etag, events, rejected, error, at in old.execute(
            "SELECT uri, size, mtime_ns, etag, events, rejected, error, ingested_at FROM files"
        ):
            row = c.execute("SELECT id FROM origins WHERE uri = ?", (uri,)).fetchone()
            oid = (
                int(row[0])
                if row is not None
                else int(
                    c.execute(
                        "INSERT INTO origins (uri, kind) VALUES (?, 'file') RETURNING id", (uri,)
                    ).fetchone()[0]
                )
            )
            c.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (oid, size, mtime_ns, etag, events, rejected, error, at),
            )
        lost: dict[str, list[Any]] = {}
        for uri, location, reason, at in old.execute(
            "SELECT uri, location, reason, at FROM rejects ORDER BY rowid"
        ):
            lost.setdefault(uri, []).append((location, reason, at))
        for uri, items in lost.items():
            records = [x for x in items if x[0] != uri and not str(x[0]).endswith(uri)]
            where, why, at = (records or items)[0]
            n = len(records)
            reason = f"{n:,} record{'s' if n != 1 else ''} rejected (first: {why})" if n else why
            c.execute("INSERT INTO rejects VALUES (?, ?, ?, ?, ?)", (uri, where, reason, n, at))
        c.executemany(
            "INSERT OR REPLACE INTO coverage VALUES (?, ?, ?, ?, ?, ?, ?)",
            old.execute("SELECT * FROM coverage").fetchall(),
        )
        c.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            old.execute("SELECT key, value FROM meta WHERE key != 'schema_version'").fetchall(),
        )
