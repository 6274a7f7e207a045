"""The reference matcher: a Filter against one Event, in Python. Every backend (the cache's
SQL, LookupEvents, CloudWatch Logs, Athena) must return what this returns over the same events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..fields import Field, field_of, path_values, text_at

if TYPE_CHECKING:
    from ..records.event import Event
from .language import Expr, Filter, Group, Term, Value, Word
from .values import compile_regex, fold, glob_regex, ip_in


def value_match(field: Field, v: Value, s: str) -> bool:
    """One value against one string of an event (an empty string matches nothing)."""
    if not s:
        return False
    if v.kind == "exact":
        if field.expand is not None:
            return fold(s) in {fold(a) for a in field.expand(v.text)}
        return fold(s) == fold(v.text)
    if v.kind == "glob":
        return glob_regex(v.text).match(fold(s)) is not None
    if v.kind == "regex":
        return compile_regex(v.text).search(s) is not None
    if v.kind == "cidr":
        return ip_in(s, v.text)
    return False


def present(v: Value) -> bool:
    """The value says only "present and not empty" (*, **)."""
    return v.kind == "glob" and not v.text.strip("*")


def path_match(t: Term, raw: object) -> bool:
    """A path term (not negated) against a record: any value at the path matches any of the
    term's values; "" is an empty string there, * anything present and not empty (an object
    or array too)."""
    strings, container = path_values(raw, t.field)
    fld = field_of(t.field)
    for v in t.values:
        if v.kind == "exact" and not v.text:
            if "" in strings:
                return True
        elif (container and present(v)) or any(value_match(fld, v, s) for s in strings):
            return True
    return False


def raw_term_match(t: Term, raw: object) -> bool:
    """A term read from the raw record (a path, or a catalogue field the cache keeps no
    column for), not negated, against the parsed record."""
    fld = field_of(t.field)
    if fld.path:
        return path_match(t, raw)
    return any(value_match(fld, v, text_at(raw, p)) for v in t.values for p in fld.record)


def term_match(t: Term, ev: Event) -> bool:
    field = field_of(t.field)
    if field.kind == "bool":
        hit = ev.read_only is not None and any(ev.read_only == (v.text == "true") for v in t.values)
    elif field.path:
        hit = path_match(t, ev.raw)
    else:
        strings = field.strings(ev)
        hit = any(value_match(field, v, s) for v in t.values for s in strings)
    return hit != t.negated


def expr_match(e: Expr, ev: Event, hay: str) -> bool:
    """One expression; ``hay``: the record's JSON folded, for free words."""
    if isinstance(e, Term):
        return term_match(e, ev)
    if isinstance(e, Word):
        return (fold(e.text) in hay) != e.negated
    return _group_match(e, ev, hay)


def _group_match(g: Group, ev: Event, hay: str) -> bool:
    if g.op == "and":
        hit = all(expr_match(x, ev, hay) for x in g.items)
    else:
        hit = any(expr_match(x, ev, hay) for x in g.items)
    return hit != g.negated


def matches(f: Filter, ev: Event, raw_text: str | None = None) -> bool:
    """The reference matcher: what the SQL path must agree with."""
    if f.since is not None and ev.time < f.since:
        return False
    if f.until is not None and ev.time > f.until:
        return False
    for t in f.terms:
        if not term_match(t, ev):
            return False
    if f.words or f.groups:
        hay = fold(raw_text if raw_text is not None else ev.raw_json())
        for w in f.words:
            if (fold(w.text) in hay) == w.negated:
                return False
        for g in f.groups:
            if not _group_match(g, ev, hay):
                return False
    return True
