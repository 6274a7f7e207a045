"""What the lazy sources have read (coverage: which windows of which source and filter are
complete, and the paging token where they are not), and the cache's own settings (meta)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .db import Database


@dataclass(slots=True, frozen=True)
class Coverage:
    source: str
    filter_key: str
    start: int
    end: int
    complete: bool
    next_token: str | None
    updated: int


class Coverages:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set_coverage(
        self,
        source: str,
        filter_key: str,
        start: int,
        end: int,
        complete: bool,
        next_token: str | None,
    ) -> None:
        with self.db.write() as c:
            c.execute(
                "INSERT OR REPLACE INTO coverage VALUES (?, ?, ?, ?, ?, ?, ?)",
                (source, filter_key, start, end, int(complete), next_token, int(time.time())),
            )

    def coverage(self, source: str | None = None, filter_key: str | None = None) -> list[Coverage]:
        q = "SELECT source, filter_key, start, end, complete, next_token, updated FROM coverage"
        conds: list[str] = []
        params: list[Any] = []
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
            for a, b, c, d, e, f, g in self.db.all(q, params)
        ]

    def get_meta(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.db.write() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
