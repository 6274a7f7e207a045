"""The filter language: its syntax, parsed into a Filter (matching: match.py; the cache's SQL:
sql.py; LookupEvents: lookup.py; the fields: ../fields.py).

One language for the filter bar, the CLI and bookmarks::

    name:StopInstances   name:Stop*   name:/^(Stop|Terminate)/   -name:Describe*
    name:StopInstances,StartInstances       (OR inside a field; fields AND together)
    user:skeddly-*  resource:i-0abc  type:AWS::EC2::Instance  source:ec2  region:us-east-1
    account:123456789012  ip:203.0.113.0/24  key:ASIA...  id:<eventID>  error:AccessDenied
    error:*  readonly:false  agent:*terraform*  category:Data  eventtype:AwsApiCall
    since:2d  until:2024-05-01T12:00   plain words  "quoted words"  -word

Matching is case-insensitive for ASCII letters (as SQLite's NOCASE and LIKE are), so the
SQL path and the Python matcher agree exactly. A missing (empty) field matches no value,
so ``error:*`` means "has an error" and ``-error:*`` "has none".
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from ..fields import COLUMN_PATHS, FIELDS, RECORD_KEYS_FOLDED
from .values import compile_regex

ValueKind = Literal["exact", "glob", "regex", "cidr", "bool"]


class FilterSyntaxError(ValueError):
    def __init__(self, message: str, pos: int, text: str = "") -> None:
        self.message = message
        self.pos = pos
        self.text = text
        super().__init__(f"column {pos + 1}: {message}")


@dataclass(frozen=True, slots=True)
class Value:
    kind: ValueKind
    text: str


@dataclass(frozen=True, slots=True)
class Term:
    field: str  # a catalogue name (fields.py), or a dotted path into the record
    values: tuple[Value, ...]
    negated: bool = False

    @property
    def path(self) -> bool:
        return self.field not in FIELDS


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """Expressions joined by AND or OR (negated: NOT of the whole)."""

    op: Literal["and", "or"]
    items: tuple[Expr, ...]
    negated: bool = False


Expr = Term | Word | Group


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter: the time window, and everything else ANDed: the plain terms and words
    (what most filters are), and the groups (OR, NOT of parentheses) every engine evaluates
    as expressions."""

    text: str = ""
    terms: tuple[Term, ...] = ()
    words: tuple[Word, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    groups: tuple[Group, ...] = ()

    def with_window(self, since: datetime | None, until: datetime | None) -> Filter:
        return Filter(self.text, self.terms, self.words, since, until, self.groups)

    @property
    def conjuncts(self) -> tuple[Expr, ...]:
        """Everything but the window, as expressions ANDed together."""
        out: tuple[Expr, ...] = (*self.terms, *self.words, *self.groups)
        return out


DURATION = re.compile(r"^(\d+)\s*(s|sec|m|min|h|hr|d|w)$", re.IGNORECASE)


_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "w": 604800}


def parse_when(text: str, now: datetime, end_of_day: bool = False) -> datetime:
    """A relative duration ago (2d, 3h) or an absolute time (naive = UTC)."""
    t = text.strip()
    m = DURATION.match(t)
    if m:
        return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()])
    try:
        dt = datetime.fromisoformat(t.replace(" ", "T", 1) if len(t) > 10 else t)
    except ValueError as e:
        raise ValueError(
            f"expected a duration (30m, 24h, 7d) or a time (2024-05-01T12:00), got {t!r}"
        ) from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if end_of_day and len(t) == 10:
        dt = dt + timedelta(days=1) - timedelta(milliseconds=1)
    return dt.astimezone(UTC)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def at_end_of_token(self) -> bool:
        return self.i >= len(self.text) or self.text[self.i].isspace()

    def quoted(self) -> str:
        start = self.i
        self.i += 1
        out = []
        while self.i < len(self.text):
            c = self.text[self.i]
            if c == "\\" and self.i + 1 < len(self.text):
                out.append(self.text[self.i + 1])
                self.i += 2
                continue
            if c == '"':
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1
        raise FilterSyntaxError('unterminated quote: expected a closing "', start, self.text)

    def regex(self) -> str:
        start = self.i
        self.i += 1
        out = []
        while self.i < len(self.text):
            c = self.text[self.i]
            if c == "\\" and self.i + 1 < len(self.text) and self.text[self.i + 1] == "/":
                out.append("/")
                self.i += 2
                continue
            if c == "/":
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1
        raise FilterSyntaxError("unterminated regex: expected a closing /", start, self.text)

    def bare(self, stop: str = "") -> str:
        start = self.i
        while self.i < len(self.text) and not self.text[self.i].isspace():
            if self.text[self.i] in stop:
                break
            self.i += 1
        return self.text[start : self.i]


