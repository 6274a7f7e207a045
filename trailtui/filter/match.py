"""The reference matcher: a Filter against one Event, in Python. Every backend (the cache's
SQL, LookupEvents, CloudWatch Logs, Athena) must return what this returns over the same events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..fields import FIELDS, Field

if TYPE_CHECKING:
    from ..records.event import Event
from .language import Filter, Term, Value
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


def _term_match(t: Term, ev: Event) -> bool:
    field = FIELDS[t.field]
    if field.kind == "bool":
        hit = ev.read_only is not None and any(ev.read_only == (v.text == "true") for v in t.values)
    else:
        strings = field.strings(ev)
        hit = any(value_match(field, v, s) for v in t.values for s in strings)
    return hit != t.negated


def matches(f: Filter, ev: Event, raw_text: str | None = None) -> bool:
    """The reference matcher: what the SQL path must agree with."""
    if f.since is not None and ev.time < f.since:
        return False
    if f.until is not None and ev.time > f.until:
        return False
    for t in f.terms:
        if not _term_match(t, ev):
            return False
    if f.words:
        hay = fold(raw_text if raw_text is not None else ev.raw_json())
        for w in f.words:
            if (fold(w.text) in hay) == w.negated:
                return False
    return True
