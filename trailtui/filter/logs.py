"""The filter pushed down to CloudWatch Logs: a JSON filter pattern for FilterLogEvents (and
later metric filters and Live Tail), plus what stays local.

The pattern selects a SUPERSET of what the filter matches and the local matcher makes it
exact, so ``pattern-selected ∩ local == local`` over any events. What that takes:

* CloudWatch compares values case-sensitively; this language folds ASCII case. A value with
  letters becomes a regex with each letter as a class (``name:stopinstances`` ->
  ``%^[Ss][Tt][Oo][Pp]...$%``); at most two regexes go in one pattern (AWS's limit), so the
  most selective terms get them and the rest stay local. Values without letters (IPs,
  numbers, account ids) go as quoted strings.
* ``!=`` and every comparison on a missing field are false in CloudWatch, while ``-field:x``
  also holds when the field is missing or empty: a negation becomes
  ``(f NOT EXISTS || f IS NULL || f != x)``. ``!=`` needs a value that matches a SUBSET of
  what ours matches (then its negation is a superset): the value as typed, case-sensitive,
  is one.
* regexes go within AWS's documented subset: letters, digits, ``: _ # = @ / ; , -`` and the
  operators ``^ $ ? [ ] { } | \\ * + .``; no groups, no multibyte characters. A character the
  subset can't hold becomes ``.`` (a superset); a group of alternatives with nothing
  outside it but a prefix and a suffix is distributed (``^(Stop|Start)`` ->
  ``^Stop|^Start``); anything else stays local.
* the local matcher reads ``name``/``source`` from ``insightDetails`` when the top-level one
  is empty, and reads lower-case keys when a record has no ``eventTime``/``eventName``/
  ``eventID``: positive comparisons on those fields also admit a missing/empty field, and
  every pattern admits records with no ``eventTime`` (``{ ($.eventTime NOT EXISTS) || ... }``).
* a pattern AWS would reject is never sent: at most 1024 characters and two regexes; terms
  that don't fit stay local.

Assumed of a pushed field, as CloudTrail writes it: a string or null when present (a
comparison on an object or an array is false in CloudWatch, whatever the operator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..fields import FIELDS
from .language import Expr, Filter, Group, Term, Value, Word, de_morgan, expr_text, widened

MAX_PATTERN = 1024  # FilterLogEvents filterPattern (botocore's model)
MAX_REGEXES = 2  # regexes per filter pattern (CloudWatch Logs quotas)
# most selective first: these get the regexes and the length budget
PRIORITY = ("name", "error", "source", "ip", "agent", "vpce", "tls", "eventtype", "region")
# fields the local matcher reads elsewhere when the top-level path is missing or empty
FALLBACK = frozenset({"name", "source"})
ESCAPE_HATCH = "($.eventTime NOT EXISTS)"

REGEX_SYMBOLS = frozenset(":_#=@/;,-")
REGEX_OPERATORS = frozenset("^$?[]{}|\\*+.")
_LITERAL_BAD = frozenset('"\\%*')


@dataclass(frozen=True, slots=True)
class LogsPlan:
    """``pattern`` ('' = every event); ``pushed``: the terms it carries (as the filter
    language writes them); ``local``: terms and words it doesn't (the local matcher applies
    the whole filter anyway, over what comes back)."""

    pattern: str
    pushed: tuple[str, ...] = ()
    local: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.pattern:
            return ""
        return "filter pattern for " + " ".join(self.pushed)


# --------------------------------------------------------------------------- values


def _is_letter(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _literal_ok(s: str, wildcards: bool = False) -> bool:
    """Can go inside double quotes as itself (printable ASCII, nothing to escape)."""
    return all(" " <= c <= "~" and (c not in _LITERAL_BAD or (wildcards and c == "*")) for c in s)


def _fold_char(c: str) -> tuple[str, bool]:
    """One literal character as a case-insensitive regex piece; False when it became a
    wider '.' (a superset)."""
    if _is_letter(c):
        return f"[{c.upper()}{c.lower()}]", True
    if c.isascii() and (c.isdigit() or c in REGEX_SYMBOLS):
        return c, True
    if c in REGEX_OPERATORS:
        return "\\" + c, True
    return ".", False


def _fold_literal(s: str) -> str:
    return "".join(_fold_char(c)[0] for c in s)


def _glob_regex(g: str) -> str:
    body = ""
    for c in g:
        body += ".*" if c == "*" else "." if c == "?" else _fold_char(c)[0]
    head = "" if body.startswith(".*") else "^"
    tail = "" if body.endswith(".*") else "$"
    body = body.removeprefix(".*") if head == "" else body
    body = body.removesuffix(".*") if tail == "" else body
    return head + body + tail


class _Untranslatable(ValueError):
    pass


def _distribute(rx: str) -> list[str]:
    """``pre(a|b)post`` -> [pre a post, pre b post] when that is the only group."""
    bare = rx.replace("\\\\", "").replace("\\(", "").replace("\\)", "")
    if "(" not in bare and ")" not in bare:
        return [rx]
    if rx.count("(") != 1 or rx.count(")") != 1 or bare.count("(") != 1:
        raise _Untranslatable(rx)
    i, j = rx.index("("), rx.index(")")
    pre, alts, post = rx[:i], rx[i + 1 : j], rx[j + 1 :]
    if (
        i > j
        or "|" in pre
        or "|" in post
        or alts.startswith("?")
        or post[:1] in ("*", "+", "?", "{")
    ):
        raise _Untranslatable(rx)
    return [pre + a + post for a in alts.split("|")]


def _class(rx: str, i: int) -> tuple[str, int, bool]:
    """A [...] class from rx[i] == '[': folded, the index after it, exact."""
    j = i + 1
    neg = j < len(rx) and rx[j] == "^"
    if neg:
        j += 1
    items: list[str] = []
    exact = True
    first = True
    while j < len(rx) and (rx[j] != "]" or first):
        first = False
        c = rx[j]
        if c == "\\" and j + 1 < len(rx):
            e = rx[j + 1]
            if e in "dws" and not neg:  # Unicode classes in CloudWatch: wider, not narrower
                items.append("\\" + e)
                exact = False
            elif not e.isalnum() and e.isascii() and e.isprintable():
                items.append(_class_char(e))
            else:
                raise _Untranslatable(rx)
            j += 2
            continue
        if j + 2 < len(rx) and rx[j + 1] == "-" and rx[j + 2] != "]":
            lo, hi = c, rx[j + 2]
            if lo.isdigit() and hi.isdigit():
                items.append(f"{lo}-{hi}")
            elif lo.islower() and hi.islower() and lo.isascii() and hi.isascii():
                items.append(f"{lo}-{hi}{lo.upper()}-{hi.upper()}")
            elif lo.isupper() and hi.isupper() and lo.isascii() and hi.isascii():
                items.append(f"{lo}-{hi}{lo.lower()}-{hi.lower()}")
            else:
                raise _Untranslatable(rx)
            j += 3
            continue
        if _is_letter(c):
            items.append(c.upper() + c.lower())
        elif c.isascii() and (c.isdigit() or c in REGEX_SYMBOLS or c in REGEX_OPERATORS):
            items.append(_class_char(c))
        else:
            raise _Untranslatable(rx)
        j += 1
    if j >= len(rx):
        raise _Untranslatable(rx)
    return "[" + ("^" if neg else "") + "".join(items) + "]", j + 1, exact


def _class_char(c: str) -> str:
    if c in "]\\^-[":
        return "\\" + c
    if c in REGEX_SYMBOLS or c in REGEX_OPERATORS or c.isalnum():
        return c
    raise _Untranslatable(c)


def _translate(rx: str) -> tuple[str, bool]:
    """One of our regexes (Python, case-insensitive, searched) as a CloudWatch regex:
    (regex, exact). Raises _Untranslatable."""
    out: list[str] = []
    exact = True
    i = 0
    while i < len(rx):
        c = rx[i]
        if c == "\\":
            if i + 1 >= len(rx):
                raise _Untranslatable(rx)
            e = rx[i + 1]
            if e in "dws":  # CloudWatch's may be Unicode-wide: a superset of ours
                out.append("\\" + e)
                exact = False
            elif e in REGEX_OPERATORS or e in REGEX_SYMBOLS:
                out.append("\\" + e if e in REGEX_OPERATORS else e)
            elif e.isascii() and e.isprintable() and not e.isalnum():
                out.append(".")
                exact = False
            else:
                raise _Untranslatable(rx)
            i += 2
            continue
        if c == "[":
            piece, i, ok = _class(rx, i)
            out.append(piece)
            exact = exact and ok
            continue
        if c in "()":
            raise _Untranslatable(rx)
        if c == "{":
            m = re.match(r"\{\d+(,\d*)?\}", rx[i:])
            if m is None:
                raise _Untranslatable(rx)
            out.append(m.group(0))
            i += len(m.group(0))
            continue
        if c in "^$?|*+.":
            if c in "*+?" and out and (out[-1] in ("*", "+") or out[-1].endswith("}")):
                raise _Untranslatable(rx)  # possessive/nested quantifiers
            out.append(c)
            i += 1
            continue
        piece, ok = _fold_char(c)
        out.append(piece)
        exact = exact and ok
        i += 1
    return "".join(out), exact


def user_regex(rx: str) -> tuple[str, bool] | None:
    """A user regex as a CloudWatch one (regex, exact), or None when it can't be said."""
    try:
        parts = [_translate(p) for p in _distribute(rx)]
    except _Untranslatable:
        return None
    text = "|".join(p for p, _ in parts)
    try:
        re.compile(text)
    except re.error:
        return None
    return text, all(e for _, e in parts)


