"""What the explorer asks of the cache besides rows: value counts for completion and a
histogram over time. Values live in dictionary tables, so a facet counts events per dictionary
id once and then reads the few distinct values."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..fields import field_of, path_values, record_paths
from ..filter.language import Filter, Term, Value
from ..filter.values import fold
from ..records.event import loads
from .db import Database
from .queries import Queries
from .schema import EVENT_DICTS


class Facets:
    def __init__(self, db: Database, queries: Queries) -> None:
        self.db = db
        self.queries = queries
        # path completion's samples, by filter (and what the cache holds): the newest few
        self._paths: dict[tuple[Any, ...], tuple[Counter[str], int]] = {}
        self._values: dict[tuple[Any, ...], Counter[str]] = {}

    def histogram(
        self,
        f: Filter,
        start: int,
        end: int,
        bins: int,
        scope: Sequence[int] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[int]:
        """Event counts in ``bins`` equal slices of [start, end] (ms): bin i holds the events
        whose ``(ts - start) * bins // (end - start + 1)`` is i."""
        if bins <= 0 or end <= start:
            return [0] * max(bins, 0)
        p = self.queries.plan(f, scope)
        out = [0] * bins
        if p.empty:
            return out
        p = self.queries.narrowed(p, cancelled)  # raw conditions: on their chunks only
        span = end - start + 1
        if p.indexed:
            # no field term (at most a time window): each bin counted on the ts index alone
            # (no table row is read, no sort: 40 ms on a million events, where the GROUP BY
            # below sorted them all in ~300 ms and ~30 MB)
            n, a, w = int(bins), int(start), int(span)  # integers, written into the SQL
            q = (
                f"WITH RECURSIVE bins(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM bins "
                f"WHERE i + 1 < {n}) "
                f"SELECT i, (SELECT count(*) FROM events e WHERE e.ts BETWEEN "
                f"{a} + ({w} * i + {n} - 1) / {n} AND {a} + ({w} * (i + 1) + {n} - 1) / {n} - 1 "
                f"AND {p.where}) FROM bins"
            )
            args = p.params
        else:
            # the ts index visits the rows in time order, a table look-up each: over everything
            # cached (no time window) it cuts nothing, and the chunks the postings name are
            # read faster as id ranges (name:StopInstances on 1M events: 5.5 s -> 60 ms;
            # with since:, 3.4 s -> 40 ms); a time window without them keeps the index
            hint = "NOT INDEXED" if p.narrowed or (f.since is None and f.until is None) else ""
            q = (
                f"SELECT ((e.ts - ?) * ?) / ? AS b, count(*) FROM events e {hint} "
                f"WHERE e.ts >= ? AND e.ts <= ? AND {p.where} GROUP BY b"
            )
            args = [start, bins, span, start, end, *p.params]
        with self.db.reading(cancelled) as c:
            rows = c.execute(q, args).fetchall()
        for b, n in rows:
            if 0 <= int(b) < bins:
                out[int(b)] = int(n)
        return out

    def facet(
        self,
        fieldname: str,
        f: Filter | None = None,
        prefix: str = "",
        limit: int = 10,
        scope: Sequence[int] | None = None,
    ) -> list[tuple[str, int]]:
        """Top values of a field (with counts) under the filter, optionally by prefix."""
        fld = field_of(fieldname)
        if fld.raw:
            return self._raw_values(fld.record[0], f, prefix, limit, scope)
        where, params = self.queries.where(f or Filter(), scope)
        like = re.sub(r"([%_\\])", r"\\\1", prefix) + "%"
        if fld.resource_column:
            table = "rnames" if fld.resource_column == "name" else "rtypes"
            q = (
                f"WITH x AS (SELECT r.{fld.resource_column} AS k, count(*) AS n "
                f"FROM resources r JOIN events e ON e.id = r.event WHERE {where} GROUP BY k) "
                f"SELECT d.s AS v, sum(x.n) FROM x JOIN {table} d ON d.id = x.k "
                "WHERE d.s != '' AND d.s LIKE ? ESCAPE '\\' "
                "GROUP BY v COLLATE NOCASE ORDER BY 2 DESC, v COLLATE NOCASE LIMIT ?"
            )
            return self._run(q, [*params, like, limit])
        cols = fld.facets or (fld.columns if fld.kind == "bool" else ())
        if not cols:
            return []
        ecol = cols[0].partition(".")[0]
        if ecol == "eid":
            q = (
                f"SELECT tt_eid(e.eid, e.eid_text) AS v, count(*) FROM events e WHERE {where} "
                "AND v LIKE ? ESCAPE '\\' GROUP BY v ORDER BY 2 DESC, v COLLATE NOCASE LIMIT ?"
            )
            return self._run(q, [*params, like, limit])
        table = EVENT_DICTS[ecol]
        x = f"WITH x AS (SELECT e.{ecol} AS k, count(*) AS n FROM events e WHERE {where} GROUP BY k)"
        if fld.kind == "bool":
            dcol = cols[0].partition(".")[2]
            q = (
                f"{x} SELECT CASE d.{dcol} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END AS v, "
                f"sum(x.n) FROM x JOIN {table} d ON d.id = x.k WHERE d.{dcol} IS NOT NULL "
                "AND v LIKE ? ESCAPE '\\' GROUP BY v ORDER BY 2 DESC LIMIT ?"
            )
            return self._run(q, [*params, like, limit])
        # one event counts once per value even when two columns hold it (an IAM user's
        # display name is its user name)
        vals = " UNION ALL ".join(
            f"SELECT x.k AS k, x.n AS n, d.{c.partition('.')[2]} AS v "
            f"FROM x JOIN {table} d ON d.id = x.k"
            for c in cols
        )
        q = (
            f"{x}, vals AS ({vals}), per AS (SELECT k, n, v FROM vals WHERE v != '' "
            "AND v LIKE ? ESCAPE '\\' GROUP BY k, v COLLATE NOCASE) "
            "SELECT v, sum(n) FROM per GROUP BY v COLLATE NOCASE ORDER BY 2 DESC, v COLLATE NOCASE LIMIT ?"
        )
        return self._run(q, [*params, like, limit])

    # ------------------------------------------------------------------ raw records (sampled)

    SAMPLE = 2000  # the newest events under the filter that path completion reads

    def _sample(self, f: Filter | None, scope: Sequence[int] | None) -> list[Any]:
        out = []
        for _, text in self.queries.iter_raw(f or Filter(), scope, self.SAMPLE):
            try:
                out.append(loads(text))
            except (ValueError, RecursionError):
                continue
        return out

    def paths(
        self,
        f: Filter | None = None,
        prefix: str = "",
        limit: int = 10,
        scope: Sequence[int] | None = None,
    ) -> tuple[list[tuple[str, int]], int]:
        """The paths present in the newest SAMPLE events under the filter, starting with the
        prefix (any case), with how many of them hold each; and how many were read."""
        f = f or Filter()
        top = self.db.one("SELECT max(id) FROM events")
        key = (f.text, f.since, f.until, None if scope is None else tuple(scope), top[0])
        got = self._paths.get(key)
        if got is None:  # once per filter (and cache content): completion asks at every key
            recs = self._sample(f, scope)
            counts: Counter[str] = Counter()
            for r in recs:
                counts.update(record_paths(r))
            got = self._paths[key] = (counts, len(recs))
            if len(self._paths) > 8:
                self._paths.pop(next(iter(self._paths)))
        counts, n = got
        want = fold(prefix)
        hits = [(p, c) for p, c in counts.items() if fold(p).startswith(want)]
        return sorted(hits, key=lambda x: (-x[1], x[0]))[:limit], n

    def _raw_values(
        self,
        path: str,
        f: Filter | None,
        prefix: str,
        limit: int,
        scope: Sequence[int] | None,
    ) -> list[tuple[str, int]]:
        """Values at a path in the newest SAMPLE events under the filter (one event once)."""
        f = f or Filter()
        top = self.db.one("SELECT max(id) FROM events")
        key = (path, f.text, f.since, f.until, None if scope is None else tuple(scope), top[0])
        counts = self._values.get(key)
        if counts is None:  # once per path and filter: completion asks at every key
            counts = Counter()
            # the newest events that hold the path, not the newest events
            has = Term(path, (Value("glob", "*"),))
            with_path = replace(f, terms=(*f.terms, has))
            for r in self._sample(with_path, scope):
                vals, _ = path_values(r, path)
                counts.update({v for v in vals if v})
            self._values[key] = counts
            if len(self._values) > 8:
                self._values.pop(next(iter(self._values)))
        want = fold(prefix)
        hits = [(v, c) for v, c in counts.items() if fold(v).startswith(want)]
        return sorted(hits, key=lambda x: (-x[1], x[0]))[:limit]

    def _run(self, q: str, params: list[Any]) -> list[tuple[str, int]]:
        return [(str(v), int(n)) for v, n in self.db.all(q, params)]