# a catalogue name, or a dotted path into the record (keys as CloudTrail writes them)
_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-@$]+)*:")
MAX_PATH = 256  # characters of a path
MAX_DEPTH = 64  # parentheses inside each other
KEYWORDS = ("or", "and", "not")


def _classify(fieldname: str, raw: str, pos: int, text: str) -> Value:
    fld = FIELDS.get(fieldname)
    kind = fld.kind if fld is not None else "path"
    if kind == "bool":
        low = raw.lower()
        if low in ("true", "yes", "1"):
            return Value("bool", "true")
        if low in ("false", "no", "0"):
            return Value("bool", "false")
        raise FilterSyntaxError(f"readonly: expected true or false, got {raw!r}", pos, text)
    if kind in ("ip", "path") and "/" in raw:
        net = _network(raw)
        if net is not None:
            return Value("cidr", net)
        if kind == "ip":
            raise FilterSyntaxError(f"ip: expected an address or CIDR, got {raw!r}", pos, text)
    if "*" in raw or "?" in raw:
        return Value("glob", raw)
    return Value("exact", raw)


def _network(raw: str) -> str | None:
    """The network a bare value names (10.0.0.0/8), else None."""
    if not (raw[:1].isalnum() or raw[:1] == ":") or (":" not in raw and "." not in raw):
        return None
    try:
        return str(ipaddress.ip_network(raw, strict=False))
    except ValueError:
        return None


def _field_name(name: str, pos: int, text: str) -> str:
    """A catalogue name (lower-cased), or a path as written."""
    low = name.lower()
    if low in FIELDS:
        return low
    if len(name) > MAX_PATH:
        raise FilterSyntaxError(f"a path of {len(name)} characters: at most {MAX_PATH}", pos, text)
    if "." not in name and low not in RECORD_KEYS_FOLDED:
        close = difflib.get_close_matches(low, list(FIELDS), n=1, cutoff=0.75)
        if close:
            raise FilterSyntaxError(
                f"unknown field {name!r}: did you mean {close[0]}? (a name the catalogue "
                "doesn't know is a path into the record, e.g. requestParameters.bucketName)",
                pos,
                text,
            )
    return name


