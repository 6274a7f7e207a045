"""CloudTrail LookupEvents: fetched page by page into the store, rate limited, per account
(profile) and region, with coverage so a second visit asks only for what is new.

boto3 is imported lazily and configured by the usual chain (profiles, environment,
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CLOUDTRAIL); the endpoint is only overridden when the
user passes one. botocore's own retries are off: throttling is retried here, on the same
NextToken, so no page is lost or fetched twice, and the limiter stays in charge.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..filter.language import Filter, Value
from ..filter.lookup import PushdownPlan, pushdown
from ..filter.values import compile_regex, glob_regex
from ..records.event import ParseError, parse_lookup_item
from ..store.store import Store
from .base import Follow, SourceError, never

RATE_PER_SECOND = 2.0  # LookupEvents: two calls per second per account and region
SPACING_MARGIN = 0.04  # a little under the ceiling, so network jitter never crosses it
MAX_EXPANSION = 8  # a glob on name: becomes at most this many single-name calls
THROTTLE_ERRORS = {
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}


class LookupError_(RuntimeError):
    """One clear line for the status bar or stderr."""


@dataclass(frozen=True, slots=True)
class Target:
    """One account (profile) in one region."""

    profile: str | None
    region: str

    @property
    def key(self) -> str:
        return f"lookup:{self.profile or 'default'}:{self.region}"


class RateLimiter:
    """At most ``rate`` calls in any one-second window per key, shared by every worker in
    the process. Calls may go in pairs; the next pair waits until a second (plus a margin
    for network jitter) has passed since the first of the previous pair, which keeps the
    throughput at rate / (1 + margin) of the ceiling."""

    def __init__(self, rate: float = RATE_PER_SECOND, margin: float = SPACING_MARGIN) -> None:
        self.burst = max(int(rate), 1)
        self.window = self.burst / rate + margin
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Block until a call may go; False when cancelled meanwhile."""
        with self._lock:
            sent = self._sent.setdefault(key, deque(maxlen=self.burst))
            at = time.monotonic()
            if len(sent) == self.burst:
                at = max(at, sent[0] + self.window)
            if sent:
                at = max(at, sent[-1])
            sent.append(at)
        while True:
            left = at - time.monotonic()
            if left <= 0:
                return True
            if cancelled():
                return False
            time.sleep(min(left, 0.05))

    def push_back(self, key: str, seconds: float) -> None:
        """After a throttle: nobody calls this key for a while."""
        with self._lock:
            sent = self._sent.setdefault(key, deque(maxlen=self.burst))
            until = time.monotonic() + seconds - self.window
            for _ in range(self.burst):
                sent.append(until)


LIMITER = RateLimiter()


def make_client(target: Target, endpoint_url: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=target.profile) if target.profile else boto3.Session()
    cfg = Config(
        retries={"mode": "standard", "max_attempts": 1},
        connect_timeout=10,
        read_timeout=30,
        user_agent_extra="trailtui",
    )
    kw: dict[str, Any] = {"region_name": target.region, "config": cfg}
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    return session.client("cloudtrail", **kw)


def friendly(exc: BaseException, target: Target) -> str:
    """One line that says what went wrong and what to do."""
    name = type(exc).__name__
    where = f"{target.profile or 'default profile'} / {target.region}"
    code = ""
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        code = str(resp.get("Error", {}).get("Code", ""))
    if name == "NoCredentialsError":
        return "no AWS credentials found: set AWS_PROFILE or --profile, or run `aws configure`"
    if name == "ProfileNotFound":
        return f"no AWS profile {target.profile!r} in your AWS config"
    if name in (
        "UnauthorizedSSOTokenError",
        "SSOTokenLoadError",
        "TokenRetrievalError",
    ) or code in (
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    ):
        return f"credentials expired for {where}: run `aws sso login` (or refresh them) and press r"
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return f"not allowed to call cloudtrail:LookupEvents in {where}"
    if code in ("UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException"):
        return f"the credentials for {where} were not recognised ({code})"
    if name in (
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
    ):
        return f"can't reach CloudTrail in {where}: network down or unknown region?"
    if name in ("InvalidRegionError", "NoRegionError"):
        return f"unknown region {target.region!r}" if target.region else "no region: pass --region"
    if code:
        msg = str(resp.get("Error", {}).get("Message", "")) if isinstance(resp, dict) else ""
        return f"{code} in {where}: {msg}"[:300]
    return f"{name} in {where}: {exc}"[:300]


