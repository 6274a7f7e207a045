"""The chunk scan: filters that read the raw records (free words, raw-record fields, raw
conditions inside OR / NOT groups) read the compressed chunks, newest first, in two threads,
and SQL checks the rest on the rows of the lines they matched (store/words.py matches).

``ChunkScans`` is the part of store/queries.py's ``Queries`` that does it: a plan's raw
conditions narrowed to the chunks holding their needles (``narrowed``), and the ids of a
window found by scanning (``_scan``), remembered per filter and cache state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import zstandard

from ..filter.sql import RAW_MARK
from .codec import decompress_chunk
from .db import Database, Interrupted
from .words import Chunk, LineMatcher, SpecScan, matcher

_pool: list[ThreadPoolExecutor] = []
_T = TypeVar("_T")


def _threads() -> ThreadPoolExecutor:
    """Two threads for chunk scans (made once, on the first scan)."""
    if not _pool:
        _pool.append(ThreadPoolExecutor(2, thread_name_prefix="trailtui-scan"))
    return _pool[0]


CANDIDATES = 200_000  # rows of field terms the word scan tests one by one, at most
TASK_BYTES = 64 * 1024  # compressed chunks a scan thread reads at a time, about
KEEP_LINES = 16  # a chunk's matched lines kept for reading the page (when no more match)


@dataclass(slots=True)
class Plan:
    """What a filter becomes (Queries.plan): its SQL, and what is known before any event is
    read."""

    where: str
    params: list[Any]
    base: str = "1"  # without the top level's free words and raw-record terms
    base_params: list[Any] = field(default_factory=list)
    raw: str = ""  # those words and terms, as filter text (a LineMatcher's spec)
    raw_fields: bool = False
    terms: int = 0  # field terms (not time, not words, not scope)
    empty: bool = False  # certain to match nothing
    indexed: bool = False  # the ts index alone answers it (no filter, or only a time window)
    # the chunks that may hold a match (their postings hold a value of every positive term on
    # a dictionary column), when that is few of them; None: any chunk may
    chunks: set[int] | None = None
    narrowed: bool = False  # where reads only those chunks' rows (few enough ranges)
    since: int | None = None
    until: int | None = None
    row_raw: list[str] = field(default_factory=list)  # see filter.sql.SQL.row_raw

    def key(self) -> tuple[Any, ...]:
        return (self.where, tuple(map(repr, self.params)))


COMMON_AFTER = 64  # chunks: a raw condition whose needles more than half of them hold
# narrows nothing (its rows are checked one by one, as without needles)


def _row_ranges(spans: list[tuple[int, int, set[int] | None]]) -> str:
    """The rows of some chunks (first id, last id, the lines wanted or None for all) as SQL:
    neighbours wanted whole merged into one range."""
    out: list[str] = []
    run: list[int] | None = None  # [first, last] of the range being merged
    for a, b, lines in sorted(spans, key=lambda x: x[0]):
        if lines is None:
            if run is not None and a == run[1] + 1:
                run[1] = b
                continue
            if run is not None:
                out.append(f"e.id BETWEEN {run[0]} AND {run[1]}")
            run = [a, b]
            continue
        out.append(f"(e.id BETWEEN {a} AND {b} AND e.idx IN ({','.join(map(str, lines))}))")
    if run is not None:
        out.append(f"e.id BETWEEN {run[0]} AND {run[1]}")
    return " OR ".join(out)


def narrowed_sql(text: str, specs: Sequence[str], held: dict[str, set[int]]) -> str:
    """SQL with each raw condition's marker replaced by the chunks that may hold a match of
    it (``held``; absent: any chunk may)."""
    for i, spec in enumerate(specs):
        got = held.get(spec)
        if got is None:
            continue
        cond = f"e.chunk IN ({','.join(map(str, sorted(got)))}) AND " if got else "0 AND "
        text = text.replace(RAW_MARK.format(i), cond)
    return text


@dataclass(slots=True)
class _Scan:
    """How far a chunk scan got (a longer window of the same filter goes on from there)."""

    found: list[tuple[int, int]]  # (ts, id), unsorted
    pos: int = 0  # chunks scanned
    chunks: list[tuple[int, int, int, int]] = field(default_factory=list)  # id, t_max, first, n
    # the field terms' rows by chunk, (id, ts, idx) each, when the scan starts from them
    candidates: dict[int, list[tuple[int, int, int]]] | None = None
    # the raw conditions of base read so far: chunks read, chunks holding each one's needles,
    # and those most chunks hold (checked on every row from then on)
    seen: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    common: set[str] = field(default_factory=set)


class ChunkScans:
    """Raw conditions narrowed to chunks, and windows found by scanning chunks."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._scans: dict[tuple[Any, ...], _Scan] = {}
        self._held: dict[tuple[Any, ...], dict[str, set[int]]] = {}
        self._held_locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._held_lock = threading.Lock()

    # ------------------------------------------------------------------ raw conditions

    def _holding(self, specs: Sequence[str], chunks: Sequence[int]) -> dict[str, set[int]]:
        """For each spec that has needles, which of the chunks hold them (every requirement:
        one of its needles); the chunks read two at a time (zstd releases the GIL)."""
        live = [s for s in specs if matcher(s).requirements()]
        if not live or not chunks:
            return {}
        scan = SpecScan(live)
        out: dict[str, set[int]] = {s: set() for s in live}
        for cid, may in self._per_chunk(chunks, lambda _, ch: scan.may(ch)):
            for j in may:
                out[live[j]].add(cid)
        return out

    def _holding_all(self, p: Plan, cancelled: Callable[[], bool] | None) -> dict[str, set[int]]:
        """_holding over the plan's chunks, for its raw conditions but those most chunks
        hold (the first COMMON_AFTER chunks say it; then bigger steps)."""
        chunks = [c[0] for c in self._chunks(p)]
        held: dict[str, set[int]] = {}
        live = list(dict.fromkeys(p.row_raw))
        seen = 0
        while live and seen < len(chunks):
            if cancelled is not None and cancelled():
                raise Interrupted("cancelled")
            part = chunks[seen : seen + (COMMON_AFTER if seen < COMMON_AFTER else 1024)]
            got = self._holding(live, part)
            seen += len(part)
            for s in list(live):
                if s in got:
                    held[s] = held.get(s, set()) | got[s]
                if s not in got or (seen >= COMMON_AFTER and len(held[s]) * 2 > seen):
                    held.pop(s, None)  # no needles, or common: every row is checked
                    live.remove(s)
        return held

    def narrowed(self, p: Plan, cancelled: Callable[[], bool] | None = None) -> Plan:
        """The plan with its raw conditions' markers replaced by the chunks that may hold a
        match: one pass over the window's chunks (a condition whose needles most chunks hold
        is given up after COMMON_AFTER of them), remembered per plan and cache state."""
        if not p.row_raw:
            return p
        top = self.db.one("SELECT max(id) FROM chunks")
        key = (*p.key(), p.since, p.until, top[0] if top else None)
        with self._held_lock:  # the window's count and histogram wait for one pass
            lock = self._held_locks.setdefault(key, threading.Lock())
        with lock:
            held = self._held.get(key)
            if held is None:
                held = self._holding_all(p, cancelled)
                with self._held_lock:
                    if len(self._held) > 16:
                        self._held.clear()
                        self._held_locks.clear()
                    self._held[key] = held
        return replace(
            p,
            where=narrowed_sql(p.where, p.row_raw, held),
            base=narrowed_sql(p.base, p.row_raw, held),
        )

    def _chunks(self, p: Plan) -> list[tuple[int, int, int, int]]:
        """(id, t_max, first event, n) of the chunks that may hold a match (those the
        postings chose, in the window), newest first."""
        conds, params = [], []
        if p.chunks is not None:
            conds.append(f"c.id IN ({','.join(map(str, p.chunks)) or 'NULL'})")
        if p.since is not None:
            conds.append("c.t_max >= ?")
            params.append(p.since)
        if p.until is not None:
            conds.append("c.t_min <= ?")
            params.append(p.until)
        q = "SELECT c.id, c.t_max, c.first_event, c.n FROM chunks c"
        if conds:
            q += " WHERE " + " AND ".join(conds)
        rows = self.db.all(q + " ORDER BY c.t_max DESC, c.id DESC", params)
        return [(int(a), int(b), int(c), int(d)) for a, b, c, d in rows]

    def _candidates(
        self, p: Plan, cancelled: Callable[[], bool] | None
    ) -> dict[int, list[tuple[int, int, int]]] | None:
        """With field terms: the rows they match, by chunk ((id, ts, idx) each), from one
        scan of the table; None when they are too many (the words go first then)."""
        q = (
            f"SELECT e.id, e.ts, e.chunk, e.idx FROM events e NOT INDEXED WHERE {p.base} "
            f"LIMIT {CANDIDATES + 1}"
        )
        with self.db.reading(cancelled) as c:
            rows = c.execute(q, p.base_params).fetchall()
        if len(rows) > CANDIDATES:
            return None
        out: dict[int, list[tuple[int, int, int]]] = {}
        for rid, ts, cid, idx in rows:
            out.setdefault(int(cid), []).append((int(rid), int(ts), int(idx)))
        return out

    def _match(
        self, m: LineMatcher, chunks: list[int], only: dict[int, list[int]] | None = None
    ) -> dict[int, set[int] | None]:
        """The chunks' lines the words match (chunks with none left out; of ``only``'s lines
        when given), two chunks at a time: decompression and Hyperscan release the GIL."""

        def lines(cid: int, ch: Chunk) -> set[int] | None:
            got = m.lines(ch, None if only is None else only.get(cid, []))
            if got and len(got) <= KEEP_LINES:  # a rare match: its page is read next
                self.db.chunks.keep_lines(cid, ch, got)
            return got

        return {cid: got for cid, got in self._per_chunk(chunks, lines) if got is None or got}

    def _per_chunk(
        self, chunks: Sequence[int], fn: Callable[[int, Chunk], _T]
    ) -> Iterator[tuple[int, _T]]:
        """fn on each of the chunks, decompressed, in two threads (zstd releases the GIL),
        a run of small chunks to a task: a word found nowhere in the 9,142 chunks of
        bench/ingest.py's 1M cache (most are small) took 1.0-1.4 s a task per chunk, 0.9 s
        in runs of 64 KB (bigger runs: slower on caches of big chunks). A damaged chunk is
        left out (nothing in it matches, no crash)."""
        with self.db.conn() as c:
            q = f"SELECT chunk, data FROM blobs WHERE chunk IN ({','.join(map(str, chunks))})"
            blobs = c.execute(q).fetchall()

        def run(items: list[tuple[int, bytes]]) -> list[tuple[int, _T]]:
            out = []
            for cid, blob in items:
                try:
                    ch = Chunk(decompress_chunk(blob))
                except zstandard.ZstdError:
                    continue
                out.append((int(cid), fn(int(cid), ch)))
            return out

        # runs of TASK_BYTES compressed, at least two when there are two chunks
        size = min(TASK_BYTES, sum(len(b) for _, b in blobs) // 2 + 1)
        tasks: list[list[tuple[int, bytes]]] = [[]]
        held = 0
        for item in blobs:
            if held >= size:
                tasks.append([])
                held = 0
            tasks[-1].append(item)
            held += len(item[1])
        got = _threads().map(run, tasks) if len(tasks) > 1 else map(run, tasks)
        return (x for part in got for x in part)

    def _group_base(self, p: Plan, st: _Scan, chunks: list[int]) -> str:
        """p.base for these chunks' rows: its raw conditions (in groups, negated) checked
        only on the chunks holding their needles, until one proves common (see narrowed)."""
        live = [s for s in dict.fromkeys(p.row_raw) if s != p.raw and s not in st.common]
        if not live:
            return p.base
        got = self._holding(live, chunks)
        st.seen += len(chunks)
        for s in live:
            st.hits[s] = st.hits.get(s, 0) + len(got.get(s, chunks))
            if s not in got or (st.seen >= COMMON_AFTER and st.hits[s] * 2 > st.seen):
                st.common.add(s)
        return narrowed_sql(p.base, p.row_raw, {s: v for s, v in got.items() if s in live})

    def _scan(
        self, p: Plan, need: int | None, cancelled: Callable[[], bool] | None
    ) -> list[tuple[int, int]]:
        """(ts, id) newest first: at least the first ``need`` (all when None) are exact.

        Chunks are read newest first, a group at a time. Without field terms the words pick
        the lines first and SQL checks those rows; with field terms SQL picks the rows first
        and the words are looked for in just their chunks (and lines, when they are few)."""
        top = self.db.one("SELECT max(id) FROM chunks")
        key = (*p.key(), top[0] if top else None)
        st = self._scans.get(key)
        if st is None:
            st = _Scan([], 0, self._chunks(p))
            if p.raw and p.terms and not p.raw_fields and p.chunks is None:
                st.candidates = self._candidates(p, cancelled)
                if st.candidates is not None:
                    st.chunks = [c for c in st.chunks if c[0] in st.candidates]
            if len(self._scans) > 8:
                self._scans.clear()
            self._scans[key] = st
        m = matcher(p.raw) if p.raw else None
        group = 4  # doubling: a common filter fills its page from the first chunks
        while st.pos < len(st.chunks):
            if need is not None and len(st.found) >= need:
                st.found.sort(reverse=True)
                if st.found[need - 1][0] > st.chunks[st.pos][1]:
                    break
            if cancelled is not None and cancelled():
                raise Interrupted("cancelled")
            part = st.chunks[st.pos : st.pos + group]
            st.pos += len(part)
            group = min(group * 2, 512)
            ids = [c[0] for c in part]
            if st.candidates is not None:  # the field terms' rows: the words on their lines
                rows = [(r, t, cid, i) for cid in ids for r, t, i in st.candidates[cid]]
                if m is None:
                    matched: dict[int, set[int] | None] = dict.fromkeys(ids, None)
                else:
                    only = {cid: [i for _, _, i in st.candidates[cid]] for cid in ids}
                    matched = self._match(m, ids, only)
            else:  # the words pick the chunks, SQL the rows
                if m is not None:
                    matched = self._match(m, ids)
                    part = [c for c in part if c[0] in matched]
                else:
                    matched = dict.fromkeys(ids, None)
                if not part:
                    continue
                ranges = _row_ranges([(a, a + n - 1, matched[cid]) for cid, _, a, n in part])
                base = self._group_base(p, st, [c[0] for c in part])
                q = f"SELECT e.id, e.ts, e.chunk, e.idx FROM events e WHERE ({ranges}) AND {base}"
                with self.db.reading(cancelled) as c:
                    rows = [
                        (int(a), int(b), int(d), int(e))
                        for a, b, d, e in c.execute(q, p.base_params)
                    ]
            for rid, ts, cid, idx in rows:
                lines = matched.get(cid, set())
                if lines is None or idx in lines:
                    st.found.append((ts, rid))
        st.found.sort(reverse=True)
        return st.found
