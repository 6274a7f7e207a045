"""CloudWatch Logs live tail (StartLiveTail) for follow mode: a session streams the log events
of up to 10 groups of one account and region as CloudWatch Logs ingests them, already matched
by the filter pattern; a daemon thread holds the stream and collects what arrives; each follow
poll drains it into the store.

What AWS says (botocore's service model for logs, the API reference):

* ``logGroupIdentifiers``: 1 to 10 ARNs, none ending in ``*`` (names are turned into ARNs
  with DescribeLogGroups); ``logEventFilterPattern``: the FilterLogEvents language, up to
  1,024 characters
* the response is an event stream: an initial response, one ``sessionStart``, then a
  ``sessionUpdate`` every second with up to 500 events (``sessionMetadata.sampled``: more
  matched and were sampled down); ``SessionTimeoutException`` after 3 hours;
  ``SessionStreamingException`` on an unknown server error; the session ends when the
  connection does
* a quota of concurrent sessions per account (``LimitExceededException`` beyond); groups of
  the Infrequent Access class can't be tailed (``InvalidOperationException``); sessions are
  billed by the minute (the AWS CLI reference for start-live-tail), so an idle one is closed
* only events ingested after the session started are sent
* boto3 routes it with the host prefix ``stream-``, put before a custom endpoint's host too
  (``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``), unless ``AWS_DISABLE_HOST_PREFIX_INJECTION=true``

So a session alone never vouches for a window. ``LiveTails.vouches`` is true only when every
group is in a live session *and* a complete FilterLogEvents read of the window started
``OVERLAP`` after the latest of them went live: what was ingested before, that read holds;
what after, the stream. Until then, and whenever a session is refused, breaks, samples or
drops events, the follow poll reads with FilterLogEvents as well (the store drops what it
holds, so the two overlap without doubling anything).

Nothing here raises into the caller: whatever goes wrong (refused, unreachable, a stream
error, a broken connection, a malformed event) ends the session with a state and one line
saying why, and the source polls FilterLogEvents; a refusal that may pass is tried again
after ``RETRY_AFTER``, a broken stream at the next poll (``BREAKS`` in ``BREAK_WINDOW``: after
``RETRY_AFTER``). boto3 is never imported here: the caller hands a client factory.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..safe import clean

LIVE_EVERY = 0.5  # seconds between drains: AWS sends a sessionUpdate every second; a drain
# makes no call (the explorer idle-following used 0.6% CPU draining every 1 s, 1.2% every 0.25 s)
OVERLAP = 10.0  # seconds after a session went live that a vouching FilterLogEvents read starts
# (an event ingested just before the session started must be searchable by then)
STALE = 10.0  # seconds without an update (AWS sends one a second) before a session stops
# vouching: a stalled connection is only noticed by the 60 s read timeout
MAX_GROUPS = 10  # log groups in one session
RETRY_AFTER = 300.0  # a refusal that may pass (throttled, too many sessions, unreachable)
BREAKS = 3  # streams broken within BREAK_WINDOW before reconnecting waits RETRY_AFTER
BREAK_WINDOW = 600.0
IDLE = 60.0  # a session no poll drained for this long (or 3 poll intervals) closes: follow
# paused, the app gone; the next poll starts another
MAX_BUFFERED = (
    50_000  # events held between two drains; beyond, dropped (FilterLogEvents reads them)
)
MAX_BUFFERED_BYTES = 64 * 1024 * 1024
_ARN = re.compile(r"arn:[\w-]+:logs:[\w-]+:\d{12}:log-group:[\w#+=/:,.@-]+")
ARN_MAX = 2048

STARTING, LIVE, FAILED, CLOSED = "starting", "live", "failed", "closed"

_NO_OPERATION = {
    "UnknownOperationException",
    "UnrecognizedOperationException",
    "InvalidAction",
    "NotImplemented",
    "NotImplementedException",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException"}
_CONNECTION = {
    "ConnectionClosedError",
    "ReadTimeoutError",
    "ProtocolError",
    "IncompleteRead",
    "ConnectionResetError",
    "ResponseStreamingError",
    "ConnectionError",
}


class Group(Protocol):
    """A log group as the source knows it (``trailtui.sources.logs.LogGroup``)."""

    @property
    def profile(self) -> str | None: ...
    @property
    def region(self) -> str: ...
    @property
    def group(self) -> str: ...  # a name or an ARN, as the user gave it
    @property
    def key(self) -> str: ...
    @property
    def account_region(self) -> str: ...


class Refused(Exception):
    """A session that can't start: one line, a few words, and when to try again (None: not)."""

    def __init__(self, line: str, short: str, retry: float | None) -> None:
        super().__init__(line)
        self.line, self.short, self.retry = line, short, retry