class _Parser:
    """Recursive descent: OR of ANDs (a space is AND) of [-|NOT] atoms; an atom is a term, a
    word, or a parenthesised expression. since:/until: only at the top level."""

    def __init__(self, text: str, now: datetime) -> None:
        self.r = _Reader(text)
        self.text = text
        self.now = now
        self.since: datetime | None = None
        self.until: datetime | None = None

    def skip(self) -> None:
        r = self.r
        while r.i < len(self.text) and self.text[r.i].isspace():
            r.i += 1

    def keyword(self) -> str:
        """The keyword at the cursor ('' for none): OR, AND, NOT in any case, as a token."""
        m = re.match(r"(or|and|not)(?=\s|$|\()", self.text[self.r.i : self.r.i + 4], re.I)
        if not m:
            return ""
        word = m.group(1).lower()
        nxt = self.text[self.r.i + len(word) : self.r.i + len(word) + 1]
        if nxt == "(" and word != "not":
            return ""
        return word

    def or_expr(self, depth: int) -> Expr | None:
        parts = [self.and_expr(depth)]
        while True:
            self.skip()
            if self.keyword() != "or":
                break
            pos = self.r.i
            self.r.i += 2
            nxt = self.and_expr(depth)
            if nxt is None or parts[-1] is None:
                raise FilterSyntaxError("expected a term on both sides of OR", pos, self.text)
            parts.append(nxt)
        if len(parts) == 1:
            return parts[0]
        if any(p is None for p in parts):
            raise FilterSyntaxError("expected a term on both sides of OR", self.r.i, self.text)
        return Group("or", tuple(p for p in parts if p is not None))

    def and_expr(self, depth: int) -> Expr | None:
        items: list[Expr] = []
        while True:
            self.skip()
            r = self.r
            if r.i >= len(self.text):
                break
            c = self.text[r.i]
            if c == ")":
                if depth == 0:
                    raise FilterSyntaxError("')' without a '(' before it", r.i, self.text)
                break
            kw = self.keyword()
            if kw == "or":
                break
            if kw == "and":
                pos = r.i
                r.i += 3
                self.skip()
                if not items or r.i >= len(self.text) or self.keyword() in ("or", "and"):
                    raise FilterSyntaxError("expected a term on both sides of AND", pos, self.text)
                continue
            item = self.unary(depth)
            if item is not None:
                items.append(item)
        if not items:
            return None
        return items[0] if len(items) == 1 else Group("and", tuple(items))

    def unary(self, depth: int) -> Expr | None:
        r = self.r
        start = r.i
        negated = False
        while True:
            if self.keyword() == "not":
                r.i += 3
                self.skip()
                negated = not negated
                continue
            if self.text[r.i : r.i + 1] == "-" and self.text[r.i + 1 : r.i + 2] == "(":
                r.i += 1
                negated = not negated
                continue
            break
        if r.i >= len(self.text) or self.text[r.i] == ")":
            raise FilterSyntaxError("expected a term after NOT", start, self.text)
        if self.text[r.i] == "(":
            if depth + 1 > MAX_DEPTH:
                raise FilterSyntaxError(
                    f"more than {MAX_DEPTH} '(' inside each other", r.i, self.text
                )
            opened = r.i
            r.i += 1
            inner = self.or_expr(depth + 1)
            self.skip()
            if r.peek() != ")":
                raise FilterSyntaxError("expected ')' to close the '('", opened, self.text)
            r.i += 1
            if not r.at_end_of_token() and r.peek() != ")":
                raise FilterSyntaxError("expected a space after ')'", r.i, self.text)
            if inner is None:
                raise FilterSyntaxError("expected a term inside '( )'", opened, self.text)
            return negate(inner) if negated else inner
        item = self.atom(depth, negated or start != r.i)
        if item is None:
            if negated:
                raise FilterSyntaxError("since:/until: can't be negated", start, self.text)
            return None
        return negate(item) if negated else item

    def atom(self, depth: int, under_not: bool) -> Term | Word | None:
        r, text = self.r, self.text
        start = r.i
        negated = False
        stop = ")" if depth else ""
        if text[r.i] == "-" and r.i + 1 < len(text) and not text[r.i + 1].isspace():
            negated = True
            r.i += 1
        m = _FIELD_RE.match(text, r.i)
        if m and m.group(0)[:-1].lower() == "arn":
            m = None
        if not m:
            word = r.quoted() if r.peek() == '"' else r.bare(stop)
            if not r.at_end_of_token() and not (depth and r.peek() == ")"):
                raise FilterSyntaxError("expected a space after the closing quote", r.i, text)
            if not word:
                if negated:
                    raise FilterSyntaxError("expected a word or a term after '-'", start, text)
                return None
            return Word(word, negated)
        fname = _field_name(m.group(0)[:-1], r.i, text)
        r.i = m.end()
        vpos = r.i
        if r.at_end_of_token() or (depth and r.peek() == ")"):
            raise FilterSyntaxError(f"expected a value after '{fname}:'", vpos, text)
        fld = FIELDS.get(fname)
        if fld is not None and fld.kind == "time":
            raw = r.quoted() if r.peek() == '"' else r.bare(stop)
            if negated:
                raise FilterSyntaxError(f"{fname}: can't be negated", start, text)
            if depth or under_not:
                raise FilterSyntaxError(
                    f"{fname}: only at the top level (the window is one for the whole filter)",
                    start,
                    text,
                )
            try:
                when = parse_when(raw, self.now, end_of_day=fname == "until")
            except ValueError as e:
                raise FilterSyntaxError(f"{fname}: {e}", vpos, text) from None
            if fname == "since":
                self.since = when if self.since is None else max(self.since, when)
            else:
                self.until = when if self.until is None else min(self.until, when)
            return None
        values: list[Value] = []
        while True:
            vstart = r.i
            c = r.peek()
            if c == '"':
                values.append(Value("exact", r.quoted()))
            elif c == "/":
                pat = r.regex()
                try:
                    compile_regex(pat)
                except re.error as e:
                    raise FilterSyntaxError(f"invalid regex: {e}", vstart, text) from None
                values.append(Value("regex", pat))
            else:
                raw = r.bare(stop="," + stop)
                if not raw:
                    raise FilterSyntaxError(f"expected a value after '{fname}:'", vstart, text)
                values.append(_classify(fname, raw, vstart, text))
            if r.peek() == ",":
                r.i += 1
                if r.at_end_of_token() or (depth and r.peek() == ")"):
                    raise FilterSyntaxError("expected another value after ','", r.i, text)
                continue
            if not r.at_end_of_token() and not (depth and r.peek() == ")"):
                raise FilterSyntaxError("expected ',' or a space after the value", r.i, text)
            break
        return Term(fname, tuple(values), negated)