# --------------------------------------------------------------------------- pushdown


_OPS_CACHE: list[str] | None = None


def known_operations(cache_dir: Path | None = None) -> list[str]:
    """Every operation name in botocore's service models (cached per botocore version)."""
    global _OPS_CACHE
    if _OPS_CACHE is not None:
        return _OPS_CACHE
    import botocore
    import botocore.loaders

    from .. import locations

    path = (cache_dir or locations.cache_dir()) / f"operations-{botocore.__version__}.json"
    try:
        _OPS_CACHE = list(json.loads(path.read_text()))
        return _OPS_CACHE
    except (OSError, ValueError):
        pass
    loader = botocore.loaders.Loader()
    names: set[str] = set()
    for svc in loader.list_available_services("service-2"):
        try:
            model = loader.load_service_model(svc, "service-2")
        except Exception:  # a model botocore can't load is not ours to fix
            continue
        names.update(model.get("operations", {}))
    names.update(
        {
            "ConsoleLogin",
            "CheckMfa",
            "SwitchRole",
            "ExitRole",
            "RenewRole",
            "CredentialVerification",
        }
    )
    _OPS_CACHE = sorted(names)
    try:
        locations.ensure_private_dir(path.parent)
        path.write_text(json.dumps(_OPS_CACHE))
    except OSError:
        pass
    return _OPS_CACHE


def plan_for(f: Filter, expand: bool = True) -> PushdownPlan:
    """The pushdown plan; a glob/regex on name: becomes a few EventName calls when the known
    operation names allow it (else the plan is a full scan, which the caller says)."""
    plan = pushdown(f)
    if not plan.full_scan or not expand:
        return plan
    for t in f.terms:
        if t.field != "name" or t.negated:
            continue
        ops = known_operations()
        hits: list[str] = []
        for v in t.values:
            hits.extend(op for op in ops if _matches(v, op))
        hits = sorted(set(hits))
        if 0 < len(hits) <= MAX_EXPANSION:
            calls = [[{"AttributeKey": "EventName", "AttributeValue": h}] for h in hits]
            return PushdownPlan(calls, f.since, f.until, "name")
    return plan


def _matches(v: Value, name: str) -> bool:
    if v.kind == "exact":
        return v.text.lower() == name.lower()
    if v.kind == "glob":
        return glob_regex(v.text).match(name.lower()) is not None
    if v.kind == "regex":
        return compile_regex(v.text).search(name) is not None
    return False


# --------------------------------------------------------------------------- fetching


@dataclass(slots=True)
class FetchStats:
    calls: int = 0
    pages: int = 0
    events: int = 0
    added: int = 0
    throttled: int = 0
    skipped: bool = False  # served from coverage, no call
    complete: bool = False
    rejected: int = 0
    first_page_at: float | None = None


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _filter_key(attrs: Sequence[dict[str, str]]) -> str:
    return json.dumps(list(attrs), sort_keys=True)