def _code(exc: BaseException) -> tuple[str, str, int]:
    resp = getattr(exc, "response", None)
    if not isinstance(resp, dict):
        return "", "", 0
    err = resp.get("Error") or {}
    meta = resp.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode", 0) if isinstance(meta, dict) else 0
    if not isinstance(err, dict):
        return "", "", status if isinstance(status, int) else 0
    return (
        str(err.get("Code", "")),
        str(err.get("Message", "")),
        status if isinstance(status, int) else 0,
    )


def classify(exc: BaseException, was_live: bool = False) -> Refused:
    """Why a session failed, in one line and a few words, and when to try again."""
    if isinstance(exc, Refused):
        return exc
    code, msg, status = _code(exc)
    name = type(exc).__name__
    msg = clean(msg, 160)
    if code == "SessionTimeoutException":
        return Refused("the session reached its 3-hour limit; started again", "timed out", 0.0)
    if code == "SessionStreamingException":
        return Refused(f"stream error: {msg or 'unknown'}", "stream error", 0.0)
    if code in _NO_OPERATION or (not code and status in (404, 501)):
        return Refused("the endpoint has no StartLiveTail", "not offered by the endpoint", None)
    if code in _DENIED:
        return Refused("not allowed to call logs:StartLiveTail", "not allowed", None)
    if code == "LimitExceededException":
        return Refused(
            "the account has as many live tail sessions open as its quota allows",
            "too many sessions",
            RETRY_AFTER,
        )
    if code in _THROTTLED:
        return Refused("StartLiveTail was throttled", "throttled", RETRY_AFTER)
    if code == "InvalidOperationException":
        return Refused(
            f"CloudWatch Logs can't tail these groups (Infrequent Access class?): {msg}"[:200],
            "not possible for these groups",
            None,
        )
    if code == "ResourceNotFoundException":
        return Refused("no such log group for live tail", "no such group", None)
    if code:
        return Refused(f"{clean(code, 60)}: {msg}"[:200], clean(code, 40), RETRY_AFTER)
    if name == "EndpointConnectionError":
        url = str((getattr(exc, "kwargs", None) or {}).get("endpoint_url", ""))
        line = f"can't reach {clean(url, 120) or 'the live tail endpoint'}"
        if "://stream-" in url and ".amazonaws.com" not in url:
            line += " (boto3 put 'stream-' before a custom endpoint: AWS_DISABLE_HOST_PREFIX_INJECTION=true)"
        return Refused(line, "unreachable", RETRY_AFTER)
    if name == "ParamValidationError":
        return Refused(
            f"StartLiveTail refused the parameters: {clean(str(exc), 160)}", "invalid", None
        )
    if isinstance(exc, OSError) or any(c.__name__ in _CONNECTION for c in type(exc).__mro__):
        return Refused(
            "the stream's connection was lost", "connection lost", 0.0 if was_live else RETRY_AFTER
        )
    return Refused(f"{name}: {clean(str(exc), 160)}"[:200], name, RETRY_AFTER)


