"""The filter compiled to SQL over the cache: a WHERE clause over ``events e``.

The catalogue (fields.py) says where each field lives. A field in a dictionary table (name ->
kinds.name, user -> principals.*, region -> regions.s...) becomes ``e.kind IN (SELECT id FROM
kinds d WHERE <the values against d.name>)``: the values are matched once per distinct value,
not per event. Resources go through their side table; fields the cache keeps no column for are
read from the raw record, as paths and free words are: at the top level by the chunk scan of
store/words.py, inside OR / NOT groups per row (``tt_lines``). Case-insensitivity is ASCII-only, as
SQLite's NOCASE and LIKE are, and as the Python matcher is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fields import Field, field_of
from ..store.codec import eid_key
from ..store.schema import EVENT_DICTS, POSTED
from .language import Expr, Filter, Group, Term, Value, Word, expr_text
from .values import glob_like, network


@dataclass(slots=True)
class SQL:
    where: str  # everything, over events e
    params: list[Any] = field(default_factory=list)
    base: str = "1"  # everything but what only the raw records hold at the top level
    base_params: list[Any] = field(default_factory=list)
    # the top level's free words and raw-record terms, as filter text (store/words.py's
    # LineMatcher: the chunk scan finds them), '' for none
    raw: str = ""
    # dictionary queries of the positive terms: when one finds no row, nothing matches
    probes: list[tuple[str, list[Any]]] = field(default_factory=list)
    # the positive terms on one dictionary column: (the column's number in POSTED, the query
    # of the value ids, its params); the chunks whose postings hold none of them can't match
    postings: list[tuple[int, str, list[Any]]] = field(default_factory=list)
    raw_fields: bool = False  # some condition of base is read from the raw records
    terms: int = 0  # how many conditions base has (not time, not the raw ones)
    # the raw-record conditions decided row by row (tt_lines), as LineMatcher specs: the
    # marker RAW_MARK.format(i) before the i-th is where a plan may put the chunks that can
    # hold a match of it (their needles), so SQL calls tt_lines on those chunks' rows only
    row_raw: list[str] = field(default_factory=list)


RAW_MARK = "/*raw:{}*/"  # an SQL comment: where nothing is put, the condition reads as before


def _row_raw(sql: SQL, params: list[Any], spec: str) -> str:
    """A raw-record condition checked row by row, with its marker (see SQL.row_raw)."""
    params.append(spec)
    sql.row_raw.append(spec)
    return f"({RAW_MARK.format(len(sql.row_raw) - 1)}tt_lines(e.chunk, e.idx, ?))"


def _value_cond(fld: Field, col: str, v: Value, params: list[Any], table: str = "") -> str:
    """One value against one text expression (an empty value matches nothing)."""
    if v.kind == "exact":
        alts = [a for a in (fld.expand(v.text) if fld.expand is not None else [v.text]) if a]
        if not alts:
            return "0"
        params.extend(alts)
        # the collation on the column, not the value: SQLite 3.40 turns `x = ? COLLATE NOCASE
        # OR x = ? COLLATE NOCASE` into a binary IN over x's index
        if len(alts) == 1:
            return f"({col} COLLATE NOCASE = ?)"
        return f"({col} COLLATE NOCASE IN ({','.join('?' * len(alts))}))"
    if v.kind == "glob":
        params.append(glob_like(v.text))
        return f"({col} != '' AND {col} LIKE ? ESCAPE '\\')"
    if v.kind == "regex":
        params.append(v.text)
        return f"({col} != '' AND tt_regexp(?, {col}))"
    if v.kind == "cidr":
        net = network(v.text)
        if net.version == 4 and table == "ips":
            params.extend([int(net.network_address), int(net.broadcast_address)])
            return "(d.v4 BETWEEN ? AND ?)"
        params.append(v.text)
        return f"tt_ip_in({col}, ?)"
    raise AssertionError(v.kind)


def _eid_cond(fld: Field, v: Value, params: list[Any]) -> str:
    if v.kind == "exact":
        if not v.text:
            return "0"
        params.append(eid_key(v.text)[0])
        return "e.id IN (SELECT x.event FROM eids x WHERE x.eid = ?)"
    return _value_cond(fld, "tt_eid(e.eid, e.eid_text)", v, params)


def _term_sql(t: Term, sql: SQL, params: list[Any], top: bool = True) -> str:
    fld = field_of(t.field)
    probe: tuple[str, list[Any]] | None = None
    posting: tuple[int, str, list[Any]] | None = None
    if fld.raw:
        # the raw record, a chunk at a time (store/words.py): the term, not negated, as text
        sql.raw_fields = True
        cond = _row_raw(sql, params, expr_text(Term(t.field, t.values)))
    elif fld.kind == "bool":
        ecol, dcol = fld.columns[0].split(".")
        table = EVENT_DICTS[ecol]
        local = [1 if v.text == "true" else 0 for v in t.values]
        conds = f"d.{dcol} IN ({','.join('?' * len(local))})"
        cond = f"e.{ecol} IN (SELECT d.id FROM {table} d WHERE {conds})"
        probe = (f"SELECT 1 FROM {table} d WHERE {conds} LIMIT 1", local)
        posting = (POSTED.index(ecol), f"SELECT d.id FROM {table} d WHERE {conds}", local)
        params.extend(local)
    elif fld.resource_column:
        table = "rnames" if fld.resource_column == "name" else "rtypes"
        local = []
        conds = " OR ".join(_value_cond(fld, "d.s", v, local) for v in t.values)
        cond = (
            f"e.id IN (SELECT r.event FROM resources r WHERE r.{fld.resource_column} IN "
            f"(SELECT d.id FROM {table} d WHERE {conds}))"
        )
        probe = (f"SELECT 1 FROM {table} d WHERE {conds} LIMIT 1", local)
        params.extend(local)
    elif fld.columns:
        groups: dict[str, list[str]] = {}
        for col in fld.columns:
            ecol, _, dcol = col.partition(".")
            groups.setdefault(ecol, []).append(dcol)
        parts = []
        for ecol, dcols in groups.items():
            if ecol == "eid":
                parts.append(" OR ".join(_eid_cond(fld, v, params) for v in t.values))
                continue
            table = EVENT_DICTS[ecol]
            local = []
            conds = " OR ".join(
                _value_cond(fld, f"d.{dc}", v, local, table) for v in t.values for dc in dcols
            )
            parts.append(f"e.{ecol} IN (SELECT d.id FROM {table} d WHERE {conds})")
            if len(groups) == 1:
                probe = (f"SELECT 1 FROM {table} d WHERE {conds} LIMIT 1", local)
                posting = (POSTED.index(ecol), f"SELECT d.id FROM {table} d WHERE {conds}", local)
            params.extend(local)
        cond = " OR ".join(parts)
    else:
        raise AssertionError(f"{t.field}: no column and no record path")
    if t.negated:
        return f"NOT COALESCE(({cond}), 0)"
    if probe is not None and top:
        sql.probes.append(probe)
    if posting is not None and top:
        sql.postings.append(posting)
    return f"({cond})"


def _expr_sql(e: Expr, sql: SQL, params: list[Any]) -> str:
    """An expression inside a group (no probes: a term there may find nothing while the
    group matches)."""
    if _raw_only(e):  # one call for all of it
        sql.raw_fields = True
        return _row_raw(sql, params, expr_text(e))
    if isinstance(e, Term):
        return _term_sql(e, sql, params, top=False)
    assert isinstance(e, Group)
    return _group_sql(e, sql, params)


def _raw_only(e: Expr) -> bool:
    """Only what the raw records hold (the chunk scan decides it without SQL)."""
    if isinstance(e, Word):
        return True
    if isinstance(e, Term):
        return field_of(e.field).raw
    return all(_raw_only(x) for x in e.items)


def _group_sql(g: Group, sql: SQL, params: list[Any]) -> str:
    joined = (" AND " if g.op == "and" else " OR ").join(_expr_sql(x, sql, params) for x in g.items)
    if g.negated:
        return f"NOT COALESCE(({joined}), 0)"
    return f"({joined})"


def to_sql(f: Filter) -> SQL:
    """WHERE clauses over ``events e`` (see SQL)."""
    sql = SQL("1")
    params: list[Any] = []
    parts: list[str] = []
    if f.since is not None:
        parts.append("e.ts >= ?")
        params.append(int(f.since.timestamp() * 1000))
    if f.until is not None:
        parts.append("e.ts <= ?")
        params.append(int(f.until.timestamp() * 1000))
    raw: list[Expr] = []
    for t in f.terms:
        if field_of(t.field).raw:
            raw.append(t)
            continue
        parts.append(_term_sql(t, sql, params))
        sql.terms += 1
    for g in f.groups:
        if _raw_only(g):
            raw.append(g)
            continue
        parts.append(_group_sql(g, sql, params))
        sql.terms += 1
    sql.base = " AND ".join(parts) or "1"
    sql.base_params = list(params)
    raw += f.words
    if raw:
        sql.raw = " ".join(expr_text(e) for e in raw)
        parts.append(_row_raw(sql, params, sql.raw))
    sql.where = " AND ".join(parts) or "1"
    sql.params = params
    return sql