@dataclass
class Fetcher:
    """Fetches one (target, call) over a fixed window into the store."""

    store: Store
    target: Target
    attrs: list[dict[str, str]]
    start: datetime
    end: datetime
    client: Any = None
    endpoint_url: str | None = None
    limiter: RateLimiter = field(default_factory=lambda: LIMITER)
    stats: FetchStats = field(default_factory=FetchStats)
    # ms: coverage newer than this is not trusted (events still arriving land there; a
    # refresh asks for it again)
    recheck: int | None = None

    def __post_init__(self) -> None:
        self.key = _filter_key(self.attrs)
        self.token: str | None = None
        self.done = False
        self._resume()

    def _resume(self) -> None:
        """Use what coverage says: nothing to do, a gap to fill, or a token to resume."""
        s, e = _ms(self.start), _ms(self.end)
        covs = self.store.coverage(self.target.key)
        if self.recheck is not None:
            r = self.recheck
            covs = [
                c if not c.complete or c.end <= r else replace(c, end=r)
                for c in covs
                if not c.complete or c.start < r
            ]
        for c in covs:
            if c.complete and c.filter_key in (self.key, "[]") and c.start <= s and c.end >= e:
                self.done, self.stats.skipped, self.stats.complete = True, True, True
                return
        same = [c for c in covs if c.filter_key == self.key]
        for c in same:
            if not c.complete and c.start == s and c.end == e and c.next_token:
                self.token = c.next_token
                return
        # a complete older window that starts no later: only the gap since its end is new
        # (a window fetched with no attribute covers every attribute)
        wider = [
            c
            for c in covs
            if c.complete and c.filter_key in (self.key, "[]") and c.start <= s < c.end < e
        ]
        if wider:
            newest = max(wider, key=lambda c: c.end)
            self.start = datetime.fromtimestamp(newest.end / 1000, tz=UTC)
            self._merge_from = s

    _merge_from: int | None = None

    def _client(self) -> Any:
        if self.client is None:
            self.client = make_client(self.target, self.endpoint_url)
        return self.client

    def next_page(self, cancelled: Callable[[], bool] = lambda: False) -> int:
        """Fetch one page (waiting for the limiter, retrying throttles). Returns the events
        it added; raises LookupError_ with a clear line on anything else."""
        if self.done:
            return 0
        params: dict[str, Any] = {
            "StartTime": self.start,
            "EndTime": self.end,
            "MaxResults": 50,
        }
        if self.attrs:
            params["LookupAttributes"] = self.attrs
        if self.token:
            params["NextToken"] = self.token
        backoff = 0.5
        client = self._client()  # credentials and connection set up before the slot is taken
        while True:
            if not self.limiter.wait(self.target.key, cancelled):
                return 0
            self.stats.calls += 1
            try:
                resp = client.lookup_events(**params)
                break
            except Exception as e:
                code = ""
                r = getattr(e, "response", None)
                if isinstance(r, dict):
                    code = str(r.get("Error", {}).get("Code", ""))
                if code in THROTTLE_ERRORS:
                    self.stats.throttled += 1
                    wait = backoff + random.uniform(0, backoff / 2)
                    self.limiter.push_back(self.target.key, wait)
                    backoff = min(backoff * 2, 8.0)
                    if cancelled():
                        return 0
                    continue
                raise LookupError_(friendly(e, self.target)) from e
        events = []
        for item in resp.get("Events", []):
            try:
                events.append(parse_lookup_item(item))
            except (ParseError, ValueError, TypeError):
                self.stats.rejected += 1
        added = self.store.ingest(events, self.target.key, "lookup").added if events else 0
        if not events:
            self.store.origin_id(self.target.key, "lookup")
        self.stats.pages += 1
        self.stats.events += len(events)
        self.stats.added += added
        if self.stats.first_page_at is None:
            self.stats.first_page_at = time.perf_counter()
        self.token = resp.get("NextToken")
        self.done = not self.token
        s = self._merge_from if (self.done and self._merge_from is not None) else _ms(self.start)
        self.store.set_coverage(self.target.key, self.key, s, _ms(self.end), self.done, self.token)
        self.stats.complete = self.done
        return added