class Session:
    """One StartLiveTail stream for up to 10 groups of one account and region, held by a daemon
    thread that collects what arrives until it is closed, idle, or fails. Never raises."""

    def __init__(
        self,
        groups: Sequence[Group],
        pattern: str,
        client: Callable[[], Any],
        arns: dict[str, str],
    ) -> None:
        self.groups = list(groups)
        self.pattern = pattern
        self.state = STARTING
        self.failure: Refused | None = None
        self.was_live = False
        self.live_since: float | None = None  # monotonic: since when nothing was lost
        self.ended_at = 0.0
        self.received = 0
        self.lost = 0  # events dropped here (buffer full) or sampled out by AWS (updates)
        self.noted = False  # counted among the breaks
        self.drained_at = time.monotonic()
        self.heard_at = 0.0  # monotonic: the last event from the stream
        self.idle_after = IDLE
        self._client = client
        self._arns = arns  # name -> ARN, shared by the sessions of an account-region
        self._by_id: dict[str, Group] = {}
        self._buf: list[tuple[Group, str]] = []
        self._bytes = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trailtui live tail", daemon=True)

    def start(self) -> Session:
        self._thread.start()
        return self

    def close(self) -> None:
        """The thread ends at the next update (within a second): the session with it."""
        self._closing.set()

    @property
    def ended(self) -> bool:
        return self.state in (FAILED, CLOSED)

    def drain(self) -> list[tuple[Group, str]]:
        """(group, message) of every event that arrived since the last drain."""
        with self._lock:
            out, self._buf, self._bytes = self._buf, [], 0
        now = time.monotonic()
        self.idle_after = max(IDLE, 3 * (now - self.drained_at))
        self.drained_at = now
        return out

    def _run(self) -> None:
        stream: Any = None
        client: Any = None
        try:
            client = self._client()
            ids = [self._arn(client, g) for g in self.groups]
            params: dict[str, Any] = {"logGroupIdentifiers": ids}
            if self.pattern:
                params["logEventFilterPattern"] = self.pattern
            if self._closing.is_set():
                return
            stream = client.start_live_tail(**params)["responseStream"]
            for event in stream:
                if self._closing.is_set() or time.monotonic() - self.drained_at > self.idle_after:
                    return
                self.heard_at = time.monotonic()
                if isinstance(event, dict):
                    self._take(event)
            raise Refused("the stream ended", "stream ended", 0.0)
        except Exception as e:  # whatever it was: the source polls FilterLogEvents instead
            if not self._closing.is_set():
                self.live_since = None
                self.ended_at = time.monotonic()
                self.failure = classify(e, self.was_live)
                self.state = FAILED
        finally:
            if self.state != FAILED:
                self.live_since = None
                self.ended_at = time.monotonic()
                self.state = CLOSED
            for thing in (stream, client):
                if thing is not None:
                    with contextlib.suppress(Exception):
                        thing.close()

    def _arn(self, client: Any, g: Group) -> str:
        """The group's ARN (StartLiveTail takes nothing else): as given, or DescribeLogGroups'."""
        name = g.group
        if name.startswith("arn:"):
            arn: Any = name.removesuffix(":*")
        elif name in self._arns:
            arn = self._arns[name]
        else:
            try:
                resp = client.describe_log_groups(logGroupNamePrefix=name, limit=1)
            except Exception as e:
                code = _code(e)[0]
                if code in _DENIED:
                    raise Refused(
                        "not allowed to call logs:DescribeLogGroups (live tail needs the group's "
                        "ARN: give --log-group as an ARN)",
                        "not allowed",
                        None,
                    ) from e
                raise
            found = [
                x
                for x in resp.get("logGroups") or []
                if isinstance(x, dict) and x.get("logGroupName") == name
            ]
            if not found:
                raise Refused(f"no log group {clean(name, 100)!r}", "no such group", None)
            arn = found[0].get("logGroupArn") or str(found[0].get("arn") or "").removesuffix(":*")
        if not isinstance(arn, str) or len(arn) > ARN_MAX or not _ARN.fullmatch(arn):
            raise Refused(f"no usable ARN for {clean(name, 100)!r}", "no ARN", None)
        self._arns[name] = arn
        self._by_id[arn] = g
        self._by_id[name] = g
        return arn

    def _group_of(self, ident: Any) -> Group:
        if isinstance(ident, str):
            g = self._by_id.get(ident) or self._by_id.get(ident.removesuffix(":*"))
            if g is not None:
                return g
        return self.groups[0]  # one of the session's groups: all are in the source's scope

    def _take(self, event: dict[str, Any]) -> None:
        if "sessionStart" in event:
            self.was_live = True
            self.live_since = time.monotonic()
            self.state = LIVE
            return
        update = event.get("sessionUpdate")
        if not isinstance(update, dict):
            return  # an event this version doesn't know: nothing to take from it
        meta = update.get("sessionMetadata")
        lost = isinstance(meta, dict) and meta.get("sampled") is True
        results = update.get("sessionResults")
        items = []
        for r in results if isinstance(results, list) else []:
            msg = r.get("message") if isinstance(r, dict) else None
            if isinstance(msg, str) and msg:
                items.append((self._group_of(r.get("logGroupIdentifier")), msg))
        with self._lock:
            for g, msg in items:
                if len(self._buf) >= MAX_BUFFERED or self._bytes + len(msg) > MAX_BUFFERED_BYTES:
                    lost = True
                    self.lost += 1
                    continue
                self._buf.append((g, msg))
                self._bytes += len(msg)
            self.received += len(items)
        if lost and self.live_since is not None:
            self.live_since = time.monotonic()  # only a read after this vouches again


