"""What the explorer asks of the cache besides rows: value counts for completion and a
histogram over time. Mixed into ``Store`` (it supplies ``_where`` and ``_all``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..fields import FIELDS
from ..filter.language import Filter


class FacetsMixin:
    def _where(self, f: Filter, scope: Sequence[int] | None) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _cancellable(self, cancelled: Callable[[], bool] | None) -> Any:
        raise NotImplementedError

    def histogram(
        self,
        f: Filter,
        start: int,
        end: int,
        bins: int,
        scope: Sequence[int] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[int]:
        """Event counts in ``bins`` equal slices of [start, end] (ms)."""
        if bins <= 0 or end <= start:
            return [0] * max(bins, 0)
        where, params = self._where(f, scope)
        span = end - start + 1
        q = (
            f"SELECT ((e.ts - ?) * ?) / ? AS b, count(*) FROM events e WHERE {where} "
            "AND e.ts >= ? AND e.ts <= ? GROUP BY b"
        )
        out = [0] * bins
        with self._cancellable(cancelled) as c:
            rows = c.execute(q, [start, bins, span, *params, start, end]).fetchall()
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
        where, params = self._where(f or Filter(), scope)
        like = re.sub(r"([%_\\])", r"\\\1", prefix) + "%"
        fld = FIELDS.get(fieldname)
        if fld is None:
            return []
        if fld.resource_column:
            col = "r." + fld.resource_column
            q = (
                f"SELECT {col} AS v, count(*) FROM resources r JOIN events e ON e.id = r.event "
                f"WHERE {where} AND {col} LIKE ? ESCAPE '\\' AND {col} != '' "
                "GROUP BY v ORDER BY 2 DESC, v LIMIT ?"
            )
        elif len(fld.facets) > 1:
            # one event counts once per value even when two columns hold it (an IAM user's
            # display name is its user name)
            parts = [
                f"SELECT e.id AS id, e.{c} AS v FROM events e WHERE {where} "
                f"AND e.{c} LIKE ? ESCAPE '\\' AND e.{c} != ''"
                for c in fld.facets
            ]
            params = [x for _ in fld.facets for x in [*params, like]]
            q = (
                f"SELECT v, count(DISTINCT id) FROM ({' UNION ALL '.join(parts)}) "
                "GROUP BY v ORDER BY 2 DESC, v LIMIT ?"
            )
            rows = self._all(q, [*params, limit])
            return [(str(v), int(n)) for v, n in rows]
        elif fld.kind == "bool":
            col = "e." + fld.columns[0]
            q = (
                f"SELECT CASE {col} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END AS v, count(*) "
                f"FROM events e WHERE {where} AND {col} IS NOT NULL AND v LIKE ? ESCAPE '\\' "
                "GROUP BY v ORDER BY 2 DESC LIMIT ?"
            )
        elif fld.facets:
            col = "e." + fld.facets[0]
            q = (
                f"SELECT {col} AS v, count(*) FROM events e WHERE {where} AND {col} != '' "
                f"AND {col} LIKE ? ESCAPE '\\' GROUP BY v ORDER BY 2 DESC, v LIMIT ?"
            )
        else:
            return []
        rows = self._all(q, [*params, like, limit])
        return [(str(v), int(n)) for v, n in rows]
