"""The filter compiled to SQL over the cache (a WHERE clause over ``events e``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fields import FIELDS, Field
from .language import Filter, Term, Value
from .values import fold, glob_like, network


@dataclass(slots=True)
class SQL:
    where: str
    params: list[Any] = field(default_factory=list)


def _col_cond(fld: Field, col: str, v: Value, params: list[Any]) -> str:
    if v.kind == "exact":
        if fld.expand is not None:
            alts = fld.expand(v.text)
            params.extend(alts)
            return f"{col} IN ({','.join('?' * len(alts))})"
        params.append(v.text)
        return f"{col} = ?"
    if v.kind == "glob":
        params.append(glob_like(v.text))
        return f"({col} != '' AND {col} LIKE ? ESCAPE '\\')"
    if v.kind == "regex":
        params.append(v.text)
        return f"({col} != '' AND tt_regexp(?, {col}))"
    if v.kind == "cidr":
        net = network(v.text)
        if net.version == 4 and fld.columns == ("source_ip",):
            params.extend([int(net.network_address), int(net.broadcast_address)])
            return "e.ip_v4 BETWEEN ? AND ?"
        params.append(v.text)
        return f"tt_ip_in({col}, ?)"
    raise AssertionError(v.kind)


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _term_sql(t: Term, params: list[Any]) -> str:
    fld = FIELDS[t.field]
    if fld.kind == "bool":
        params.extend(1 if v.text == "true" else 0 for v in t.values)
        cond = f"e.{fld.columns[0]} IN ({','.join('?' * len(t.values))})"
    elif fld.resource_column:
        col = "r." + fld.resource_column
        ors = " OR ".join(_col_cond(fld, col, v, params) for v in t.values)
        cond = f"e.id IN (SELECT r.event FROM resources r WHERE {ors})"
    else:
        # the cache's columns, else the raw record at the field's paths (COLLATE NOCASE:
        # an extracted value compares as the columns do)
        cols = [f"e.{c}" for c in fld.columns] or [
            f"(tt_field(e.raw, {_sql_text(path)}) COLLATE NOCASE)" for path in fld.record
        ]
        cond = " OR ".join(_col_cond(fld, c, v, params) for v in t.values for c in cols)
    if t.negated:
        return f"NOT COALESCE(({cond}), 0)"
    return f"({cond})"


def to_sql(f: Filter) -> SQL:
    """WHERE clause over ``events e`` (free words handled by tt_contains on the raw JSON)."""
    params: list[Any] = []
    parts: list[str] = []
    if f.since is not None:
        parts.append("e.ts >= ?")
        params.append(int(f.since.timestamp() * 1000))
    if f.until is not None:
        parts.append("e.ts <= ?")
        params.append(int(f.until.timestamp() * 1000))
    for t in f.terms:
        parts.append(_term_sql(t, params))
    for w in f.words:
        params.append(fold(w.text))
        parts.append(("NOT " if w.negated else "") + "tt_contains(e.raw, ?)")
    return SQL(" AND ".join(parts) or "1", params)
