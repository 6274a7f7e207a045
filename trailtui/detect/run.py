"""Rules over the cache: one query per rule (the ids and times of its events, no rows)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..filter.language import Filter
from ..store.codec import eid_text
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
    with), in the order given. ``progress(done, total)`` after each rule."""
    out = []
    for i, rule in enumerate(rules):
        if cancelled is not None and cancelled():
            break
        out.append(run_rule(store, rule, window, scope, cancelled))
        if progress is not None:
            progress(i + 1, len(rules))
    return out


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
