"""One Sigma rule (as pySigma parsed it) -> one filter of the filter language, exactly, or the
reason it can't be said.

What a rule says and how it is said here:

* a field is a dotted path into the record (``userIdentity.type``); the paths the cache keeps
  as columns (eventName, eventSource...) are answered from them, ``readOnly`` by ``readonly:``;
  a field whose name is one of trailtui's own field names (``user``, ``name``...) can't be said
* plain values compare case-insensitively (ASCII), with ``*`` and ``?`` wildcards (``\\``
  escapes them): exact -> ``path:value``; wildcards -> a glob, or a regex when a literal
  ``*``/``?`` (or a space, a comma...) must be kept; ``*`` alone -> any string, the empty one too
* ``|contains``, ``|startswith``, ``|endswith``, ``|windash``, ``|base64``, ``|base64offset``:
  pySigma turns them into plain values (several: OR); ``|all`` makes a list AND
* ``|cased``: a case-sensitive regex; ``|re`` (``i``, ``m``, ``s``): the regex inside
  ``(?flags-flags:...)`` (Sigma's regexes are case-sensitive, ``.`` stops at a newline)
* ``|cidr``: an address in the network; ``|exists``, ``null``: present / absent (a key holding
  null, ``{}`` or ``[]`` reads as absent, as everywhere in the filter language); ``''``: present
  and empty
* keywords (a list without a field): free words, a case-insensitive substring of the record's
  compact JSON (written as JSON writes them: ``a"b`` is looked for as ``a\\"b``); a leading or
  trailing ``*`` says nothing more, any other wildcard can't be said
* conditions: and / or / not, ``1 of``/``all of`` a pattern or ``them``, parentheses, a list
  of conditions (OR) -- pySigma resolves them; this walks the tree it gives

Anything else (numeric comparisons, field references, time parts, placeholders, UTF-16...)
raises ``Unsayable`` with a one-line reason: a rule is never half-evaluated. The text is parsed
back and must give exactly the expression built (``check``), so a value the language would read
differently (a CIDR-looking text, a regex with ``/``...) is caught, not run wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

from ..fields import FIELDS, field_of
from ..filter.language import (
    Expr,
    Filter,
    FilterSyntaxError,
    Group,
    Term,
    Value,
    Word,
    expr_text,
    negate,
    parse,
)
from ..filter.values import compile_regex

MAX_TEXT = 256 * 1024  # characters of a compiled filter


class Unsayable(ValueError):
    """The rule can't be said exactly in the filter language (the message says why)."""


# pySigma's modifier classes by name -> why the filter language can't say them
REFUSED = {
    "SigmaLessThanModifier": "|lt compares numbers: the filter language has no comparison",
    "SigmaLessThanEqualModifier": "|lte compares numbers: the filter language has no comparison",
    "SigmaGreaterThanModifier": "|gt compares numbers: the filter language has no comparison",
    "SigmaGreaterThanEqualModifier": "|gte compares numbers: the filter language has no comparison",
    "SigmaFieldReferenceModifier": "|fieldref compares two fields of an event: not in the "
    "filter language",
    "SigmaExpandModifier": "|expand needs placeholder values (%name%) trailtui has no list for",
    "SigmaWideModifier": "|wide (UTF-16) gives bytes CloudTrail's JSON text never holds",
    "SigmaUTF16Modifier": "|utf16 gives bytes CloudTrail's JSON text never holds",
    "SigmaUTF16BEModifier": "|utf16be gives bytes CloudTrail's JSON text never holds",
}
_TIME_PARTS = ("Minute", "Hour", "Day", "Week", "Month", "Year")
for _part in _TIME_PARTS:
    REFUSED[f"SigmaTimestamp{_part}Modifier"] = (
        f"|{_part.lower()} reads a part of a time: not in the filter language"
    )

# characters a glob can't hold bare (the value would end or read as something else)
_NOT_BARE = re.compile(r'[\s,"()]')
_LEADING_FLAGS = re.compile(r"\A\(\?([a-zA-Z]+)\)")


