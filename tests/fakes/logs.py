"""A local CloudWatch Logs endpoint for FilterLogEvents, DescribeLogGroups and StartLiveTail,
speaking JSON 1.1 (``X-Amz-Target: Logs_20140328.<operation>``) with AWS's documented
behaviour, for real boto3 clients pointed at it (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS /
AWS_ENDPOINT_URL). FilterLogEvents:

* logGroupName or logGroupIdentifier (a name or an ARN), exactly one (else
  InvalidParameterException); ResourceNotFoundException for a group that doesn't exist;
  AccessDeniedException for a group configured as denied
* logStreamNames (at most 100) or logStreamNamePrefix, not both
* startTime/endTime in ms, both inclusive, on the log event's timestamp
* filterPattern: the JSON pattern language, evaluated for real (see ``Pattern``); an invalid
  pattern is refused with InvalidParameterException, as AWS does
* limit 1..10,000 (default 10,000) and at most 1 MB of events per page; a page may come back
  partly full or empty with a nextToken (``scan_cap`` events scanned per call), as AWS warns
* oldest first (startFromHead=false: newest first, refused for a startTime before 2024)
* an opaque nextToken bound to the original parameters (else InvalidParameterException)
* ThrottlingException beyond ``rate`` calls per second per account and region: 5, the
  FilterLogEvents quota (https://repost.aws/knowledge-center/cloudwatch-logs-throttling:
  "5 transactions per second (TPS) per account or AWS Region")
* every call is recorded (time, account, region, parameters, outcome) for the tests

DescribeLogGroups: logGroupNamePrefix, limit 1..50, nextToken; groups in name order with
``arn`` (ending ``:*``) and ``logGroupArn``.

StartLiveTail (botocore's service model and the API reference), answered over HTTP/1.1 with
a chunked body in AWS's event-stream encoding (application/vnd.amazon.eventstream: each
message a prelude of total and headers length with its CRC32, string headers ``:message-type``
``:event-type`` ``:content-type``, a JSON payload, the message's CRC32), which real boto3 parses:

* logGroupIdentifiers: 1 to 10 ARNs of existing groups of the caller's account and region, none
  ending in ``*`` (a name, a foreign ARN: InvalidParameterException / ResourceNotFoundException);
  AccessDeniedException for a denied group; logStreamNames or logStreamNamePrefixes (not both,
  only with one group); logEventFilterPattern in the same language as FilterLogEvents
* at most ``live_max_sessions`` (default 15) open sessions per account, LimitExceededException
  beyond
* the stream: initial-response, one sessionStart, then a sessionUpdate every
  ``live_update_every`` seconds (AWS: 1) holding the matching events put since the previous
  one (put = ingested), at most 500 (more are sampled down to 500, ``sampled`` true);
  SessionTimeoutException after ``live_session_limit`` seconds (AWS: 3 hours)
* ``live_tail = False``: the endpoint has no such operation (UnknownOperationException);
  ``live_tail_error``: StartLiveTail alone answers that error (AccessDenied, throttling...);
  ``break_sessions()`` ends every open session with SessionStreamingException (or drops the
  connection with no word), ``stall_sessions()`` silences them with the connection up; calls are recorded in ``live_calls`` (``calls`` holds only
  FilterLogEvents)

What the pattern language means here, where AWS's documentation is silent, is written down
in ``Pattern``; trailtui's compiler (trailtui/filter/logs.py) relies on nothing more.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import random
import re
import socket
import struct
import threading
import time
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from . import json11

TARGET_PREFIX = "Logs_20140328."
OPERATIONS = ("FilterLogEvents", "DescribeLogGroups", "StartLiveTail")
SECRET = b"fake-logs-token-key"
MAX_LIMIT = 10_000
MAX_PAGE_BYTES = 1024 * 1024
EVENT_OVERHEAD = 26  # bytes AWS counts per event beside its message
RATE = 5.0  # FilterLogEvents: transactions per second per account and region
HEAD_ONLY_BEFORE = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)

REGEX_ALLOWED = set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    ":_#=@/;,-"  # symbols
    "^$?[]{}|\\*+."  # operators
)
MAX_REGEXES = 2
MAX_PATTERN = 1024
LIVE_MAX_GROUPS = 10
LIVE_MAX_RESULTS = 500  # events in one sessionUpdate; more are sampled down
LIVE_MAX_SESSIONS = 15  # open sessions per account
LIVE_SESSION_LIMIT = 3 * 3600.0
_ARN = re.compile(r"arn:aws[\w-]*:logs:([\w-]+):(\d{12}):log-group:(.+?)(:\*)?")


class InvalidPattern(ValueError):
    pass


# --------------------------------------------------------------------------- the pattern language

_MISSING = object()
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lp>\() | (?P<rp>\)) | (?P<and>&&) | (?P<or>\|\|)
    | (?P<notexists>NOT\s+EXISTS\b) | (?P<isnull>IS\s+NULL\b)
    | (?P<istrue>IS\s+TRUE\b) | (?P<isfalse>IS\s+FALSE\b)
    | (?P<sel>\$(?:\.[A-Za-z_@][\w@-]*|\[\d+\])+)
    | (?P<op>!=|<=|>=|=|<|>)
    | (?P<str>"(?:[^"\\]|\\.)*")
    | (?P<rx>%[^%]*%)
    | (?P<bare>[^\s()&|"%=!<>]+)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    i = 0
    text = text.rstrip()
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            raise InvalidPattern(f"unexpected {text[i : i + 10]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        i = m.end()
    return out


def _select(doc: Any, sel: str) -> Any:
    v = doc
    for key, idx in re.findall(r"\.([^.\[]+)|\[(\d+)\]", sel[1:]):
        if key:
            if not isinstance(v, dict) or key not in v:
                return _MISSING
            v = v[key]
        else:
            if not isinstance(v, list) or int(idx) >= len(v):
                return _MISSING
            v = v[int(idx)]
    return v


def _wildcard(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in text) + r"\Z", re.DOTALL)


@dataclass
class Pattern:
    """A JSON filter pattern, parsed. Semantics (AWS's where documented):

    * ``=``/``!=`` against a quoted or bare string: case-sensitive; ``*`` is a wildcard for any
      run of characters; a number or a boolean in the event compares by its JSON text
    * ``%regex%``: searched (``%AUTHORIZED%`` matches "UNAUTHORIZED"), case-sensitive, only
      the documented characters and operators (no groups, no multibyte), at most two per
      pattern; ``.`` matches any character
    * a number on the right: numeric comparison (``<``, ``>``... too)
    * every comparison on a missing field, null, an object or an array is false, ``!=`` too;
      ``NOT EXISTS`` is true for a missing field only, ``IS NULL`` for null only
    * a message that is not a JSON object matches no JSON pattern
    """

    text: str
    regexes: int = 0

    def __post_init__(self) -> None:
        t = self.text.strip()
        if len(self.text) > MAX_PATTERN:
            raise InvalidPattern("pattern too long")
        if not (t.startswith("{") and t.endswith("}")):
            raise InvalidPattern("only JSON filter patterns are implemented by this fake")
        self._toks = _tokens(t[1:-1])
        self._i = 0
        self._tree = self._or()
        if self._i != len(self._toks):
            raise InvalidPattern(f"unexpected {self._toks[self._i][1]!r}")
        if self.regexes > MAX_REGEXES:
            raise InvalidPattern(f"at most {MAX_REGEXES} regular expressions in a pattern")

    # parsing -> nested tuples
    def _peek(self) -> str:
        return self._toks[self._i][0] if self._i < len(self._toks) else ""

    def _take(self, kind: str) -> str:
        if self._peek() != kind:
            raise InvalidPattern(f"expected {kind}, got {self._peek() or 'the end'}")
        self._i += 1
        return self._toks[self._i - 1][1]

    def _or(self) -> Any:
        parts = [self._and()]
        while self._peek() == "or":
            self._i += 1
            parts.append(self._and())
        return ("or", parts) if len(parts) > 1 else parts[0]

    def _and(self) -> Any:
        parts = [self._atom()]
        while self._peek() == "and":
            self._i += 1
            parts.append(self._atom())
        return ("and", parts) if len(parts) > 1 else parts[0]

    def _atom(self) -> Any:
        if self._peek() == "lp":
            self._i += 1
            inner = self._or()
            self._take("rp")
            return inner
        sel = self._take("sel")
        k = self._peek()
        if k in ("notexists", "isnull", "istrue", "isfalse"):
            self._i += 1
            return (k, sel)
        op = self._take("op")
        kind = self._peek()
        if kind not in ("str", "rx", "bare"):
            raise InvalidPattern("expected a value")
        raw = self._take(kind)
        if kind == "rx":
            body = raw[1:-1]
            if not body or any(c not in REGEX_ALLOWED for c in body):
                raise InvalidPattern(f"unsupported character in regex {raw!r}")
            if op not in ("=", "!="):
                raise InvalidPattern("regex with an ordering operator")
            try:
                rx = re.compile(body, re.DOTALL)
            except re.error as e:
                raise InvalidPattern(f"invalid regex {raw!r}: {e}") from None
            self.regexes += 1
            return ("cmp", sel, op, ("rx", rx))
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", raw[1:-1])
        else:
            text = raw
            try:
                return ("cmp", sel, op, ("num", float(text)))
            except ValueError:
                pass
        if op not in ("=", "!="):
            raise InvalidPattern("ordering operators compare numbers")
        return ("cmp", sel, op, ("str", _wildcard(text)))

    # evaluation
    def matches(self, message: str) -> bool:
        try:
            doc = json.loads(message)
        except ValueError:
            return False
        if not isinstance(doc, dict):
            return False
        return self._eval(self._tree, doc)

    def _eval(self, node: Any, doc: Any) -> bool:
        kind = node[0]
        if kind == "or":
            return any(self._eval(n, doc) for n in node[1])
        if kind == "and":
            return all(self._eval(n, doc) for n in node[1])
        v = _select(doc, node[1])
        if kind == "notexists":
            return v is _MISSING
        if kind == "isnull":
            return v is None
        if kind in ("istrue", "isfalse"):
            return v is (kind == "istrue")
        _, _, op, (vk, rhs) = node
        if v is _MISSING or v is None or isinstance(v, dict | list):
            return False
        if vk == "num":
            if isinstance(v, bool) or not isinstance(v, int | float):
                return False
            return {
                "=": v == rhs,
                "!=": v != rhs,
                "<": v < rhs,
                ">": v > rhs,
                "<=": v <= rhs,
                ">=": v >= rhs,
            }[op]
        s = (
            v
            if isinstance(v, str)
            else ("true" if v is True else "false" if v is False else str(v))
        )
        hit = (rhs.search(s) if vk == "rx" else rhs.match(s)) is not None
        return hit if op == "=" else not hit


# --------------------------------------------------------------------------- the endpoint


@dataclass
class Call:
    at: float
    account: str
    region: str
    params: dict[str, Any]
    outcome: str  # ok | throttled | error name
    returned: int = 0
    op: str = "FilterLogEvents"


@dataclass(slots=True)
class LogEvent:
    timestamp: int
    stream: str
    message: str
    ingestion: int
    event_id: str


def _err(kind: str, msg: str) -> tuple[int, dict[str, Any]]:
    return 400, {"__type": kind, "message": msg}


def _no_group() -> tuple[int, dict[str, Any]]:
    return _err("ResourceNotFoundException", "The specified log group does not exist.")


# ------------------------------------------------------------------ the event-stream encoding


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v  # 7: a string


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of application/vnd.amazon.eventstream: total length, headers length and
    their CRC32 (the prelude), the headers, the payload, the CRC32 of all before it."""
    hb = b"".join(_header(k, v) for k, v in headers.items())
    prelude = struct.pack(">II", 12 + len(hb) + len(payload) + 4, len(hb))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + hb + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def stream_event(kind: str, body: dict[str, Any]) -> bytes:
    headers = {":message-type": "event", ":event-type": kind, ":content-type": "application/json"}
    return event_message(headers, json.dumps(body).encode())


def stream_exception(kind: str, message: str) -> bytes:
    headers = {
        ":message-type": "exception",
        ":exception-type": kind,
        ":content-type": "application/json",
    }
    return event_message(headers, json.dumps({"message": message}).encode())


@dataclass
class LiveSession:
    """One StartLiveTail session: what it follows, and what was put since its last update."""

    account: str
    region: str
    groups: dict[tuple[str, str, str], str]  # key -> the identifier asked for
    streams: list[str] | None
    prefixes: list[str] | None
    pattern: Pattern | None
    params: dict[str, Any]
    started: float = field(default_factory=time.monotonic)
    pending: list[tuple[tuple[str, str, str], LogEvent]] = field(default_factory=list)
    end: str | None = None  # set: end the session (an exception type to send; '' = drop)
    stalled: bool = False  # the connection stays up, nothing more is sent
    wake: threading.Event = field(default_factory=threading.Event)
    sent: int = 0  # events sent
    updates: int = 0

    def wants(self, key: tuple[str, str, str], e: LogEvent) -> bool:
        return (
            key in self.groups
            and (self.streams is None or e.stream in self.streams)
            and (self.prefixes is None or any(e.stream.startswith(p) for p in self.prefixes))
        )

    def stop(self, kind: str) -> None:
        self.end = kind
        self.wake.set()


@dataclass
class FakeLogs:
    """Log groups per (account, region, name); access key id -> account."""

    keys: dict[str, str] = field(default_factory=dict)
    rate: float = RATE  # calls per second per account-region; 0 = unlimited
    scan_cap: int = 50_000  # stored events one call looks at before answering with a token
    latency: float = 0.0
    denied: set[tuple[str, str, str]] = field(default_factory=set)  # (account, region, group)
    fail_with: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)  # FilterLogEvents
    live_tail: bool = True  # False: the endpoint has no StartLiveTail
    live_tail_error: tuple[int, str, str] | None = None  # StartLiveTail answers this, only it
    live_update_every: float = 1.0  # seconds between sessionUpdates (AWS: every second)
    live_session_limit: float = LIVE_SESSION_LIMIT
    live_max_sessions: int = LIVE_MAX_SESSIONS
    live_calls: list[Call] = field(default_factory=list)  # StartLiveTail, DescribeLogGroups

    def __post_init__(self) -> None:
        self.groups: dict[tuple[str, str, str], list[LogEvent]] = {}
        self.sessions: list[LiveSession] = []  # open ones
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._sorted: set[tuple[str, str, str]] = set()
        self.server: ThreadingHTTPServer | None = None

    def create_group(self, account: str, region: str, group: str) -> None:
        self.groups.setdefault((account, region, group), [])

    def put(
        self,
        account: str,
        region: str,
        group: str,
        messages: list[tuple[int, str]],
        stream: str = "",
    ) -> None:
        """(timestamp ms, message) pairs into a group's stream."""
        key = (account, region, group)
        stream = stream or f"{account}_CloudTrail_{region}"
        with self._lock:
            evs = self.groups.setdefault(key, [])
            for ts, msg in messages:
                e = LogEvent(ts, stream, msg, ts + 1000, f"{len(evs):056d}")
                evs.append(e)
                for s in self.sessions:
                    if s.wants(key, e):
                        s.pending.append((key, e))
            self._sorted.discard(key)

    def put_records(
        self,
        account: str,
        region: str,
        group: str,
        records: list[dict[str, Any]],
        delay_ms: int = 60_000,
        stream: str = "",
    ) -> None:
        """CloudTrail records as CloudTrail delivers them: one JSON message each, the log
        event's timestamp ``delay_ms`` after the eventTime."""
        out = []
        for r in records:
            t = datetime.fromisoformat(str(r["eventTime"]).replace("Z", "+00:00"))
            out.append((int(t.timestamp() * 1000) + delay_ms, json.dumps(r)))
        self.put(account, region, group, out, stream)

    def _events(self, key: tuple[str, str, str]) -> list[LogEvent]:
        if key not in self._sorted:
            self.groups[key].sort(key=lambda e: (e.timestamp, e.event_id))
            self._sorted.add(key)
        return self.groups[key]

    # ------------------------------------------------------------------ the API

    def handle(self, account: str, region: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            if self.rate:
                q = self._recent[(account, region)]
                while q and now - q[0] >= 1.0:
                    q.popleft()
                if len(q) >= self.rate:
                    self.calls.append(Call(time.time(), account, region, body, "throttled"))
                    return _err("ThrottlingException", "Rate exceeded")
                q.append(now)
            call = Call(time.time(), account, region, body, "ok")
            self.calls.append(call)
        status, out = self._answer(account, region, body)
        if status != 200:
            call.outcome = str(out.get("__type"))
        else:
            call.returned = len(out["events"])
        if self.latency:
            time.sleep(self.latency)
        return status, out

    def _answer(
        self, account: str, region: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if (account, region) in self.fail_with:
            status, kind, msg = self.fail_with[(account, region)]
            return status, {"__type": kind, "message": msg}
        name, ident = body.get("logGroupName"), body.get("logGroupIdentifier")
        if (name is None) == (ident is None):
            return _err(
                "InvalidParameterException",
                "Provide either logGroupName or logGroupIdentifier, not both.",
            )
        group = name
        if ident is not None:
            group = ident
            m = _ARN.fullmatch(str(ident))
            if m:
                if (m.group(1), m.group(2)) != (region, account):
                    return _no_group()
                group = m.group(3)
        key = (account, region, str(group))
        refused = self._refused(key, "FilterLogEvents")
        if refused is not None:
            return refused
        streams, prefix = body.get("logStreamNames"), body.get("logStreamNamePrefix")
        if streams is not None and prefix is not None:
            return _err(
                "InvalidParameterException",
                "Cannot specify both logStreamNames and logStreamNamePrefix",
            )
        if streams is not None and not 1 <= len(streams) <= 100:
            return _err("InvalidParameterException", "logStreamNames: 1 to 100 names")
        limit = body.get("limit", MAX_LIMIT)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            return _err("InvalidParameterException", "limit must be 1..10000")
        start, end = body.get("startTime"), body.get("endTime")
        if start is not None and end is not None and start > end:
            return _err("InvalidParameterException", "startTime must not be after endTime")
        head = body.get("startFromHead", True)
        pat: Pattern | None = None
        if body.get("filterPattern"):
            try:
                pat = Pattern(body["filterPattern"])
            except InvalidPattern as e:
                return _err("InvalidParameterException", f"Invalid filter pattern: {e}")
        bound = {
            k: body.get(k)
            for k in (
                "logGroupName",
                "logGroupIdentifier",
                "logStreamNames",
                "logStreamNamePrefix",
                "startTime",
                "endTime",
                "filterPattern",
            )
        }
        offset = 0
        if body.get("nextToken"):
            try:
                tok = json.loads(base64.b64decode(body["nextToken"]))
                offset, head = int(tok["o"]), bool(tok["h"])
                if tok["s"] != self._sig(account, region, bound):
                    raise ValueError("token for other parameters")
            except (ValueError, KeyError, TypeError):
                return _err("InvalidParameterException", "The specified nextToken is invalid.")
        elif not head and (start is None or start < HEAD_ONLY_BEFORE):
            return _err(
                "InvalidParameterException",
                "startFromHead=false is supported only with a startTime on or after 2024-01-01",
            )
        scope = [
            e
            for e in self._events(key)
            if (start is None or e.timestamp >= start)
            and (end is None or e.timestamp <= end)
            and (streams is None or e.stream in streams)
            and (prefix is None or e.stream.startswith(prefix))
        ]
        if not head:
            scope.reverse()
        out: list[dict[str, Any]] = []
        size = 0
        i = offset
        while i < len(scope) and i - offset < self.scan_cap and len(out) < limit:
            e = scope[i]
            if pat is None or pat.matches(e.message):
                n = len(e.message.encode()) + EVENT_OVERHEAD
                if out and size + n > MAX_PAGE_BYTES:
                    break
                size += n
                out.append(
                    {
                        "logStreamName": e.stream,
                        "timestamp": e.timestamp,
                        "message": e.message,
                        "ingestionTime": e.ingestion,
                        "eventId": e.event_id,
                    }
                )
            i += 1
        resp: dict[str, Any] = {"events": out, "searchedLogStreams": []}
        if i < len(scope):
            tok = {"o": i, "h": head, "s": self._sig(account, region, bound)}
            resp["nextToken"] = base64.b64encode(json.dumps(tok).encode()).decode()
        return 200, resp

    def _refused(self, key: tuple[str, str, str], op: str) -> tuple[int, dict[str, Any]] | None:
        """AccessDenied for a denied group, ResourceNotFound for a missing one."""
        account, region, group = key
        if key in self.denied:
            arn = f"arn:aws:logs:{region}:{account}:log-group:{group}:*"
            return _err(
                "AccessDeniedException",
                f"User: arn:aws:iam::{account}:user/tester is not authorized to perform: "
                f"logs:{op} on resource: {arn}",
            )
        if key not in self.groups:
            return _no_group()
        return None

    def _record(self, op: str, account: str, region: str, body: dict[str, Any]) -> Call:
        call = Call(time.time(), account, region, body, "ok", op=op)
        with self._lock:
            self.live_calls.append(call)
        return call

    def describe(
        self, account: str, region: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """DescribeLogGroups: by name prefix, in name order, ``limit`` (1..50) a page."""
        call = self._record("DescribeLogGroups", account, region, body)
        status, out = self._describe(account, region, body)
        call.outcome = "ok" if status == 200 else str(out.get("__type"))
        return status, out

    def _describe(
        self, account: str, region: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if (account, region) in self.fail_with:
            status, kind, msg = self.fail_with[(account, region)]
            return status, {"__type": kind, "message": msg}
        prefix = str(body.get("logGroupNamePrefix") or "")
        limit = body.get("limit", 50)
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            return _err("InvalidParameterException", "limit must be 1..50")
        try:
            offset = int(body.get("nextToken") or 0)
        except ValueError:
            return _err("InvalidParameterException", "The specified nextToken is invalid.")
        with self._lock:
            names = sorted(g for a, r, g in self.groups if (a, r) == (account, region))
        names = [n for n in names if n.startswith(prefix)]
        page = names[offset : offset + limit]
        out: dict[str, Any] = {
            "logGroups": [
                {
                    "logGroupName": n,
                    "creationTime": 0,
                    "storedBytes": 0,
                    "arn": f"arn:aws:logs:{region}:{account}:log-group:{n}:*",
                    "logGroupArn": f"arn:aws:logs:{region}:{account}:log-group:{n}",
                    "logGroupClass": "STANDARD",
                }
                for n in page
            ]
        }
        if offset + limit < len(names):
            out["nextToken"] = str(offset + limit)
        return 200, out

    def start_live_tail(
        self, account: str, region: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], LiveSession | None]:
        """StartLiveTail: a session (its stream is served by ``serve_session``), or the error."""
        call = self._record("StartLiveTail", account, region, body)
        status, out, session = self._start_live_tail(account, region, body)
        call.outcome = "ok" if session is not None else str(out.get("__type"))
        return status, out, session

    def _start_live_tail(
        self, account: str, region: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], LiveSession | None]:
        def err(kind: str, msg: str) -> tuple[int, dict[str, Any], None]:
            return 400, {"__type": kind, "message": msg}, None

        refusal = self.fail_with.get((account, region)) or self.live_tail_error
        if refusal is not None:
            status, kind, msg = refusal
            return status, {"__type": kind, "message": msg}, None
        idents = body.get("logGroupIdentifiers")
        if not isinstance(idents, list) or not 1 <= len(idents) <= LIVE_MAX_GROUPS:
            return err("InvalidParameterException", "logGroupIdentifiers: 1 to 10 log group ARNs")
        groups: dict[tuple[str, str, str], str] = {}
        for ident in idents:
            m = _ARN.fullmatch(str(ident))
            if m is None or m.group(4):
                return err(
                    "InvalidParameterException",
                    f"{str(ident)[:100]!r}: a log group ARN, not ending with *, is required",
                )
            if (m.group(1), m.group(2)) != (region, account):
                return (*_no_group(), None)
            key = (account, region, m.group(3))
            refused = self._refused(key, "StartLiveTail")
            if refused is not None:
                return refused[0], refused[1], None
            groups[key] = str(ident)
        streams, prefixes = body.get("logStreamNames"), body.get("logStreamNamePrefixes")
        if streams is not None and prefixes is not None:
            return err(
                "InvalidParameterException",
                "Cannot specify both logStreamNames and logStreamNamePrefixes",
            )
        if (streams is not None or prefixes is not None) and len(groups) != 1:
            return err("InvalidParameterException", "log stream filters need exactly one log group")
        pat: Pattern | None = None
        if body.get("logEventFilterPattern"):
            try:
                pat = Pattern(body["logEventFilterPattern"])
            except InvalidPattern as e:
                return err("InvalidParameterException", f"Invalid filter pattern: {e}")
        session = LiveSession(account, region, groups, streams, prefixes, pat, body)
        with self._lock:
            if sum(s.account == account for s in self.sessions) >= self.live_max_sessions:
                return err(
                    "LimitExceededException",
                    f"The maximum number of concurrent Live Tail sessions ({self.live_max_sessions}) "
                    "has been reached.",
                )
            self.sessions.append(session)
        return 200, {}, session

    def serve_session(self, s: LiveSession, write: Any) -> None:
        """The session's stream, message by message through ``write`` (bytes), until it ends
        (its time limit, ``break_sessions``, ``stop``, the client gone)."""
        try:
            write(event_message({":message-type": "event", ":event-type": "initial-response",
                                 ":content-type": "application/json"}, b"{}"))  # fmt: skip
            start = {
                "requestId": "fake",
                "sessionId": f"session-{id(s):x}",
                "logGroupIdentifiers": list(s.groups.values()),
            }
            for k in ("logStreamNames", "logStreamNamePrefixes", "logEventFilterPattern"):
                if s.params.get(k) is not None:
                    start[k] = s.params[k]
            write(stream_event("sessionStart", start))
            while True:
                s.wake.wait(self.live_update_every)
                if s.end is not None:
                    if s.end:
                        write(stream_exception(s.end, "The session was ended by the fake."))
                    return
                if s.stalled:
                    continue
                if time.monotonic() - s.started >= self.live_session_limit:
                    write(stream_exception("SessionTimeoutException", "Session timed out."))
                    return
                with self._lock:
                    pending, s.pending = s.pending, []
                results = [
                    {
                        "logStreamName": e.stream,
                        "logGroupIdentifier": s.groups[key],
                        "message": e.message,
                        "timestamp": e.timestamp,
                        "ingestionTime": e.ingestion,
                    }
                    for key, e in pending
                    if s.pattern is None or s.pattern.matches(e.message)
                ]
                sampled = len(results) > LIVE_MAX_RESULTS
                if sampled:
                    keep = sorted(random.sample(range(len(results)), LIVE_MAX_RESULTS))
                    results = [results[i] for i in keep]
                s.sent += len(results)  # before the client can see them
                s.updates += 1
                write(stream_event("sessionUpdate", {"sessionMetadata": {"sampled": sampled},
                                                     "sessionResults": results}))  # fmt: skip
        except OSError:
            return  # the client went away
        finally:
            with self._lock:
                if s in self.sessions:
                    self.sessions.remove(s)

    def break_sessions(self, kind: str = "SessionStreamingException") -> int:
        """End every open session: with that exception in the stream ('' = the connection
        dropped with no word). How many there were."""
        with self._lock:
            open_ = list(self.sessions)
        for s in open_:
            s.stop(kind)
        return len(open_)

    def stall_sessions(self) -> None:
        """Every open session stops sending (its connection stays open, silent)."""
        with self._lock:
            for s in self.sessions:
                s.stalled = True

    def open_sessions(self) -> list[LiveSession]:
        with self._lock:
            return [s for s in self.sessions if s.end is None]

    @staticmethod
    def _sig(account: str, region: str, bound: dict[str, Any]) -> str:
        blob = json.dumps([account, region, bound], sort_keys=True).encode()
        return hmac.new(SECRET, blob, hashlib.sha256).hexdigest()[:16]

    # ------------------------------------------------------------------ serving

    def start(self) -> str:
        fake = self

        class Handler(json11.Handler):
            def operation(self) -> None:
                op = self.target.removeprefix(TARGET_PREFIX)
                if (
                    not self.target.startswith(TARGET_PREFIX)
                    or op not in OPERATIONS
                    or (op == "StartLiveTail" and not fake.live_tail)
                ):
                    self.send(
                        400, json11.error("UnknownOperationException", f"no operation {op!r}")
                    )
                    return
                account = self.account(fake.keys)
                if account is None:
                    return
                if op == "StartLiveTail":
                    status, out, session = fake.start_live_tail(account, self.region, self.body)
                    if session is None:
                        self.send(status, out)
                    else:
                        self._stream(session)
                    return
                if op == "DescribeLogGroups":
                    self.send(*fake.describe(account, self.region, self.body))
                    return
                self.send(*fake.handle(account, self.region, self.body))

            def _stream(self, session: LiveSession) -> None:
                """An event stream: one HTTP/1.1 chunk a message, as it is produced."""
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.amazon.eventstream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("x-amzn-RequestId", "fake")
                self.end_headers()

                def chunk(data: bytes) -> None:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()

                fake.serve_session(session, chunk)
                if session.end == "":
                    self.close_connection = True  # dropped: no last chunk
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                with contextlib.suppress(OSError):
                    self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True

        self.server, url = json11.serve(Handler)
        return url

    def stop(self) -> None:
        self.break_sessions("")
        json11.shut(self.server)

    def ok_calls(self) -> list[Call]:
        return [c for c in self.calls if c.outcome == "ok"]
