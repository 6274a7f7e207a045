"""The filter language: parse -> Filter; Python matching; SQL for the store; API pushdown.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .events import Event

ValueKind = Literal["exact", "glob", "regex", "cidr", "bool"]

# field -> description (shown in errors, help and completion)
FIELDS: dict[str, str] = {
    "name": "event name",
    "user": "principal: user, role, session, federated user or ARN",
    "resource": "resource name or ARN (instance id, bucket, ...)",
    "type": "resource type, e.g. AWS::EC2::Instance",
    "source": "event source, e.g. ec2 or ec2.amazonaws.com",
    "region": "AWS region",
    "account": "account id",
    "ip": "source IP address or CIDR",
    "key": "access key id",
    "id": "event id",
    "error": "error code (error:* = any error)",
    "readonly": "true or false",
    "agent": "user agent",
    "category": "Management, Data or Insight",
    "eventtype": "AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ...",
    "since": "start of the time window: 2d, 3h, 2024-05-01T12:00",
    "until": "end of the time window: 1h, 2024-05-01",
}

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

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(s: str) -> str:
    """ASCII-only lower-casing, exactly what SQLite's NOCASE/LIKE do."""
    return s.translate(_ASCII_LOWER)


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


# --------------------------------------------------------------------------- parsing

_DURATION = re.compile(r"^(\d+)\s*(s|sec|m|min|h|hr|d|w)$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "w": 604800}


def parse_when(text: str, now: datetime, end_of_day: bool = False) -> datetime:
    """A relative duration ago (2d, 3h) or an absolute time (naive = UTC)."""
    t = text.strip()
    m = _DURATION.match(t)
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
    if fieldname == "readonly":
        low = raw.lower()
        if low in ("true", "yes", "1"):
            return Value("bool", "true")
        if low in ("false", "no", "0"):
            return Value("bool", "false")
        raise FilterSyntaxError(f"readonly: expected true or false, got {raw!r}", pos, text)
    if fieldname == "ip" and "/" in raw:
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
        if fname in ("since", "until"):
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


# --------------------------------------------------------------------------- helpers


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.ASCII | re.DOTALL)


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in fold(pattern):
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def glob_like(pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch in "%_\\":
            out.append("\\" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=64)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def ip_in(value: str | None, cidr: str) -> bool:
    if not value:
        return False
    try:
        return ipaddress.ip_address(value) in _network(cidr)
    except ValueError:
        return False


def ipv4_int(value: str) -> int | None:
    """The integer of a dotted IPv4 address (indexed for CIDR ranges), else None."""
    parts = value.split(".")
    if len(parts) != 4:
        return None
    try:
        n = 0
        for p in parts:
            if not p.isdigit() or len(p) > 3:
                return None
            b = int(p)
            if b > 255:
                return None
            n = n * 256 + b
        return n
    except ValueError:
        return None


def _source_alts(v: str) -> list[str]:
    return [v] if "." in v else [v, v + ".amazonaws.com"]


# --------------------------------------------------------------------------- Python matcher


def _value_match(fname: str, v: Value, s: str) -> bool:
    if not s:
        return False
    if v.kind == "exact":
        if fname == "source":
            return fold(s) in {fold(a) for a in _source_alts(v.text)}
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


# --------------------------------------------------------------------------- SQL


@dataclass(slots=True)
class SQL:
    where: str
    params: list[Any] = field(default_factory=list)
    needs_raw: bool = False  # free words: the store post-filters on the raw JSON


def _col_cond(fname: str, col: str, v: Value, params: list[Any]) -> str:
    if v.kind == "exact":
        if fname == "source":
            alts = _source_alts(v.text)
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
        net = _network(v.text)
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


# --------------------------------------------------------------------------- API pushdown

# filter field -> LookupEvents AttributeKey, most selective first (DESIGN.md). user: is
# not pushed: the API's Username is the IAM user name or the *session* name, while user:
# also matches role names, display names and ARNs, so Username=X would drop events that
# match (a role's sessions, for user:RoleName) and the answer would be wrong.
PUSHDOWN_ORDER: tuple[tuple[str, str], ...] = (
    ("id", "EventId"),
    ("key", "AccessKeyId"),
    ("resource", "ResourceName"),
    ("name", "EventName"),
    ("type", "ResourceType"),
    ("source", "EventSource"),
    ("readonly", "ReadOnly"),
)
MAX_PUSHDOWN_CALLS = 5


@dataclass(slots=True)
class PushdownPlan:
    """How to ask LookupEvents for a superset of the filter's events.

    ``calls`` holds one LookupAttributes list per API call sequence (each with at most one
    attribute; ``[]`` = no attribute, every event of the window). Everything else in the
    filter is applied locally to what comes back.
    """

    calls: list[list[dict[str, str]]]
    start: datetime | None
    end: datetime | None
    pushed: str = ""  # the filter field sent to the API, '' for none

    @property
    def full_scan(self) -> bool:
        return not self.pushed


def pushdown(f: Filter) -> PushdownPlan:
    for fname, key in PUSHDOWN_ORDER:
        for t in f.terms:
            if t.field != fname or t.negated or len(t.values) > MAX_PUSHDOWN_CALLS:
                continue
            if not all(v.kind in ("exact", "bool") for v in t.values):
                continue
            vals: list[str] = []
            for v in t.values:
                if fname == "source":
                    vals.append(_source_alts(v.text)[-1])
                else:
                    vals.append(v.text)
            calls = [[{"AttributeKey": key, "AttributeValue": x}] for x in dict.fromkeys(vals)]
            return PushdownPlan(calls, f.since, f.until, fname)
    return PushdownPlan([[]], f.since, f.until, "")
