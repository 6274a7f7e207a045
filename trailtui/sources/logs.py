"""CloudWatch Logs: CloudTrail records a trail delivers to log groups, read with FilterLogEvents
into the store, newest first, with the filter pushed down as a JSON filter pattern.

FilterLogEvents answers oldest first inside a time range, so the window is read in slices
backwards: the newest slice first (all its pages), then older slices while the list wants
rows; a slice that comes back sparse makes the next one wider. Coverage (which log-time
intervals were read completely for which pattern, '' = every event) lives in the store, so a
second visit asks only for the gaps: what is new since, and what was never read.

Times: FilterLogEvents selects on the log event's timestamp, which CloudTrail sets when it
delivers (minutes after the eventTime). The window asked for is the filter's eventTime window
widened by ``START_SLACK``/``END_SLACK``; the local matcher applies the exact window. The
newest ``SETTLE`` of a read is not marked covered: events still on their way land there.

boto3 is imported lazily; the endpoint is boto3's (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS...) unless
the user passes one. Calls are paced to the FilterLogEvents quota (5 per second per account
and region, shared by every group and worker); throttling is retried on the same nextToken.

Followed (the explorer's follow mode, ``trailtui watch``), the source tails the groups with
StartLiveTail (livetail.py) and drains the stream at each poll; FilterLogEvents reads the gap
before the session started, and is polled instead wherever live tail is refused, broken or
can't vouch for every event since the previous poll. ``Follow.how`` says which.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..filter.language import Filter
from ..filter.logs import LogsPlan, compile_filter
from ..records.event import ParseError, loads, parse_record
from ..store.db import StoreError
from .base import Follow, SourceError, never, read_since
from .livetail import LIVE_EVERY, Group, LiveTails
from .lookup import THROTTLE_ERRORS, RateLimiter, Target, friendly

if TYPE_CHECKING:
    from ..records.event import Event
    from ..store.store import Store

# FilterLogEvents: "five transactions per second (TPS) per AWS account or AWS Region", not
# raisable (https://repost.aws/knowledge-center/cloudwatch-logs-throttling)
RATE_PER_SECOND = 5.0
# a burst of five, the next 1.1 s after the first of it: ~91% of the ceiling, with room for
# the jitter between when a call leaves and when AWS counts it
LIMITER = RateLimiter(RATE_PER_SECOND, margin=0.1)
PAGE_LIMIT = 10_000  # events per page (the API's maximum; a page also stops at 1 MB)
START_SLACK = timedelta(minutes=5)
END_SLACK = timedelta(minutes=30)  # CloudTrail delivers to CloudWatch Logs within minutes
SETTLE = timedelta(minutes=30)
FIRST_SLICE_MS = 15 * 60 * 1000
MAX_SLICE_MS = 7 * 24 * 3600 * 1000
SPARSE = 2_000  # a slice with fewer events than this makes the next one 4x wider
LOGS_DAYS = 90  # a window with no start: the last 90 days
# how the source is followed where live tail is not in use; the log time of a CloudTrail
# record is its delivery, a few minutes after its eventTime
POLLING = Follow(3.0, timedelta(minutes=10), "polling FilterLogEvents every 3 s")
# what a log event that is not a CloudTrail record raises on the way to an Event (a deeply
# nested JSON value raises RecursionError in json.loads)
NOT_A_RECORD = (ParseError, ValueError, TypeError, RecursionError)


@dataclass(frozen=True, slots=True)
class LogGroup:
    """One log group in one account (profile) and region."""

    profile: str | None
    region: str
    group: str

    @property
    def key(self) -> str:
        return f"logs:{self.profile or 'default'}:{self.region}:{self.group}"

    @property
    def account_region(self) -> str:
        """The quota's key: every group of an account-region shares it."""
        return f"logs:{self.profile or 'default'}:{self.region}"


