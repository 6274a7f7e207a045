"""A filter as a CloudWatch Logs metric filter pattern, exactly, or a refusal naming the part
that can't be said.

FilterLogEvents (filter/logs.py) may send a wider pattern because trailtui matches what comes
back; a metric filter counts what its pattern selects and nothing filters afterwards, so here
every term must be said exactly or the filter is refused:

* a field must be one JSON path of the record (``name`` is ``$.eventName``; a path is itself,
  its keys as typed); ``user:``, ``resource:``, ``account:``... are derived by trailtui from
  several places and are refused; OR and NOT of parentheses become ``||`` and (taken down
  to the terms) negated comparisons
* values compare **case-sensitively, exactly as typed** (CloudWatch has no case-insensitive
  comparison; trailtui's filter ignores case): ``name:StopInstances`` counts ``StopInstances``,
  not ``stopinstances``. Each plan says so, per value
* ``*`` is a wildcard (``name:Delete*``), as in CloudWatch; ``?``, regexes and free words are
  refused; a negation (``-name:Describe*``) also holds when the field is missing or null, as
  trailtui's does
* ``readonly:true|false`` becomes ``IS TRUE``/``IS FALSE`` (an event without readOnly counts
  for neither); a time window (since:/until:) doesn't apply to an alarm and is left out
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..fields import field_of
from .language import Expr, Filter, Term, Value, Word, de_morgan, expr_text

MAX_PATTERN = 1024  # PutMetricFilter's filterPattern


class NotExact(ValueError):
    """The filter can't be a metric filter pattern exactly: the message names the part."""


@dataclass(frozen=True, slots=True)
class MetricPlan:
    pattern: str
    how: list[str] = field(default_factory=list)  # how each value is matched, in words
    dropped: list[str] = field(default_factory=list)  # what doesn't apply to an alarm


def _literal(text: str, term: str, wildcards: bool) -> str:
    bad = [c for c in text if not (" " <= c <= "~") or c in '"\\%' or (c == "*" and not wildcards)]
    if bad:
        raise NotExact(
            f"{term}: the character {bad[0]!r} can't be said exactly in a metric filter value"
        )
    return f'"{text}"'


def _values(t: Term, term: str) -> list[str]:
    out: list[str] = []
    expand = field_of(t.field).expand
    for v in t.values:
        out += _value(t, v, term, expand(v.text) if expand and v.kind == "exact" else [v.text])
    return out


def _value(t: Term, v: Value, term: str, spellings: list[str]) -> list[str]:
    if v.kind == "regex":
        raise NotExact(
            f"{term}: a regex (a metric filter's %regex% is case-sensitive and a small subset: "
            "write the values out, with * wildcards)"
        )
    if v.kind == "glob":
        if "?" in v.text:
            raise NotExact(f"{term}: '?' has no exact equivalent in a metric filter (only *)")
        return [_literal(v.text, term, wildcards=True)]
    if v.kind == "cidr":
        addr, _, plen = v.text.partition("/")
        n = int(plen or 32)
        if ":" in addr or n % 8:
            raise NotExact(
                f"{term}: only whole-octet IPv4 networks (/8, /16, /24, /32) can be said exactly"
            )
        octets = addr.split(".")[: n // 8]
        return [_literal(".".join(octets) + ("" if n == 32 else ".*"), term, wildcards=True)]
    if v.kind == "exact":
        return [_literal(s, term, wildcards=False) for s in spellings if s]
    raise NotExact(f"{term}: can't be said exactly in a metric filter")


def _term(t: Term, how: list[str]) -> str:
    term = expr_text(t)
    fld = field_of(t.field)
    if fld.kind == "time":
        raise NotExact(f"{term}: not a field a metric filter can test")
    if fld.kind == "bool":
        if fld.name != "readonly" or len(t.values) != 1:
            raise NotExact(f"{term}: can't be said exactly in a metric filter")
        truth = (t.values[0].text == "true") != t.negated
        how.append(f"{term}: $.readOnly IS {'TRUE' if truth else 'FALSE'}")
        return f"($.readOnly IS {'TRUE' if truth else 'FALSE'})"
    if len(fld.record) != 1:
        raise NotExact(
            f"{term}: {t.field}: is read by trailtui from several places of a record, not one "
            "JSON path (a metric filter tests paths: e.g. usertype:, or name:/source:/error:)"
        )
    sel = "$." + fld.record[0]
    if t.negated and any(v.kind == "glob" and not v.text.strip("*") for v in t.values):
        how.append(f"{term}: {sel} missing, null or empty")
        return f'(({sel} NOT EXISTS) || ({sel} IS NULL) || ({sel} = ""))'
    values = list(dict.fromkeys(_values(t, term)))
    if not values:
        raise NotExact(f"{term}: no value")
    shown = " or ".join(values)
    if t.negated:
        how.append(f"{term}: {sel} missing, null, or not {shown} (case-sensitive, as typed)")
        ne = " && ".join(f"({sel} != {v})" for v in values)
        return f"(({sel} NOT EXISTS) || ({sel} IS NULL) || ({ne}))"
    if values == ['"*"']:
        how.append(f"{term}: {sel} is any non-empty value")
        return f'(({sel} = "*") && ({sel} != ""))'
    how.append(f"{term}: {sel} = {shown} (case-sensitive, exactly as typed; * = any characters)")
    ors = [f"({sel} = {v})" for v in values]
    return ors[0] if len(ors) == 1 else "(" + " || ".join(ors) + ")"


def _expr(e: Expr, how: list[str]) -> str:
    """An expression exactly: AND as &&, OR as ||, a NOT taken down to the terms."""
    if isinstance(e, Term):
        return _term(e, how)
    if isinstance(e, Word):
        raise NotExact(
            f"free words ({expr_text(e)}): they search the whole event, which a metric filter "
            "can't; use field:value terms"
        )
    op, items = de_morgan(e)
    return "(" + (" && " if op == "and" else " || ").join(_expr(x, how) for x in items) + ")"


def compile_exact(f: Filter) -> MetricPlan:
    """The metric filter pattern that selects exactly what the filter says (values matched
    case-sensitively, as typed; a path's keys as typed); raises NotExact naming the first
    part it can't say."""
    if not f.conjuncts:
        raise NotExact("an empty filter: an alarm on every event is not what you want")
    how: list[str] = []
    parts = [_expr(e, how) for e in f.conjuncts]
    dropped = []
    if f.since is not None or f.until is not None:
        dropped.append("the time window (since:/until:): an alarm counts events as they arrive")
    pattern = "{ " + " && ".join(parts) + " }"
    if len(pattern) > MAX_PATTERN:
        raise NotExact(
            f"the pattern would be {len(pattern)} characters; a metric filter takes "
            f"{MAX_PATTERN} at most: split the filter into several alarms"
        )
    return MetricPlan(pattern, how, dropped)
