"""The reference matcher: a Filter against one Event, in Python. Every backend (the cache's
SQL, LookupEvents, CloudWatch Logs, Athena) must return what this returns over the same events."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..records.event import Event
from .language import Filter, Term, Value
from .values import compile_regex, fold, glob_regex, ip_in, source_alts


def _value_match(fname: str, v: Value, s: str) -> bool:
    if not s:
        return False
    if v.kind == "exact":
        if fname == "source":
            return fold(s) in {fold(a) for a in source_alts(v.text)}
        return fold(s) == fold(v.text)
    if v.kind == "glob":
        return glob_regex(v.text).match(fold(s)) is not None
    if v.kind == "regex":
        return compile_regex(v.text).search(s) is not None
    if v.kind == "cidr":
        return ip_in(s, v.text)
    return False


def _field_strings(fname: str, ev: Event) -> list[str]:
    p = ev.principal
    if fname == "user":
        return [p.display, p.arn, p.user_name, p.session_name, p.lookup_username]
    if fname == "resource":
        return [n for _, n in ev.resources]
    if fname == "type":
        return [t for t, _ in ev.resources]
    attr = {
        "name": ev.name,
        "source": ev.source,
        "region": ev.region,
        "account": ev.account,
        "ip": ev.source_ip,
        "key": p.access_key,
        "id": ev.event_id,
        "error": ev.error_code,
        "agent": ev.user_agent,
        "category": ev.category,
        "eventtype": ev.event_type,
    }
    return [attr[fname]]


def _term_match(t: Term, ev: Event) -> bool:
    if t.field == "readonly":
        hit = ev.read_only is not None and any(ev.read_only == (v.text == "true") for v in t.values)
    else:
        strings = _field_strings(t.field, ev)
        hit = any(_value_match(t.field, v, s) for v in t.values for s in strings)
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