def modifier_problems(items: Iterable[Any]) -> str | None:
    """The first modifier of these detection items (nested detections too) the filter
    language can't say, as a reason; None when there is none."""
    for item in items:
        sub = getattr(item, "detection_items", None)
        if sub is not None:
            why = modifier_problems(sub)
            if why:
                return why
            continue
        for mod in getattr(item, "modifiers", ()):
            why = REFUSED.get(mod.__name__)
            if why:
                return why
    return None


# ---------------------------------------------------------------------------- fields


def field_name(name: str) -> str:
    """The term's field for a Sigma field: the path as written, or the catalogue field that is
    exactly that path (eventType -> eventtype, readOnly -> readonly). Raises Unsayable."""
    low = name.lower()
    fld = FIELDS.get(low)
    if fld is None:
        if not name or any(not p for p in name.split(".")):
            raise Unsayable(f"field {name!r}: not a dotted path")
        return name
    if low == "readonly":
        return low
    same_path = len(fld.record) == 1 and fld.record[0].lower() == low
    if same_path and fld.expand is None and fld.kind in ("text", "ip"):
        return low
    raise Unsayable(
        f"field {name!r} is also the name of trailtui's {low}: field, so the record's "
        f"{name} can't be named in a filter"
    )


def is_column(fieldname: str) -> bool:
    """Whether the cache answers this path from a column (where '' reads as absent)."""
    return not field_of(fieldname).path


# ---------------------------------------------------------------------------- values


def _regex_literal(text: str) -> str:
    """A literal for a regex inside the filter language (no '/': it would end the regex)."""
    return re.escape(text).replace("/", r"\x2f")


def _no_slash(pattern: str) -> str:
    """A regex with every '/' written as \\x2f (the same regex; the language's /.../ can hold
    it without escapes)."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(r"\x2f" if nxt == "/" else c + nxt)
            i += 2
            continue
        out.append(r"\x2f" if c == "/" else c)
        i += 1
    return "".join(out)


def _parts(s: Any) -> list[str | None]:
    """A SigmaString's parts: text, or None for * and '' for ? (placeholders refused)."""
    from sigma.types import Placeholder, SpecialChars

    out: list[str | None] = []
    for p in s.s:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, Placeholder):
            raise Unsayable(f"placeholder %{p.name}%: trailtui has no values for it")
        elif p == SpecialChars.WILDCARD_MULTI:
            out.append(None)
        elif p == SpecialChars.WILDCARD_SINGLE:
            out.append("")
        else:
            raise Unsayable(f"a special character {p!r} in a value")
    return out


def _pattern(parts: list[str | None]) -> str:
    """The parts as a regex body (* -> .*, ? -> .)."""
    return "".join(".*" if p is None else "." if p == "" else _regex_literal(p) for p in parts)


def string_values(s: Any, cased: bool, fieldname: str) -> list[Value]:
    """A Sigma string (with its wildcards) as values of one term (any of them matches)."""
    parts = _parts(s)
    if not any(p is None or p == "" for p in parts):  # no wildcard
        text = "".join(p for p in parts if p)
        if not text:
            if is_column(fieldname):
                raise Unsayable(
                    f"{fieldname}: '' (present and empty): the cache keeps {fieldname} as a "
                    "column, where empty and absent are one"
                )
            return [Value("exact", "")]
        if cased:
            return [Value("regex", rf"(?-i:\A{_regex_literal(text)}\Z)")]
        return [Value("exact", text)]
    if all(p is None for p in parts):  # '*': any string, the empty one too
        return [Value("glob", "?*"), Value("exact", "")]
    literal = "".join(p for p in parts if p)
    if cased:
        return [Value("regex", rf"(?-i:\A{_pattern(parts)}\Z)")]
    glob = "".join("*" if p is None else "?" if p == "" else p for p in parts)
    if (
        "*" in literal
        or "?" in literal
        or _NOT_BARE.search(glob)
        or glob.startswith(("/", "-", '"'))
    ):
        return [Value("regex", rf"\A{_pattern(parts)}\Z")]
    return [Value("glob", glob)]