def fetch_all(
    fetchers: Sequence[Fetcher],
    cancelled: Callable[[], bool] = lambda: False,
    on_page: Callable[[Fetcher], None] | None = None,
    enough: Callable[[], bool] = lambda: False,
) -> list[str]:
    """Run every fetcher to the end (or until ``enough()``), one thread per target so the
    regions and accounts go in parallel under their own limits. Returns error lines."""
    by_target: dict[str, list[Fetcher]] = {}
    for f in fetchers:
        by_target.setdefault(f.target.key, []).append(f)
    errors: list[str] = []
    lock = threading.Lock()

    def run(group: list[Fetcher]) -> None:
        for f in group:
            while not f.done and not cancelled() and not enough():
                try:
                    f.next_page(cancelled)
                except LookupError_ as e:
                    with lock:
                        errors.append(str(e))
                    return
                if on_page is not None:
                    on_page(f)

    threads = [threading.Thread(target=run, args=(g,), daemon=True) for g in by_target.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def targets(profiles: Sequence[str | None], regions: Sequence[str]) -> list[Target]:
    return [Target(p, r) for p in profiles for r in regions]


def resolve_regions(spec: str | None, profile: str | None) -> list[str]:
    """--region: a list, 'all' (the account's enabled regions), or boto3's default."""
    import boto3

    if spec and spec != "all":
        return [r.strip() for r in spec.split(",") if r.strip()]
    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    if spec == "all":
        try:
            ec2 = session.client("ec2", region_name=session.region_name or "us-east-1")
            return sorted(
                r["RegionName"] for r in ec2.describe_regions(AllRegions=False)["Regions"]
            )
        except Exception:
            return sorted(session.get_available_regions("cloudtrail"))
    return [session.region_name] if session.region_name else []


def build_fetchers(
    store: Store,
    tgts: Sequence[Target],
    plan: PushdownPlan,
    start: datetime,
    end: datetime,
    endpoint_url: str | None = None,
    recheck: int | None = None,
) -> list[Fetcher]:
    return [
        Fetcher(store, t, attrs, start, end, endpoint_url=endpoint_url, recheck=recheck)
        for t in tgts
        for attrs in plan.calls
    ]


RECHECK = timedelta(minutes=15)  # LookupEvents: an event shows up to ~15 min after the call
LOOKUP_DAYS = 90  # LookupEvents returns the last 90 days: a window with no start means those


class LookupSource:
    """LookupEvents for some account-regions, as a Source: each filter gets its own fetchers
    (one attribute pushed, the rest matched locally), which coverage lets skip what is cached."""

    refreshable = True
    default_window = "24h"
    # LookupEvents shows an event about 5 minutes (at worst 15) after the call: a refresh
    # asks again for the last RECHECK, covered or not
    follow: Follow | None = Follow(
        15.0,
        timedelta(minutes=15),
        "polling LookupEvents every 15 s · CloudTrail shows events ~5 min after the call",
    )

    def __init__(self, tgts: Sequence[Target], endpoint_url: str | None = None) -> None:
        self.targets = list(tgts)
        self.endpoint_url = endpoint_url
        self.label = ", ".join(t.key.removeprefix("lookup:") for t in self.targets)
        self.fetchers: list[Fetcher] = []
        self.plan: PushdownPlan | None = None
        self._filter: Filter | None = None
        self._recheck: int | None = None  # ms, set by refresh()

    def scope(self, store: Store) -> list[int]:
        return [store.origin_id(t.key, "lookup") for t in self.targets]

    def pushdown(self, f: Filter) -> str:
        plan = plan_for(f)
        return ", ".join(
            c[0]["AttributeKey"] + "=" + c[0]["AttributeValue"] for c in plan.calls if c
        )

    def _plan(self, store: Store, f: Filter) -> None:
        if self._filter == f and self.fetchers:
            return
        end = f.until or datetime.now(UTC)
        start = f.since or end - timedelta(days=LOOKUP_DAYS)
        self.plan = plan_for(f)
        self.fetchers = build_fetchers(
            store, self.targets, self.plan, start, end, self.endpoint_url, self._recheck
        )
        self._recheck = None
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
        errors = fetch_all(self.fetchers, cancelled, lambda _: progress(), enough)
        if errors:
            raise SourceError(errors[0])

    def done(self, f: Filter) -> bool:
        return self._filter == f and all(fe.done for fe in self.fetchers)

    def refresh(self) -> None:
        """The next read plans again: coverage serves what is cached, only the gap since the
        last fetch is asked for, and the last RECHECK again (CloudTrail shows an event
        minutes after the call: a stretch read a minute ago may have gained some)."""
        self._filter = None
        self._recheck = _ms(datetime.now(UTC) - RECHECK)

    def status(self) -> str:
        fs = self.fetchers
        busy = sorted({fe.target.region for fe in fs if not fe.done})
        text = ""
        if busy:
            text = f"fetching {', '.join(busy)}: {sum(fe.stats.pages for fe in fs)} pages so far"
        elif fs:
            cached = sum(1 for fe in fs if fe.stats.skipped)
            text = "window complete" + (
                f" ({cached} of {len(fs)} from the cache)" if cached else ""
            )
        if self.plan is not None and self.plan.full_scan:
            text += " · full scan (no equality to push to the API)"
        return text

    def skipped(self) -> list[tuple[str, str]]:
        return [
            (fe.target.key, f"{fe.stats.rejected} events that could not be read")
            for fe in self.fetchers
            if fe.stats.rejected
        ]