@dataclass(slots=True)
class _Alts:
    """A positive value set on one path: quoted literals and one alternation regex."""

    literals: list[str]
    regexes: list[str]


def _positive(field: str, values: tuple[Value, ...]) -> _Alts | None:
    alts = _Alts([], [])
    expand = FIELDS[field].expand
    for v in values:
        if v.kind == "exact":
            for a in expand(v.text) if expand is not None else [v.text]:
                if not a:
                    continue  # an empty value matches nothing
                if not any(_is_letter(c) for c in a) and _literal_ok(a):
                    alts.literals.append(a)
                else:
                    alts.regexes.append("^" + _fold_literal(a) + "$")
        elif v.kind == "glob":
            if (
                not any(_is_letter(c) for c in v.text)
                and "?" not in v.text
                and _literal_ok(v.text, wildcards=True)
            ):
                alts.literals.append(v.text)
            else:
                alts.regexes.append(_glob_regex(v.text))
        elif v.kind == "regex":
            got = user_regex(v.text)
            if got is None:
                return None
            alts.regexes.append(got[0])
        elif v.kind == "cidr":
            lit = _cidr_literal(v.text)
            if lit is None:
                return None
            alts.literals.append(lit)
        else:
            return None
    if not alts.literals and not alts.regexes:
        return None
    return alts