def make_client(profile: str | None, region: str, endpoint_url: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    cfg = Config(
        retries={"mode": "standard", "max_attempts": 1},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="trailtui",
    )
    kw: dict[str, Any] = {"region_name": region, "config": cfg}
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    return session.client("logs", **kw)


def logs_friendly(exc: BaseException, g: LogGroup) -> str:
    """One line that says what went wrong and what to do."""
    resp = getattr(exc, "response", None)
    err = resp.get("Error", {}) if isinstance(resp, dict) else {}
    code = str(err.get("Code", ""))
    where = f"{g.profile or 'default profile'} / {g.region}"
    if code == "ResourceNotFoundException":
        return f"no log group {g.group!r} in {where}: check --log-group and --region"
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return f"not allowed to call logs:FilterLogEvents on {g.group!r} in {where}"
    if code == "InvalidParameterException":
        return f"CloudWatch Logs refused the request for {g.group!r}: {err.get('Message', '')}"[
            :300
        ]
    if type(exc).__name__ == "ParamValidationError":
        return f"not a log group name or ARN: {g.group!r}"
    if type(exc).__name__ in (
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
    ):
        return f"can't reach CloudWatch Logs in {where}: network down or unknown region?"
    return friendly(exc, Target(g.profile, g.region))


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def gaps(lo: int, hi: int, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of [lo, hi] (inclusive ms) no covered interval holds, newest first."""
    out: list[tuple[int, int]] = []
    top = hi
    for a, b in sorted(covered, key=lambda c: -c[1]):
        if top < lo or b < lo:
            break
        if b < top:
            out.append((b + 1, top))
        top = min(top, a - 1)
    if top >= lo:
        out.append((lo, top))
    return out


@dataclass(slots=True)
class ReadStats:
    calls: int = 0
    pages: int = 0
    events: int = 0
    added: int = 0
    throttled: int = 0
    rejected: int = 0
    from_cache: bool = False  # the whole window was covered: no call
    first_page_at: float | None = None


@dataclass
class GroupReader:
    """Reads one log group's window for one pattern, newest slice first."""

    store: Store
    group: LogGroup
    pattern: str
    lo: int  # the window, log-time ms, inclusive
    hi: int
    client: Any = None
    limiter: RateLimiter = field(default_factory=lambda: LIMITER)
    stats: ReadStats = field(default_factory=ReadStats)
    settled: int = 0  # coverage is recorded only up to here

    def __post_init__(self) -> None:
        self.settled = self.settled or _ms(datetime.now(UTC) - SETTLE)
        covered = [
            (c.start, c.end)
            for c in self.store.coverage(self.group.key)
            if c.complete and c.filter_key in (self.pattern, "")
        ]
        self.todo = gaps(self.lo, self.hi, covered)
        self.stats.from_cache = not self.todo
        self.span = FIRST_SLICE_MS
        self.slice: tuple[int, int] | None = None
        self.token: str | None = None
        self.slice_events = 0

    @property
    def done(self) -> bool:
        return not self.todo and self.slice is None

    def _params(self) -> dict[str, Any]:
        assert self.slice is not None
        g = self.group.group
        p: dict[str, Any] = {
            ("logGroupIdentifier" if g.startswith("arn:") else "logGroupName"): g,
            "startTime": self.slice[0],
            "endTime": self.slice[1],
            "limit": PAGE_LIMIT,
        }
        if self.pattern:
            p["filterPattern"] = self.pattern
        if self.token:
            p["nextToken"] = self.token
        return p

    def next_page(self, cancelled: Callable[[], bool] = never) -> int:
        """One page (waiting for the limiter, retrying throttles): the events it added.
        Raises SourceError with one clear line on anything else."""
        if self.done:
            return 0
        if self.slice is None:
            a, b = self.todo[0]
            self.slice = (max(a, b - self.span + 1), b)
            self.slice_events = 0
        backoff = 0.5
        while True:
            if not self.limiter.wait(self.group.account_region, cancelled):
                return 0
            self.stats.calls += 1
            try:
                resp = self.client.filter_log_events(**self._params())
                break
            except Exception as e:
                r = getattr(e, "response", None)
                code = str(r.get("Error", {}).get("Code", "")) if isinstance(r, dict) else ""
                if code in THROTTLE_ERRORS:
                    self.stats.throttled += 1
                    wait = backoff + random.uniform(0, backoff / 2)
                    self.limiter.push_back(self.group.account_region, wait)
                    backoff = min(backoff * 2, 8.0)
                    if cancelled():
                        return 0
                    continue
                raise SourceError(logs_friendly(e, self.group)) from e
        events = []
        for item in resp.get("events", []):
            try:
                rec = loads(item.get("message", ""))
                events.append(parse_record(rec))
            except NOT_A_RECORD:
                self.stats.rejected += 1
        added = self.store.ingest(events, self.group.key, "logs").added if events else 0
        self.stats.pages += 1
        self.stats.events += len(events)
        self.stats.added += added
        self.slice_events += len(events)
        if self.stats.first_page_at is None:
            self.stats.first_page_at = time.perf_counter()
        self.token = resp.get("nextToken")
        if not self.token:
            self._slice_done()
        return added

    def _slice_done(self) -> None:
        assert self.slice is not None
        a, b = self.slice
        top = min(b, self.settled)
        if a <= top:
            self.store.set_coverage(self.group.key, self.pattern, a, top, True, None)
        lo, _ = self.todo[0]
        if a > lo:
            self.todo[0] = (lo, a - 1)
        else:
            self.todo.pop(0)
        if self.slice_events < SPARSE:
            self.span = min(self.span * 4, MAX_SLICE_MS)
        self.slice = None


def read_groups(
    readers: Sequence[GroupReader],
    cancelled: Callable[[], bool] = never,
    on_page: Callable[[GroupReader], None] | None = None,
    enough: Callable[[], bool] = never,
) -> list[str]:
    """Read every group (or until ``enough()``): one thread per account-region, its groups in
    turn a page each, so the newest slice of every group comes before older ones. Returns
    the error lines."""
    by_key: dict[str, list[GroupReader]] = {}
    for r in readers:
        by_key.setdefault(r.group.account_region, []).append(r)
    errors: list[str] = []
    lock = threading.Lock()

    def run(group: list[GroupReader]) -> None:
        live = list(group)
        while live and not cancelled() and not enough():
            for r in list(live):
                if r.done:
                    live.remove(r)
                    continue
                try:
                    r.next_page(cancelled)
                except (SourceError, StoreError) as e:  # StoreError: the cache was closed
                    with lock:
                        errors.append(str(e))
                    live.remove(r)
                    continue
                if on_page is not None:
                    on_page(r)
                if cancelled() or enough():
                    return

    threads = [threading.Thread(target=run, args=(g,), daemon=True) for g in by_key.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


class LogsSource:
    """CloudTrail in CloudWatch Logs groups, as a Source: each filter gets its own readers
    (a JSON filter pattern pushed, the rest matched locally); coverage skips what is cached."""

    refreshable = True
    verifiable = False
    default_window = "24h"
    live_tail = True  # followed with StartLiveTail where the endpoint allows it

    def __init__(
        self,
        groups: Sequence[str],
        profiles: Sequence[str | None],
        regions: Sequence[str],
        endpoint_url: str | None = None,
    ) -> None:
        self.groups = [LogGroup(p, r, g) for p in profiles for r in regions for g in groups]
        self.endpoint_url = endpoint_url
        self.label = ", ".join(
            f"{g.group} ({g.profile or 'default'}/{g.region})" for g in self.groups
        )
        self.readers: list[GroupReader] = []
        self.plan: LogsPlan | None = None
        self._filter: Filter | None = None
        self._clients: dict[tuple[str | None, str], Any] = {}
        self.failed: list[str] = []
        self._follow: Follow | None = POLLING
        self.live: LiveTails | None = None
        self._tailed: tuple[Filter | None, str] = (None, "")  # the followed filter, its pattern
        self.live_rejected: dict[str, int] = {}  # group key -> streamed events not CloudTrail

    @property
    def follow(self) -> Follow | None:
        """How the source is followed now: by live tail alone (drained every ``LIVE_EVERY``), or by
        polling FilterLogEvents (while live tail starts, reads the gap before it, or is not
        to be had, and why)."""
        base = self._follow
        if base is None or not self.live_tail:
            return base
        if self.live is None:
            return Follow(base.every, base.lag, f"{base.how}; starting live tail")
        how, streamed = self.live.describe(base.how)
        return Follow(min(base.every, LIVE_EVERY) if streamed else base.every, base.lag, how)

    @follow.setter
    def follow(self, value: Follow | None) -> None:
        """How FilterLogEvents is polled (None: the source is not followed)."""
        self._follow = value

    def tail(
        self, store: Store, f: Filter, since: datetime, cancelled: Callable[[], bool] = never
    ) -> bool:
        """One follow poll: drain the live tail sessions (started, replaced or retried as
        due) into the store; read the window since ``since`` with FilterLogEvents too unless
        the sessions vouch for everything since (``LiveTails.vouches``)."""
        if not self.live_tail or self._follow is None:
            return read_since(store, self, f, since, cancelled)
        if self.live is None:
            self.live = LiveTails(
                self.groups, lambda g: make_client(g.profile, g.region, self.endpoint_url)
            )
        live = self.live
        if self._tailed[0] != f:
            self._tailed = (f, compile_filter(f).pattern)
        live.ensure(self._tailed[1])
        self.land(store, live.drain())
        if live.vouches():
            return True
        started = time.monotonic()
        done = read_since(store, self, f, since, cancelled)
        if done:
            live.read_done(started)
        self.land(store, live.drain())
        return done

    def land(self, store: Store, items: Sequence[tuple[Group, str]]) -> int:
        """Streamed log events into the store, under their group; how many were new."""
        by: dict[str, list[Event]] = {}
        for g, message in items:
            try:
                by.setdefault(g.key, []).append(parse_record(loads(message)))
            except NOT_A_RECORD:
                self.live_rejected[g.key] = self.live_rejected.get(g.key, 0) + 1
        return sum(store.ingest(evs, key, "logs").added for key, evs in by.items())

    def close(self) -> None:
        """End the live tail sessions (they also end on their own, idle a minute)."""
        if self.live is not None:
            self.live.close()

    def scope(self, store: Store) -> list[int]:
        return [store.origin_id(g.key, "logs") for g in self.groups]

    def pushdown(self, f: Filter) -> str:
        return compile_filter(f).describe()

    def _client(self, g: LogGroup) -> Any:
        k = (g.profile, g.region)
        if k not in self._clients:
            try:
                self._clients[k] = make_client(g.profile, g.region, self.endpoint_url)
            except Exception as e:
                raise SourceError(logs_friendly(e, g)) from e
        return self._clients[k]

    def _plan(self, store: Store, f: Filter) -> None:
        if self._filter == f and self.readers:
            return
        now = datetime.now(UTC)
        end = min(f.until + END_SLACK, now) if f.until else now
        start = (f.since or end - timedelta(days=LOGS_DAYS)) - START_SLACK
        self.plan = compile_filter(f)
        self.readers = [
            GroupReader(store, g, self.plan.pattern, _ms(start), _ms(end), self._client(g))
            for g in self.groups
        ]
        self._filter = f

    def read(
        self,
        store: Store,
        f: Filter,
        progress: Callable[[], None] = lambda: None,
        cancelled: Callable[[], bool] = never,
        enough: Callable[[], bool] = never,
    ) -> None:
        self._plan(store, f)
        errors = read_groups(self.readers, cancelled, lambda _: progress(), enough)
        if errors:
            self.failed = errors
            raise SourceError(errors[0])

    def done(self, f: Filter) -> bool:
        return self._filter == f and all(r.done for r in self.readers)

    def refresh(self) -> None:
        """The next read plans again: coverage serves what is cached, only the gaps (what is
        new since the last read) are asked for."""
        self._filter = None

    def status(self) -> str:
        rs = self.readers
        busy = [r for r in rs if not r.done]
        pages = sum(r.stats.pages for r in rs)
        events = sum(r.stats.events for r in rs)
        if busy:
            text = f"fetching {', '.join(sorted({r.group.group for r in busy}))}: {pages} pages, {events:,} events so far"
        elif rs:
            cached = sum(1 for r in rs if r.stats.from_cache)
            text = "window complete" + (
                f" ({cached} of {len(rs)} from the cache)" if cached else ""
            )
        else:
            text = ""
        if self.plan is not None:
            if self.plan.pattern:
                text += f" · pattern pushes {' '.join(self.plan.pushed)}"
                if self.plan.local:
                    text += f"; local: {' '.join(self.plan.local)}"
            else:
                text += " · no filter pattern (every event of the window)"
        throttled = sum(r.stats.throttled for r in rs)
        if throttled:
            text += f" · throttled {throttled}x"
        problem = self.live.problem() if self.live is not None else ""
        if problem:
            text += f" · live tail: {problem}"
        return text

    def skipped(self) -> list[tuple[str, str]]:
        out = [
            (r.group.key, f"{r.stats.rejected} log events that are not CloudTrail records")
            for r in self.readers
            if r.stats.rejected
        ]
        out += [
            (key, f"{n} live tail events that are not CloudTrail records")
            for key, n in self.live_rejected.items()
        ]
        return out
