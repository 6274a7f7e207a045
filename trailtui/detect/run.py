"""Rules over the cache: the ids and times of their events (no rows), from as few passes as can say it."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..filter.language import Filter
from ..store.codec import eid_text
from ..store.db import Interrupted
from ..store.scan import Plan
from ..store.schema import EVENT_DICTS
from ..store.words import SpecScan, matcher
from .rules import Rule

if TYPE_CHECKING:
    from ..store.store import Store


@dataclass(frozen=True, slots=True)
class Result:
    """What one rule found in the window."""

    rule: Rule
    count: int
    first: datetime | None  # the oldest match
    last: datetime | None  # the newest
    rowids: tuple[int, ...]  # the cache's ids of the matches, newest first
    error: str = ""  # the cache couldn't answer (the rule is then not evaluated)

    @property
    def fired(self) -> bool:
        return self.count > 0


def rule_filter(rule: Rule, window: Filter) -> Filter:
    """The rule's filter over the window: its time, and its terms, words and groups ANDed."""
    w = window
    text = rule.filter_text if not w.conjuncts else f"{rule.filter_text} {w.text}"
    f = rule.filter
    return Filter(text, f.terms + w.terms, f.words + w.words, w.since, w.until, f.groups + w.groups)


def _newest(it: tuple[int, int]) -> tuple[int, int]:
    return (-it[1], -it[0])


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts / 1000, tz=UTC)


def run_rule(
    store: Store,
    rule: Rule,
    window: Filter,
    scope: Sequence[int] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Result:
    """One rule: the matching events' ids, newest first, from one query."""
    from ..store.db import StoreError

    q = store.queries
    try:
        p = q.plan(rule_filter(rule, window), scope)
        if p.empty:
            found: list[tuple[int, int]] = []
        elif p.raw or p.raw_fields:  # the raw records: the chunk scan, newest first
            found = q.ids(p, 0, None, cancelled)
        else:  # columns only: one pass over the table (no ts order: 2-3x cheaper on 1M)
            with store.db.reading(cancelled) as c:
                rows = c.execute(f"SELECT e.id, e.ts FROM events e WHERE {p.where}", p.params)
                found = sorted(((int(i), int(t)) for i, t in rows), key=_newest)
    except (sqlite3.Error, StoreError) as e:
        if cancelled is not None and cancelled():
            raise
        return Result(rule, 0, None, None, (), f"the cache can't answer it: {e}")
    if not found:
        return Result(rule, 0, None, None, ())
    times = [t for _, t in found]
    return Result(
        rule, len(found), _when(min(times)), _when(max(times)), tuple(i for i, _ in found)
    )


def run(
    store: Store,
    rules: Sequence[Rule],
    window: Filter,
    scope: Sequence[int] | None = None,
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Result]:
    """Every rule over the window (``window``: since/until, and any terms the rules are ANDed
    with), in the order given. ``progress(done, total)`` after each rule. The rules on
    dictionary columns only are decided together from one pass over the table; those the raw
    records answer (paths, keywords; their columns checked on the rows they find) share one
    pass over the chunks: each is decompressed once for all of them."""
    out: dict[int, Result] = {}
    shared: list[tuple[int, Plan]] = []
    columns: list[tuple[int, Plan]] = []
    bare = Filter(window.text, window.terms, window.words, None, None, window.groups)
    for i, rule in enumerate(rules):
        try:
            p = store.queries.plan(rule_filter(rule, window), scope)
        except (sqlite3.Error, ValueError) as e:
            out[i] = Result(rule, 0, None, None, (), f"the cache can't answer it: {e}")
            continue
        if p.raw and not p.raw_fields and not p.empty:
            shared.append((i, p))
        elif p.empty:
            out[i] = Result(rule, 0, None, None, ())
        elif not p.raw and not p.raw_fields and scope is None:
            q = store.queries.plan(rule_filter(rule, bare), None)  # the window: on the rows
            if set(_COLUMN.findall(q.base)) <= _DICT_COLUMNS:
                columns.append((i, q))
    if len(columns) > 1 and not (cancelled is not None and cancelled()):
        got = _by_columns(
            store, [rules[i] for i, _ in columns], [p for _, p in columns], window, cancelled
        )
        out.update(zip([i for i, _ in columns], got, strict=True))
    done = len(out)
    for i, rule in enumerate(rules):
        if cancelled is not None and cancelled():
            break
        if i in out or any(j == i for j, _ in shared):
            continue
        out[i] = run_rule(store, rule, window, scope, cancelled)
        done += 1
        if progress is not None:
            progress(done, len(rules))
    if shared and not (cancelled is not None and cancelled()):
        found = _one_pass(store, [p for _, p in shared], cancelled)
        for (i, _), hits in zip(shared, found, strict=True):
            out[i] = _result(rules[i], hits)
        if progress is not None:
            progress(len(rules), len(rules))
    return [out[i] for i in range(len(rules)) if i in out]


_COLUMN = re.compile(r"\be\.(\w+)")
_DICT_COLUMNS = set(EVENT_DICTS)


def _by_columns(
    store: Store,
    rules: Sequence[Rule],
    plans: Sequence[Plan],
    window: Filter,
    cancelled: Callable[[], bool] | None,
) -> list[Result]:
    """Rules whose plans read dictionary columns only, from one pass over the table: its
    rows grouped by the distinct tuples of the columns the plans use (a few thousand on a
    million events), each plan decided once per tuple by SQL; a match's rank (newest first)
    is its row's position."""
    cols = sorted({c for p in plans for c in _COLUMN.findall(p.base)}) or ["kind"]
    with store.db.reading(cancelled) as c:
        rows = c.execute(f"SELECT id, ts, {', '.join(cols)} FROM events").fetchall()
    rows.sort(key=lambda r: (r[1], r[0]), reverse=True)
    if window.since is not None or window.until is not None:
        lo = -(2**63) if window.since is None else int(window.since.timestamp() * 1000)
        hi = 2**63 if window.until is None else int(window.until.timestamp() * 1000)
        rows = [r for r in rows if lo <= r[1] <= hi]
    groups: dict[tuple[int, ...], list[int]] = {}
    for rank, r in enumerate(rows):
        g = groups.get(r[2:])
        if g is None:
            groups[r[2:]] = [rank]
        else:
            g.append(rank)
    ids = [int(r[0]) for r in rows]
    times = [int(r[1]) for r in rows]
    del rows
    keys = list(groups)
    out: list[Result] = []
    with store.db.reading(cancelled) as c:
        c.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS tt_tuples (n INTEGER PRIMARY KEY, {', '.join(cols)})"
        )
        try:
            c.execute("DELETE FROM temp.tt_tuples")
            marks = ",".join("?" * (len(cols) + 1))
            c.executemany(
                f"INSERT INTO temp.tt_tuples VALUES ({marks})",
                [(n, *k) for n, k in enumerate(keys)],
            )
            for rule, p in zip(rules, plans, strict=True):
                q = f"SELECT e.n FROM temp.tt_tuples e WHERE {p.base}"
                try:
                    ranks = [x for (n,) in c.execute(q, p.base_params) for x in groups[keys[n]]]
                except sqlite3.Error as e:  # this rule only (as one run alone would say)
                    if cancelled is not None and cancelled():
                        raise
                    out.append(Result(rule, 0, None, None, (), f"the cache can't answer it: {e}"))
                    continue
                if not ranks:
                    out.append(Result(rule, 0, None, None, ()))
                    continue
                ranks.sort()
                rowids = tuple(map(ids.__getitem__, ranks))
                first, last = _when(times[ranks[-1]]), _when(times[ranks[0]])
                out.append(Result(rule, len(ranks), first, last, rowids))
        finally:
            c.execute("DROP TABLE IF EXISTS temp.tt_tuples")
    return out


