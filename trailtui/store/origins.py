"""Which source each event came from, and scopes (``--from``): an origin is a file, an object,
a LookupEvents target or the demo; a root is a folder or a trail location holding many of them.

An event's first origin is its chunk's (no per-event row); an origin that gives the same event
again is an ``extra_origins`` row. Roots map to the origins under them (``origin_roots``, one
row per file, not per event), so a folder of thousands of files is one scope id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from .db import Database


def like_prefix(base: str) -> str:
    """A LIKE pattern (ESCAPE '\\') for what lies under base/."""
    return base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


def under(uri: str, root: str) -> bool:
    return uri == root or uri.startswith(root + "/")


def roots(c: sqlite3.Connection) -> list[tuple[int, str]]:
    return [
        (int(i), str(u)) for i, u in c.execute("SELECT id, uri FROM origins WHERE kind = 'root'")
    ]


def ensure_origin(
    c: sqlite3.Connection, uri: str, kind: str, known_roots: list[tuple[int, str]] | None = None
) -> int:
    """The id of an origin, created (and given the roots it lies under) if new.
    ``known_roots``: roots(c), when the caller has it (a writer asks once a transaction)."""
    row = c.execute("SELECT id FROM origins WHERE uri = ?", (uri,)).fetchone()
    if row is not None:
        return int(row[0])
    oid = int(
        c.execute(
            "INSERT INTO origins (uri, kind) VALUES (?, ?) RETURNING id", (uri, kind)
        ).fetchone()[0]
    )
    mine = [
        (rid, oid)
        for rid, root in (roots(c) if known_roots is None else known_roots)
        if rid != oid and under(uri, root)
    ]
    c.executemany("INSERT OR IGNORE INTO origin_roots VALUES (?, ?)", mine)
    return oid


def scope_sql(scope: Sequence[int] | None) -> str:
    """A condition over ``events e``: the event came from one of the origins (or roots)."""
    if scope is None:
        return ""
    if not scope:
        return "0"
    ids = ",".join(str(int(i)) for i in sorted(set(scope)))
    cond = f"IN ({ids}) OR {{col}} IN (SELECT r.origin FROM origin_roots r WHERE r.root IN ({ids}))"
    return (
        f"(e.chunk IN (SELECT c.id FROM chunks c WHERE c.origin {cond.format(col='c.origin')})"
        f" OR e.id IN (SELECT x.event FROM extra_origins x WHERE x.origin "
        f"{cond.format(col='x.origin')}))"
    )


class Origins:
    def __init__(self, db: Database) -> None:
        self.db = db

    def origin_id(self, uri: str, kind: str = "file") -> int:
        if self.db.readonly:
            row = self.db.one("SELECT id FROM origins WHERE uri = ?", (uri,))
            return -1 if row is None else int(row[0])
        with self.db.write() as c:
            return ensure_origin(c, uri, kind)

    def root_scope(self, uri: str) -> list[int]:
        """The scope of a folder or a trail location: one id for everything read under it,
        however many files or objects it has (and whenever they were read)."""
        base = uri.rstrip("/")
        with self.db.write() as c:
            row = c.execute("SELECT id, kind FROM origins WHERE uri = ?", (base,)).fetchone()
            if row is not None and row[1] == "root":
                return [int(row[0])]
            if row is None:
                rid = int(
                    c.execute(
                        "INSERT INTO origins (uri, kind) VALUES (?, 'root') RETURNING id", (base,)
                    ).fetchone()[0]
                )
            else:  # a source of that very name (a lookup key, a file): it becomes a root too
                rid = int(row[0])
                c.execute("UPDATE origins SET kind = 'root' WHERE id = ?", (rid,))
            c.execute(
                "INSERT OR IGNORE INTO origin_roots SELECT ?, id FROM origins "
                "WHERE id != ? AND (uri = ? OR uri LIKE ? ESCAPE '\\')",
                (rid, rid, base, like_prefix(base)),
            )
        return [rid]

    def origins_under(self, prefixes: Sequence[str]) -> list[int]:
        """Origin ids whose uri equals or lies under any of the prefixes (a root stands for
        everything under it)."""
        out: set[int] = set()
        for p in prefixes:
            base = p.rstrip("/")
            rows = self.db.all(
                "SELECT id, uri, kind FROM origins WHERE uri = ? OR uri LIKE ? ESCAPE '\\'",
                (base, like_prefix(base)),
            )
            roots = [(int(i), u) for i, u, k in rows if k == "root"]
            out.update(i for i, _ in roots)
            out.update(
                int(i) for i, u, k in rows if k != "root" and not any(under(u, r) for _, r in roots)
            )
        return sorted(out)