def regex_value(v: Any) -> list[Value]:
    """A Sigma regex (case-sensitive unless i; . stops at a newline unless s; ^/$ at the
    text's ends unless m) as a regex of the filter language (case-insensitive, DOTALL)."""
    from sigma.types import SigmaRegularExpressionFlag as F

    pattern = str(v.regexp)
    on = {
        {F.IGNORECASE: "i", F.MULTILINE: "m", F.DOTALL: "s"}[f]
        for f in v.flags
        if f in (F.IGNORECASE, F.MULTILINE, F.DOTALL)
    }
    lead = _LEADING_FLAGS.match(pattern)
    if lead:  # (?i) at the start: the same flags for the whole pattern
        extra = set(lead.group(1))
        if not extra <= set("imsx"):
            raise Unsayable(f"regex flags (?{lead.group(1)}): only i, m, s and x can be said")
        on |= extra
        pattern = pattern[lead.end() :]
    off = {"i", "s"} - on
    flags = "".join(sorted(on)) + ("-" + "".join(sorted(off)) if off else "")
    text = f"(?{flags}:{_no_slash(pattern)})"
    try:
        rx = compile_regex(text)
    except (re.error, RecursionError, OverflowError) as e:
        raise Unsayable(f"regex {pattern!r}: Python can't read it ({e})") from None
    out = [Value("regex", text)]
    if rx.search("") is not None:  # it matches an empty value too: the language's regex doesn't
        out.append(Value("exact", ""))
    return out


def field_expr(fieldname: str, value: Any) -> Expr:
    """field = value (one value of a detection item, after its modifiers)."""
    from sigma.types import (
        SigmaBool,
        SigmaCasedString,
        SigmaCIDRExpression,
        SigmaExists,
        SigmaExpansion,
        SigmaNull,
        SigmaNumber,
        SigmaRegularExpression,
        SigmaString,
    )

    name = field_name(fieldname)
    if name == "readonly":
        return _readonly(value)
    if isinstance(value, SigmaExpansion):
        return any_of([field_expr(fieldname, v) for v in value.values])
    if isinstance(value, SigmaNull):
        return Term(name, (Value("glob", "*"), Value("exact", "")), negated=True)
    if isinstance(value, SigmaExists):
        return Term(name, (Value("glob", "*"), Value("exact", "")), negated=not value.exists)
    if isinstance(value, SigmaCasedString):
        return Term(name, tuple(string_values(value, True, name)))
    if isinstance(value, SigmaString):
        return Term(name, tuple(string_values(value, False, name)))
    if isinstance(value, SigmaBool):
        return Term(name, (Value("exact", "true" if value.boolean else "false"),))
    if isinstance(value, SigmaNumber):
        return Term(name, (Value("exact", str(value.number)),))
    if isinstance(value, SigmaRegularExpression):
        return Term(name, tuple(regex_value(value)))
    if isinstance(value, SigmaCIDRExpression):
        return Term(name, (Value("cidr", str(value.network)),))
    raise Unsayable(f"{fieldname}: a {type(value).__name__} value can't be said")


def _readonly(value: Any) -> Expr:
    """readOnly: the catalogue's readonly: (the record's true/false)."""
    from sigma.types import SigmaBool, SigmaExists, SigmaNull, SigmaString

    both = (Value("bool", "true"), Value("bool", "false"))
    if isinstance(value, SigmaBool):
        return Term("readonly", (Value("bool", "true" if value.boolean else "false"),))
    if isinstance(value, SigmaString) and not value.contains_special():
        text = value.to_plain().lower()
        if text in ("true", "false"):
            return Term("readonly", (Value("bool", text),))
    if isinstance(value, SigmaNull):
        return Term("readonly", both, negated=True)
    if isinstance(value, SigmaExists):
        return Term("readonly", both, negated=not value.exists)
    raise Unsayable("readOnly: only true, false, null or |exists can be said")