class LiveTails:
    """The live tail sessions following a source's groups for one filter pattern: one per
    account-region and 10 groups, started, replaced and retried at each poll (``ensure``)."""

    def __init__(self, groups: Sequence[Group], client: Callable[[Group], Any]) -> None:
        by: dict[str, list[Group]] = {}
        for g in groups:
            by.setdefault(g.account_region, []).append(g)
        self.chunks = [
            (key, gs[i : i + MAX_GROUPS])
            for key, gs in by.items()
            for i in range(0, len(gs), MAX_GROUPS)
        ]
        self.pattern: str | None = None
        self.sessions: dict[int, Session] = {}  # chunk index -> its session
        self.read_at: float | None = None  # when the last complete FilterLogEvents read started
        self._client = client
        self._arns: dict[str, dict[str, str]] = {}
        self._breaks: dict[int, deque[float]] = {}
        self._carry: list[tuple[Group, str]] = []  # what replaced sessions held
        self._lock = threading.RLock()

    def ensure(self, pattern: str) -> None:
        """Sessions for ``pattern`` for every chunk, unless refused for good or until a retry
        is due: a new pattern closes the old ones; an ended session is replaced."""
        with self._lock:
            if pattern != self.pattern:
                self.close()
                self.pattern, self.read_at = pattern, None
            now = time.monotonic()
            for i, (key, groups) in enumerate(self.chunks):
                s = self.sessions.get(i)
                if s is not None and not s.ended:
                    continue
                if s is not None and s.state == FAILED and not self._due(i, s, now):
                    continue
                if s is not None:
                    self._carry += s.drain()
                arns = self._arns.setdefault(key, {})
                client = functools.partial(self._client, groups[0])
                self.sessions[i] = Session(groups, pattern, client, arns).start()

    def _due(self, i: int, s: Session, now: float) -> bool:
        f = s.failure
        if f is None or f.retry is None:
            return False
        wait = f.retry
        if s.was_live and f.short != "timed out":
            q = self._breaks.setdefault(i, deque())
            if not s.noted:
                s.noted = True
                q.append(s.ended_at)
            while q and now - q[0] > BREAK_WINDOW:
                q.popleft()
            if len(q) >= BREAKS:
                wait = max(wait, RETRY_AFTER)
        return now >= s.ended_at + wait

    def drain(self) -> list[tuple[Group, str]]:
        with self._lock:
            out, self._carry = self._carry, []
            for s in self.sessions.values():
                out += s.drain()
            return out

    def read_done(self, started: float) -> None:
        """A complete FilterLogEvents read of the window, started then (monotonic)."""
        with self._lock:
            self.read_at = max(self.read_at or started, started)

    def vouches(self) -> bool:
        """Every group is in a live session that was heard from lately, and a complete
        FilterLogEvents read started ``OVERLAP`` after the latest went live (or lost an event):
        nothing can be missing."""
        with self._lock:
            if self.read_at is None or len(self.sessions) < len(self.chunks):
                return False
            now = time.monotonic()
            for s in self.sessions.values():
                since = s.live_since
                if s.state != LIVE or since is None or self.read_at < since + OVERLAP:
                    return False
                if now - s.heard_at > STALE:
                    return False
            return True

    def describe(self, polling: str) -> tuple[str, bool]:
        """How new events are followed, in a few words (``polling``: how FilterLogEvents is
        polled), and whether it is by the stream alone."""
        with self._lock:
            ss = list(self.sessions.values())
            failed = [s.failure for s in ss if s.state == FAILED and s.failure is not None]
            if failed:
                return f"{polling}; no live tail ({failed[0].short})", False
            if not ss or any(s.state != LIVE for s in ss):
                return f"{polling}; starting live tail", False
        if self.vouches():
            return (
                "live tail (StartLiveTail) · CloudTrail delivers to the group within minutes",
                True,
            )
        return "live tail started; reading the gap before it with FilterLogEvents", False

    def problem(self) -> str:
        """The full line of why live tail is not in use ('' when it is, or starting)."""
        with self._lock:
            for s in self.sessions.values():
                if s.state == FAILED and s.failure is not None:
                    return s.failure.line
            return ""

    def close(self) -> None:
        with self._lock:
            for s in self.sessions.values():
                s.close()
                self._carry += s.drain()
            self.sessions = {}