def _result(rule: Rule, found: list[tuple[int, int]]) -> Result:
    if not found:
        return Result(rule, 0, None, None, ())
    found.sort(key=_newest)
    times = [t for _, t in found]
    return Result(
        rule, len(found), _when(min(times)), _when(max(times)), tuple(i for i, _ in found)
    )


def _one_pass(
    store: Store, plans: Sequence[Plan], cancelled: Callable[[], bool] | None
) -> list[list[tuple[int, int]]]:
    """(id, ts) of each plan's events, reading every chunk once: the plans' line matchers on
    it, then the rows of its lines; a plan's window and scope (its base) checked at the end."""
    matchers = [matcher(p.raw) for p in plans]
    found: list[list[tuple[int, int]]] = [[] for _ in plans]
    # one scan of each chunk for every rule's needles: a rule whose needles the chunk lacks
    # is not asked (each would scan the chunk again)
    scan = SpecScan([p.raw for p in plans])
    chunks = store.execute("SELECT id, first_event, n FROM chunks ORDER BY id")
    reader = store.db.chunks
    for k in range(0, len(chunks), 64):
        if cancelled is not None and cancelled():
            raise Interrupted("cancelled")
        part = chunks[k : k + 64]
        where = {int(c): (int(a), int(n)) for c, a, n in part}
        for cid, ch in reader.many([int(c) for c, _, _ in part]):
            hits = [(j, matchers[j].lines(ch)) for j in scan.may(ch)]
            hits = [(j, lines) for j, lines in hits if lines is None or lines]
            if not hits:
                continue
            a, n = where[cid]
            rows = store.execute(
                "SELECT idx, id, ts FROM events WHERE id BETWEEN ? AND ? AND chunk = ?",
                (a, a + n - 1, cid),
            )
            by_idx = {int(x): (int(i), int(t)) for x, i, t in rows}
            for j, lines in hits:
                if lines is None:
                    found[j] += by_idx.values()
                else:
                    found[j] += [by_idx[x] for x in lines if x in by_idx]
    for j, p in enumerate(plans):
        if p.base != "1" and found[j]:  # the window, the scope
            kept: list[tuple[int, int]] = []
            ids = [i for i, _ in found[j]]
            for b in range(0, len(ids), 20_000):
                inlist = ",".join(map(str, ids[b : b + 20_000]))
                q = f"SELECT e.id, e.ts FROM events e WHERE e.id IN ({inlist}) AND {p.base}"
                kept += [(int(i), int(t)) for i, t in store.execute(q, p.base_params)]
            found[j] = kept
    return found


def by_level(results: Sequence[Result]) -> list[Result]:
    """Most severe first, then most events, then title."""
    return sorted(results, key=lambda r: (-r.rule.rank, -r.count, r.rule.title, r.rule.id))


def event_ids(store: Store, rowids: Sequence[int]) -> list[str]:
    """The eventIDs of cached events, in the order given (ids no longer cached left out)."""
    out: dict[int, str] = {}
    for k in range(0, len(rowids), 5000):
        part = [int(i) for i in rowids[k : k + 5000]]
        rows = store.execute(
            f"SELECT id, eid, eid_text FROM events WHERE id IN ({','.join(map(str, part))})"
        )
        out.update((int(i), eid_text(e, t)) for i, e, t in rows)
    return [out[i] for i in rowids if i in out]