def _cidr_literal(cidr: str) -> str | None:
    """An IPv4 CIDR as a string wildcard over whole octets (a superset): 10.1.0.0/16 ->
    10.1.*; IPv6 and prefixes under /8 stay local (their text has many spellings)."""
    if ":" in cidr:
        return None
    addr, _, plen = cidr.partition("/")
    n = int(plen or 32)
    if n < 8:
        return None
    octets = addr.split(".")
    if n == 32:
        return addr
    return ".".join(octets[: n // 8]) + ".*"


def _negative(field: str, values: tuple[Value, ...]) -> list[str]:
    """Rendered right-hand sides whose match is a SUBSET of ours (so ``!=`` them is a
    superset of our negation); values that have none are left out (fewer conjuncts is a
    wider pattern)."""
    out: list[str] = []
    expand = FIELDS[field].expand
    for v in values:
        if v.kind == "exact":
            for a in expand(v.text) if expand is not None else [v.text]:
                if a and _literal_ok(a):
                    out.append(_q(a))
        elif v.kind == "glob":
            if _literal_ok(v.text, wildcards=True) and v.text.strip("*"):
                out.append(_q(v.text))
        elif v.kind == "regex":
            got = user_regex(v.text)
            if got is not None and got[1] and re.search(got[0], "", re.DOTALL) is None:
                out.append(f"%{got[0]}%")
    return out


def _q(s: str) -> str:
    return f'"{s}"'


# --------------------------------------------------------------------------- terms


@dataclass(slots=True)
class _Compiled:
    text: str
    regexes: int


def _sel(path: str) -> str:
    return "$." + path


def compile_term(t: Term) -> _Compiled | None:
    field = FIELDS.get(t.field)
    if field is None or not field.record or field.kind in ("bool", "time"):
        return None
    if t.negated and any(v.kind == "glob" and not v.text.strip("*") for v in t.values):
        # -error:* : no value at all (missing, null or empty) on every path
        empty = [
            f'(({_sel(p)} NOT EXISTS) || ({_sel(p)} IS NULL) || ({_sel(p)} = ""))'
            for p in field.record
        ]
        return _Compiled(" && ".join(empty), 0)
    if t.negated:
        rhs = _negative(t.field, t.values)
        if not rhs:
            return None
        parts = []
        for p in field.record:
            s = _sel(p)
            ne = " && ".join(f"({s} != {r})" for r in rhs)
            parts.append(f"(({s} NOT EXISTS) || ({s} IS NULL) || {ne})")
        return _Compiled(" && ".join(parts), sum(r.startswith("%") for r in rhs) * len(parts))
    alts = _positive(t.field, t.values)
    if alts is None:
        return None
    ors: list[str] = []
    regexes = 0
    for p in field.record:
        s = _sel(p)
        ors += [f"({s} = {_q(lit)})" for lit in dict.fromkeys(alts.literals)]
        if alts.regexes:
            ors.append(f"({s} = %{'|'.join(dict.fromkeys(alts.regexes))}%)")
            regexes += 1
        if t.field in FALLBACK:
            ors += [f"({s} NOT EXISTS)", f"({s} IS NULL)", f'({s} = "")']
    text = ors[0] if len(ors) == 1 else "(" + " || ".join(ors) + ")"
    return _Compiled(text, regexes)


def _rank(t: Term) -> tuple[int, int]:
    order = PRIORITY.index(t.field) if t.field in PRIORITY else len(PRIORITY)
    return (1 if t.negated else 0, order)


def compile_expr(e: Expr) -> _Compiled | None:
    """A pattern selecting a superset of what the expression matches (None: it can't
    narrow anything). A NOT goes down to the terms (De Morgan), whose negations are
    supersets already; an AND keeps what narrows, an OR needs every side."""
    if isinstance(e, Term):
        t = widened(e)
        return None if t is None else compile_term(t)
    if isinstance(e, Word):
        return None
    op, items = de_morgan(e)
    parts = [compile_expr(x) for x in items]
    if op == "and":
        got = [p for p in parts if p is not None]
        if not got:
            return None
        return _Compiled("(" + " && ".join(p.text for p in got) + ")", sum(p.regexes for p in got))
    if any(p is None for p in parts):
        return None
    done = [p for p in parts if p is not None]
    return _Compiled("(" + " || ".join(p.text for p in done) + ")", sum(p.regexes for p in done))


def compile_filter(f: Filter) -> LogsPlan:
    """The JSON filter pattern for a filter (its time window goes in startTime/endTime)."""
    chosen: list[tuple[int, Term | Group, _Compiled]] = []
    local: list[str] = []
    regexes = 0
    order = {id(x): i for i, x in enumerate((*f.terms, *f.groups))}
    ranked: list[Term | Group] = [*sorted(f.terms, key=_rank), *f.groups]
    for x in ranked:
        c = compile_expr(x)
        if c is None or regexes + c.regexes > MAX_REGEXES:
            local.append(expr_text(x))
            continue
        if len(_render([y for _, _, y in chosen] + [c])) > MAX_PATTERN:
            local.append(expr_text(x))
            continue
        chosen.append((order[id(x)], x, c))
        regexes += c.regexes
    local += [expr_text(w) for w in f.words]
    if not chosen:
        return LogsPlan("", (), tuple(local))
    chosen.sort(key=lambda x: x[0])
    pushed = tuple(expr_text(x) for _, x, _ in chosen)
    return LogsPlan(_render([c for _, _, c in chosen]), pushed, tuple(local))


def _render(parts: list[_Compiled]) -> str:
    body = " && ".join(p.text for p in parts)
    return "{ " + ESCAPE_HATCH + " || (" + body + ") }"
