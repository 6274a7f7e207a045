"""Reading the cache: windows of rows (newest first), counts, raw records, positions.

A filter becomes a plan: its SQL (filter/sql.py), the scope, and what can be known before any
event is read (a dictionary lookup that finds nothing: no event can match). Then:

* no filter, or one the time index answers: walk the ts index newest first (ms);
* field filters: walk the ts index for a short budget (a common filter fills a page at once);
  past the budget the filter is rare, so scan the table once instead of visiting it in ts
  order row by row (``NOT INDEXED``: a few hundred ms on a million events instead of seconds);
* free words and raw-record fields: scan the chunks newest first and stop as soon as the page
  is certain (scan.py; words.py finds the lines; SQL checks the rest on those rows only).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..filter.language import Filter
from ..filter.sql import to_sql
from .codec import eid_key, eid_text
from .db import Database, Interrupted
from .origins import scope_sql
from .scan import ChunkScans, Plan

# SQLite steps: walking the ts index longer than this means the filter is rare (~50 ms on this
# machine; counted in steps, not seconds, so a busy moment can't turn a common filter's 20 ms
# walk into a 250 ms scan of the table, as a 40 ms deadline did)
INDEX_STEPS = 1_000_000
MAX_RANGES = 400  # id ranges in one WHERE (SQLite's expressions nest at most 1000 deep)

LIST_SQL = (
    "SELECT e.id AS id, e.eid AS eid, e.eid_text AS eid_text, e.ts AS ts, k.name AS name, "
    "k.source AS source, k.read_only AS read_only, p.display AS principal, i.s AS source_ip, "
    "g.s AS region, a.s AS account, r.code AS error_code "
    "FROM events e JOIN kinds k ON k.id = e.kind JOIN principals p ON p.id = e.principal "
    "JOIN ips i ON i.id = e.ip JOIN regions g ON g.id = e.region "
    "JOIN accounts a ON a.id = e.account JOIN errors r ON r.id = e.error"
)


@dataclass(slots=True, frozen=True)
class Call:
    """A call of the tampering table: what pairing it with the call that undid it needs."""

    event_id: str
    time: datetime
    name: str
    region: str
    who: str
    error: str
    target: str  # what it acted on ('' when its request does not say)


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


class Queries(ChunkScans):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._scan_lock = threading.Lock()

    # ------------------------------------------------------------------ plans

    def plan(self, f: Filter, scope: Sequence[int] | None) -> Plan:
        sql = to_sql(f)
        where, params = sql.where, list(sql.params)
        base, base_params = sql.base, list(sql.base_params)
        sc = scope_sql(scope)
        p = Plan(where, params, base, base_params, sql.raw, sql.raw_fields, sql.terms)
        p.row_raw = sql.row_raw
        p.since = None if f.since is None else int(f.since.timestamp() * 1000)
        p.until = None if f.until is None else int(f.until.timestamp() * 1000)
        if sc:
            p.where = sc if where == "1" else f"{where} AND {sc}"
            p.base = sc if base == "1" else f"{base} AND {sc}"
        p.empty = sc == "0" or any(self.db.one(q, ps) is None for q, ps in sql.probes)
        p.indexed = not sc and not sql.terms and not sql.raw
        if not p.empty and sql.postings:
            p.chunks = self._posted(sql.postings)
            if p.chunks is not None and not p.chunks:
                p.empty = True
            elif p.chunks is not None:
                ranges = self._ranges(p.chunks)
                if ranges:  # (base stays whole: the chunk scan reads its chunks' ranges)
                    p.where = f"({ranges}) AND {p.where}"
                    p.narrowed = True
        return p

    def _posted(self, postings: list[tuple[int, str, list[Any]]]) -> set[int] | None:
        """The chunks whose postings hold a value of every term (None: too many to be worth
        reading alone; each column's look-up stops past that many). Terms on one column are
        one look-up, of the values all of them allow (``source:iam readonly:false``: the
        chunks holding an IAM call that writes, not those holding an IAM call and a write)."""
        top = self.db.one("SELECT count(*) FROM chunks")
        cap = max(64, int(top[0] if top else 0) // 4)
        by_col: dict[int, tuple[list[str], list[Any]]] = {}
        for col, ids, params in postings:
            conds, ps = by_col.setdefault(col, ([], []))
            conds.append(f"value IN ({ids})")
            ps.extend(params)
        chosen: set[int] | None = None
        for col, (conds, params) in by_col.items():
            rows = self.db.all(
                f"SELECT DISTINCT chunk FROM postings WHERE col = {col} AND "
                f"{' AND '.join(conds)} LIMIT {cap + 1}",
                params,
            )
            if len(rows) > cap:
                continue
            got = {int(r[0]) for r in rows}
            chosen = got if chosen is None else chosen & got
            if not chosen:
                break
        return chosen

    def _ranges(self, chunks: set[int]) -> str:
        """The chunks' event ids as an OR of id ranges (adjacent ones merged); '' when that
        would be more than SQL takes in one expression."""
        spans = self._spans(chunks)
        if len(spans) > MAX_RANGES:
            return ""
        return " OR ".join(f"e.id BETWEEN {a} AND {b}" for a, b in spans)

    def _spans(self, chunks: set[int]) -> list[tuple[int, int]]:
        rows = self.db.all(
            f"SELECT first_event, n FROM chunks WHERE id IN ({','.join(map(str, chunks))}) "
            "ORDER BY first_event"
        )
        spans: list[tuple[int, int]] = []
        for first, n in rows:
            a, b = int(first), int(first) + int(n) - 1
            if spans and a <= spans[-1][1] + 1:
                spans[-1] = (spans[-1][0], max(b, spans[-1][1]))
            else:
                spans.append((a, b))
        return spans

    def where(
        self,
        f: Filter,
        scope: Sequence[int] | None,
        cancelled: Callable[[], bool] | None = None,
    ) -> tuple[str, list[Any]]:
        """WHERE over ``events e`` and its parameters (raw conditions narrowed to the chunks
        holding their needles: a pass over the chunks, which ``cancelled`` can stop)."""
        p = self.plan(f, scope)
        return ("0", []) if p.empty else (self.narrowed(p, cancelled).where, p.params)

    # ------------------------------------------------------------------ ids, newest first

    def ids(
        self,
        p: Plan,
        offset: int,
        limit: int | None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[tuple[int, int]]:
        """(id, ts) of the matching events, newest first."""
        if p.empty or limit == 0:
            return []
        # the chunk scan: newest chunks first, stopping once the page is certain
        scan = p.chunks is not None and (limit is not None or not p.narrowed)
        if p.raw or p.raw_fields or scan:
            end = None if limit is None else offset + limit
            with self._scan_lock:
                found = self._scan(p, end, cancelled)
                return [(i, t) for t, i in found[offset:end]]
        tail = " LIMIT ? OFFSET ?"
        params = [*p.params, -1 if limit is None else limit, offset]
        q = f"SELECT e.id, e.ts FROM events e {{hint}} WHERE {p.where} ORDER BY e.ts DESC, e.id DESC"
        if p.indexed or limit is None or p.narrowed:
            hint = "NOT INDEXED" if p.narrowed else ""  # the ranges, not the ts index
            with self.db.reading(cancelled) as c:
                rows = c.execute(q.format(hint=hint) + tail, params)
                return [(int(a), int(b)) for a, b in rows]
        try:
            with self.db.reading(cancelled, INDEX_STEPS) as c:
                return [(int(a), int(b)) for a, b in c.execute(q.format(hint="") + tail, params)]
        except Interrupted:
            if cancelled is not None and cancelled():
                raise
        with self.db.reading(cancelled) as c:
            rows = c.execute(q.format(hint="NOT INDEXED") + tail, params)
            return [(int(a), int(b)) for a, b in rows]

    # ------------------------------------------------------------------ rows

    def rows(self, ids: Sequence[int]) -> list[Row]:
        if not ids:
            return []
        inlist = ",".join(str(int(i)) for i in ids)
        with self.db.conn() as c:
            cur = c.execute(f"{LIST_SQL} WHERE e.id IN ({inlist})")
            cur.row_factory = sqlite3.Row
            got = {int(r["id"]): r for r in cur}
            res: dict[int, list[str]] = {}
            for ev, name in c.execute(
                "SELECT r.event, d.s FROM resources r JOIN rnames d ON d.id = r.name "
                f"WHERE r.event IN ({inlist}) ORDER BY r.event, r.pos"
            ):
                res.setdefault(int(ev), []).append(str(name))
        out = []
        for i in ids:
            r = got.get(int(i))
            if r is not None:
                out.append(_row(r, ", ".join(res.get(int(i), ()))))
        return out

    def window(
        self,
        f: Filter,
        offset: int,
        limit: int,
        scope: Sequence[int] | None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[Row]:
        p = self.plan(f, scope)
        return self.rows([i for i, _ in self.ids(p, offset, limit, cancelled)])

    def count(
        self, f: Filter, scope: Sequence[int] | None, cancelled: Callable[[], bool] | None = None
    ) -> int:
        p = self.plan(f, scope)
        if p.empty:
            return 0
        p = self.narrowed(p, cancelled)
        q = f"SELECT count(*) FROM events e WHERE {p.where}"
        if p.chunks is None or p.narrowed:
            with self.db.reading(cancelled) as c:
                return int(c.execute(q, p.params).fetchone()[0])
        spans = self._spans(p.chunks)  # too many ranges for one statement: a few at a time
        n = 0
        with self.db.reading(cancelled) as c:
            step = max(MAX_RANGES, 1)
            for i in range(0, len(spans), step):
                part = " OR ".join(f"e.id BETWEEN {a} AND {b}" for a, b in spans[i : i + step])
                q = f"SELECT count(*) FROM events e WHERE ({part}) AND {p.where}"
                n += int(c.execute(q, p.params).fetchone()[0])
        return n

    def index_of(
        self, f: Filter, rowid: int, ts: int, scope: Sequence[int] | None = None
    ) -> int | None:
        where, params = self.where(f, scope)
        q = f"SELECT 1 FROM events e WHERE e.id = ? AND {where}"
        if self.db.one(q, [rowid, *params]) is None:
            return None
        q = f"SELECT count(*) FROM events e WHERE (e.ts > ? OR (e.ts = ? AND e.id > ?)) AND {where}"
        return int(self.db.one(q, [ts, ts, rowid, *params])[0])

    def row(self, rowid: int) -> Row | None:
        got = self.rows([rowid])
        return got[0] if got else None

    def rowid_of(self, event_id: str) -> int | None:
        row = self.db.one("SELECT event FROM eids WHERE eid = ?", (eid_key(event_id)[0],))
        return None if row is None else int(row[0])

    # ------------------------------------------------------------------ raw records

    def raw(self, rowid: int) -> str | None:
        row = self.db.one("SELECT chunk, idx FROM events WHERE id = ?", (rowid,))
        if row is None:
            return None
        line = self.db.chunks.line(int(row[0]), int(row[1]))
        return None if line is None else line.decode("utf-8", "replace")

    def iter_raw(
        self, f: Filter, scope: Sequence[int] | None = None, limit: int | None = None
    ) -> Iterator[tuple[int, str]]:
        """(id, raw JSON text) of the matching events, newest first, streamed."""
        p = self.plan(f, scope)
        if p.empty:
            return
        if p.raw or p.raw_fields or limit is not None:
            ids = [i for i, _ in self.ids(p, 0, limit)]
            for k in range(0, len(ids), 500):
                part = ids[k : k + 500]
                inlist = ",".join(map(str, part))
                where = {
                    int(a): (int(b), int(c))
                    for a, b, c in self.db.all(
                        f"SELECT id, chunk, idx FROM events WHERE id IN ({inlist})"
                    )
                }
                for i in part:
                    yield from self._lines([(i, *where[i])] if i in where else [])
            return
        q = (
            f"SELECT e.id, e.chunk, e.idx FROM events e WHERE {p.where} "
            "ORDER BY e.ts DESC, e.id DESC"
        )
        with self.db.conn() as c:
            cur = c.execute(q, p.params)
            while True:
                rows = cur.fetchmany(500)
                if not rows:
                    return
                yield from self._lines([(int(a), int(b), int(d)) for a, b, d in rows])

    def tampering_calls(
        self, f: Filter, scope: Sequence[int] | None, limit: int | None
    ) -> list[Call]:
        """The calls of the tampering table matching the filter, newest first: the small
        table drives, newest first (CROSS JOIN: each of its events checked by id, until the
        limit)."""
        where, params = self.where(f, scope)
        q = (
            "SELECT e.eid, e.eid_text, e.ts, k.name, g.s, p.display, r.code, t.target "
            "FROM tampering t INDEXED BY tampering_ts CROSS JOIN events e ON e.id = t.event "
            "JOIN kinds k ON k.id = e.kind JOIN regions g ON g.id = e.region "
            "JOIN principals p ON p.id = e.principal JOIN errors r ON r.id = e.error "
            f"WHERE {where} ORDER BY t.ts DESC, t.event DESC LIMIT ?"
        )
        return [
            Call(eid_text(k, x), datetime.fromtimestamp(ts / 1000, tz=UTC), *rest)
            for k, x, ts, *rest in self.db.all(q, [*params, -1 if limit is None else limit])
        ]

    def _lines(self, rows: list[tuple[int, int, int]]) -> Iterator[tuple[int, str]]:
        for rid, chunk, idx in rows:
            line = self.db.chunks.line(chunk, idx)
            if line is not None:
                yield rid, line.decode("utf-8", "replace")

    # ------------------------------------------------------------------ the rest

    def time_range(self, scope: Sequence[int] | None = None) -> tuple[int, int] | None:
        """The oldest and the newest event's time (ms) in the scope, None when it is empty:
        each end from the ts index alone (min() and max() in one SELECT read the whole index,
        ~90 ms on a million events)."""
        where, params = self.where(Filter(), scope)
        row = self.db.one(
            f"SELECT (SELECT min(e.ts) FROM events e WHERE {where}), "
            f"(SELECT max(e.ts) FROM events e WHERE {where})",
            [*params, *params],
        )
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    def total(self) -> int:
        return int(self.db.one("SELECT count(*) FROM events")[0])

    def issuers_of(self, access_key: str) -> list[tuple[int, int]]:
        """(rowid, ts) of the STS events whose credentials carry this access key, newest first."""
        rows = self.db.all(
            "SELECT e.id, e.ts FROM issued_keys k JOIN events e ON e.id = k.event "
            "WHERE k.access_key IN (SELECT id FROM access_keys WHERE s = ? COLLATE NOCASE) "
            "ORDER BY e.ts DESC",
            (access_key,),
        )
        return [(int(a), int(b)) for a, b in rows]


def _row(r: sqlite3.Row, resources: str) -> Row:
    ro = r["read_only"]
    return Row(
        id=int(r["id"]),
        event_id=eid_text(r["eid"], r["eid_text"]),
        ts=int(r["ts"]),
        name=r["name"],
        principal=r["principal"],
        source_ip=r["source_ip"],
        region=r["region"],
        resources=resources,
        error_code=r["error_code"],
        read_only=None if ro is None else bool(ro),
        source=r["source"],
        account=r["account"],
    )
