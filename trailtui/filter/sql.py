"""The filter compiled to SQL over the cache (a WHERE clause over ``events e``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass
from .language import Filter, Term, Value
from .values import fold, glob_like, network, source_alts

# single-column text fields: field -> column
_COLUMNS: dict[str, str] = {
    "name": "name",
    "source": "source",
    "region": "region",
    "account": "account",
    "ip": "source_ip",
    "key": "access_key",
    "id": "event_id",
    "error": "error_code",
    "agent": "user_agent",
    "category": "category",
    "eventtype": "event_type",
}


USER_COLUMNS = ("principal", "principal_arn", "user_name", "session_name", "lookup_username")


@dataclass(slots=True)
class SQL:
    where: str
    params: list[Any] = field(default_factory=list)
    needs_raw: bool = False  # free words: the store post-filters on the raw JSON


def _col_cond(fname: str, col: str, v: Value, params: list[Any]) -> str:
    if v.kind == "exact":
        if fname == "source":
            alts = source_alts(v.text)
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
        if net.version == 4:
            params.extend([int(net.network_address), int(net.broadcast_address)])
            return "e.ip_v4 BETWEEN ? AND ?"
        params.append(v.text)
        return f"tt_ip_in({col}, ?)"
    raise AssertionError(v.kind)


def _term_sql(t: Term, params: list[Any]) -> str:
    if t.field == "readonly":
        params.extend(1 if v.text == "true" else 0 for v in t.values)
        cond = f"e.read_only IN ({','.join('?' * len(t.values))})"
    elif t.field in ("resource", "type"):
        col = "r.name" if t.field == "resource" else "r.type"
        ors = " OR ".join(_col_cond(t.field, col, v, params) for v in t.values)
        cond = f"e.id IN (SELECT r.event FROM resources r WHERE {ors})"
    elif t.field == "user":
        ors = " OR ".join(
            _col_cond(t.field, f"e.{c}", v, params) for v in t.values for c in USER_COLUMNS
        )
        cond = ors
    else:
        col = "e." + _COLUMNS[t.field]
        cond = " OR ".join(_col_cond(t.field, col, v, params) for v in t.values)
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
    return SQL(" AND ".join(parts) or "1", params, bool(f.words))