def negate(e: Expr) -> Expr:
    if isinstance(e, Term):
        return Term(e.field, e.values, not e.negated)
    if isinstance(e, Word):
        return Word(e.text, not e.negated)
    return Group(e.op, e.items, not e.negated)


def widened(t: Term) -> Term | None:
    """A column path as the catalogue field it is (eventName:x -> name:x), for engines that
    select a superset: that field's value spellings only widen a positive term, but would
    narrow a negated one (then None: the caller can't narrow by it). Any other term as is."""
    name = COLUMN_PATHS.get(t.field.lower()) if t.field not in FIELDS else None
    if name is None:
        return t
    if t.negated and FIELDS[name].expand is not None:
        return None
    return Term(name, t.values, t.negated)


def de_morgan(g: Group) -> tuple[Literal["and", "or"], tuple[Expr, ...]]:
    """A group without its NOT: the NOT taken one level down (NOT (a OR b) = -a AND -b), for
    engines that can negate terms but not groups."""
    if not g.negated:
        return g.op, g.items
    return ("or" if g.op == "and" else "and"), tuple(negate(x) for x in g.items)


def _flat(e: Expr) -> list[Expr]:
    """The conjuncts of an expression (an AND group, not negated, opens up)."""
    if isinstance(e, Group) and e.op == "and" and not e.negated:
        return [x for item in e.items for x in _flat(item)]
    return [e]


def parse(text: str, now: datetime | None = None) -> Filter:
    """Parse a filter. Raises FilterSyntaxError naming the position and what was expected."""
    p = _Parser(text, now or datetime.now(UTC))
    top = p.or_expr(0)
    p.skip()
    if p.r.i < len(text):
        raise FilterSyntaxError("')' without a '(' before it", p.r.i, text)
    terms: list[Term] = []
    words: list[Word] = []
    groups: list[Group] = []
    for e in _flat(top) if top is not None else []:
        if isinstance(e, Term):
            terms.append(e)
        elif isinstance(e, Word):
            words.append(e)
        else:
            groups.append(e)
    return Filter(text, tuple(terms), tuple(words), p.since, p.until, tuple(groups))


def value_text(v: Value) -> str:
    """A value as the language reads it back."""
    if v.kind == "regex":
        return "/" + v.text.replace("/", "\\/") + "/"
    if v.kind in ("glob", "cidr", "bool"):
        return v.text
    return quote(v.text)


def expr_text(e: Expr) -> str:
    """An expression as the language reads it back (parse(expr_text(e)) gives e again)."""
    if isinstance(e, Term):
        return ("-" if e.negated else "") + e.field + ":" + ",".join(map(value_text, e.values))
    if isinstance(e, Word):
        return ("-" if e.negated else "") + quote_word(e.text)
    joined = (" OR " if e.op == "or" else " ").join(
        f"({expr_text(x)})" if isinstance(x, Group) and x.op == "or" and not x.negated
        else expr_text(x)
        for x in e.items
    )  # fmt: skip
    return ("-" if e.negated else "") + "(" + joined + ")"


def quote(value: str) -> str:
    """A value as the filter language reads it back as written: quoted when it holds spaces,
    commas, quotes, parentheses or glob characters, or would read as a regex or a CIDR."""
    if (
        not value
        or any(c.isspace() or c in ',"*?()' for c in value)
        or value.startswith("/")
        or ("/" in value and _network(value) is not None)
    ):
        return _quoted(value)
    return value


def quote_word(word: str) -> str:
    """A free word as the language reads it back (also quoted when it would read as a
    negation, a keyword or a field:value term)."""
    if word[:1] == "-" or word.lower() in KEYWORDS or _FIELD_RE.match(word):
        return _quoted(word)
    return quote(word)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