def keyword_expr(value: Any) -> Expr:
    """A keyword: a free word (a case-insensitive substring of the record's compact JSON)."""
    from sigma.types import SigmaCasedString, SigmaNumber, SigmaString

    if isinstance(value, SigmaNumber):
        return Word(str(value.number))
    if isinstance(value, SigmaCasedString) or not isinstance(value, SigmaString):
        raise Unsayable(f"keyword of type {type(value).__name__}: only plain words can be said")
    parts = _parts(value)
    while parts and parts[0] is None:  # a substring anywhere: leading/trailing * add nothing
        parts.pop(0)
    while parts and parts[-1] is None:
        parts.pop()
    if any(p is None or p == "" for p in parts):
        raise Unsayable(
            f"keyword {value.to_plain()!r}: a wildcard inside a keyword can't be said "
            "(free words are plain substrings)"
        )
    text = "".join(p for p in parts if p)
    if not text:
        raise Unsayable("keyword '*' (anything): not a word")
    try:
        written = orjson.dumps(text)[1:-1].decode()
    except orjson.JSONEncodeError:
        raise Unsayable(f"keyword {text!r}: not valid Unicode") from None
    return Word(written)


# ---------------------------------------------------------------------------- conditions


def _flat(op: str, items: Iterable[Expr]) -> list[Expr]:
    out: list[Expr] = []
    for x in items:
        if isinstance(x, Group) and x.op == op and not x.negated:
            out.extend(x.items)
        else:
            out.append(x)
    return out


def all_of(items: list[Expr]) -> Expr:
    flat = _flat("and", items)
    return flat[0] if len(flat) == 1 else Group("and", tuple(flat))


def any_of(items: list[Expr]) -> Expr:
    """OR; positive terms of one field become one term with all their values."""
    merged: list[Expr] = []
    at: dict[str, int] = {}
    for x in _flat("or", items):
        if isinstance(x, Term) and not x.negated:
            i = at.get(x.field)
            if i is not None:
                prev = merged[i]
                assert isinstance(prev, Term)
                values = tuple(dict.fromkeys((*prev.values, *x.values)))
                merged[i] = Term(x.field, values)
                continue
            at[x.field] = len(merged)
        merged.append(x)
    return merged[0] if len(merged) == 1 else Group("or", tuple(merged))


def condition_expr(node: Any, depth: int = 0) -> Expr:
    """A pySigma condition tree (identifiers resolved) as an expression."""
    from sigma.conditions import (
        ConditionAND,
        ConditionFieldEqualsValueExpression,
        ConditionNOT,
        ConditionOR,
        ConditionValueExpression,
    )

    if depth > 200:
        raise Unsayable("the condition is nested more than 200 deep")
    if isinstance(node, ConditionAND):
        return all_of([condition_expr(a, depth + 1) for a in node.args])
    if isinstance(node, ConditionOR):
        return any_of([condition_expr(a, depth + 1) for a in node.args])
    if isinstance(node, ConditionNOT):
        (arg,) = node.args
        return negate(condition_expr(arg, depth + 1))
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return field_expr(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        return keyword_expr(node.value)
    raise Unsayable(f"a condition of type {type(node).__name__} can't be said")


# ---------------------------------------------------------------------------- text


def conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Group) and e.op == "and" and not e.negated:
        return list(e.items)
    return [e]


def to_text(e: Expr) -> str:
    """The filter text of an expression (the top-level AND without parentheses)."""
    return " ".join(expr_text(x) for x in conjuncts(e))


def check(e: Expr) -> tuple[str, Filter]:
    """The text of the expression and its parsed filter, which must be the expression itself."""
    text = to_text(e)
    if len(text) > MAX_TEXT:
        raise Unsayable(f"the filter would be {len(text):,} characters (at most {MAX_TEXT:,})")
    try:
        f = parse(text)
    except FilterSyntaxError as err:
        raise Unsayable(f"the filter language can't read it back: {err}") from None
    except RecursionError:
        raise Unsayable("the condition is nested too deep for the filter language") from None
    want = sorted(map(repr, conjuncts(e)))
    if sorted(map(repr, f.conjuncts)) != want or f.since is not None or f.until is not None:
        raise Unsayable("the filter language would read its text differently")
    return text, f
