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

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    pass
from ..fields import FIELDS
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
    field: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Filter:
    text: str = ""
    terms: tuple[Term, ...] = ()
    words: tuple[Word, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def with_window(self, since: datetime | None, until: datetime | None) -> Filter:
        return Filter(self.text, self.terms, self.words, since, until)


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


_FIELD_RE = re.compile(r"[A-Za-z_]+:")


def _classify(fieldname: str, raw: str, pos: int, text: str) -> Value:
    kind = FIELDS[fieldname].kind
    if kind == "bool":
        low = raw.lower()
        if low in ("true", "yes", "1"):
            return Value("bool", "true")
        if low in ("false", "no", "0"):
            return Value("bool", "false")
        raise FilterSyntaxError(f"readonly: expected true or false, got {raw!r}", pos, text)
    if kind == "ip" and "/" in raw:
        try:
            return Value("cidr", str(ipaddress.ip_network(raw, strict=False)))
        except ValueError as e:
            raise FilterSyntaxError(
                f"ip: expected an address or CIDR, got {raw!r}", pos, text
            ) from e
    if "*" in raw or "?" in raw:
        return Value("glob", raw)
    return Value("exact", raw)


def parse(text: str, now: datetime | None = None) -> Filter:
    """Parse a filter. Raises FilterSyntaxError naming the position and what was expected."""
    now = now or datetime.now(UTC)
    r = _Reader(text)
    terms: list[Term] = []
    words: list[Word] = []
    since: datetime | None = None
    until: datetime | None = None
    while True:
        while r.i < len(text) and text[r.i].isspace():
            r.i += 1
        if r.i >= len(text):
            break
        start = r.i
        negated = False
        if text[r.i] == "-" and r.i + 1 < len(text) and not text[r.i + 1].isspace():
            negated = True
            r.i += 1
        m = _FIELD_RE.match(text, r.i)
        fname = m.group(0)[:-1].lower() if m else ""
        if m and fname not in FIELDS and fname != "arn":
            raise FilterSyntaxError(
                f"unknown field {fname!r}: expected one of {', '.join(FIELDS)}", r.i, text
            )
        if not m or fname == "arn":
            word = r.quoted() if r.peek() == '"' else r.bare()
            if not r.at_end_of_token():
                raise FilterSyntaxError("expected a space after the closing quote", r.i, text)
            if word:
                words.append(Word(word, negated))
            continue
        assert m is not None
        r.i = m.end()
        vpos = r.i
        if r.at_end_of_token():
            raise FilterSyntaxError(f"expected a value after '{fname}:'", vpos, text)
        if FIELDS[fname].kind == "time":
            raw = r.quoted() if r.peek() == '"' else r.bare()
            if negated:
                raise FilterSyntaxError(f"{fname}: can't be negated", start, text)
            try:
                when = parse_when(raw, now, end_of_day=fname == "until")
            except ValueError as e:
                raise FilterSyntaxError(f"{fname}: {e}", vpos, text) from None
            if fname == "since":
                since = when if since is None else max(since, when)
            else:
                until = when if until is None else min(until, when)
            continue
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
                raw = r.bare(stop=",")
                if not raw:
                    raise FilterSyntaxError(f"expected a value after '{fname}:'", vstart, text)
                values.append(_classify(fname, raw, vstart, text))
            if r.peek() == ",":
                r.i += 1
                if r.at_end_of_token():
                    raise FilterSyntaxError("expected another value after ','", r.i, text)
                continue
            if not r.at_end_of_token():
                raise FilterSyntaxError("expected ',' or a space after the value", r.i, text)
            break
        terms.append(Term(fname, tuple(values), negated))
    return Filter(text, tuple(terms), tuple(words), since, until)


def quote(value: str) -> str:
    """A value as the filter language reads it back (quoted when it holds spaces, commas,
    quotes, glob characters, or starts like a regex)."""
    if not value or any(c.isspace() or c in ',"*?' for c in value) or value.startswith("/"):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value
