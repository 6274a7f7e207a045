"""Delivery gaps: stretches where an account-region delivered no log file.

CloudTrail writes a log file per account and region about every 5 minutes while there is
activity; each file's name carries its account, region and delivery time
(``ACCOUNT_CloudTrail_REGION_20240501T1205Z_abc.json.gz``). A gap is a stretch of at least
``min_gap`` where one account-region delivered nothing while it delivered before and after, or
while the trail's other regions went on delivering (a region that went silent, or started
late). Its reason is given when the cache knows it: logging was stopped (StopLogging ...
StartLogging), the trail was deleted, or the region left the trail (UpdateTrail).

LookupEvents and CloudWatch Logs have no files: their holes are the parts of the window the
cache's coverage says were never fetched, or where a fetch stopped (``coverage_holes``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .tampering import Finding

if TYPE_CHECKING:
    from ..filter.language import Filter
    from ..store.store import Store

_NAME = re.compile(r"(?:^|/)(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4})Z_[^/]*$")


@dataclass(frozen=True, slots=True)
class Delivery:
    account: str
    region: str
    time: datetime


@dataclass(slots=True)
class Gap:
    account: str
    region: str
    start: datetime  # the last delivery before the silence (or the trail's first)
    end: datetime  # the first delivery after it (or the trail's last)
    reason: str | None = None

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    def to_json(self) -> dict[str, Any]:
        def iso(t: datetime) -> str:
            return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return {
            "account": self.account,
            "region": self.region,
            "start": iso(self.start),
            "end": iso(self.end),
            "minutes": self.minutes,
            "reason": self.reason,
        }

    def line(self) -> str:
        text = (
            f"{self.account} {self.region}: no log files {self.start:%Y-%m-%d %H:%M} → "
            f"{self.end:%Y-%m-%d %H:%M} UTC ({_span(self.minutes)})"
        )
        return text + (f": {self.reason}" if self.reason else "")


def _span(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 2880:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def delivery_of(name: str) -> Delivery | None:
    """The account, region and delivery time a log file's name carries (None for digests and
    other names)."""
    m = _NAME.search(name)
    if m is None:
        return None
    try:
        t = datetime.strptime(m.group(3), "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    return Delivery(m.group(1), m.group(2), t)


def deliveries(names: Iterable[str]) -> list[Delivery]:
    return [d for n in names if (d := delivery_of(n)) is not None]


def find_gaps(
    found: Sequence[Delivery],
    min_gap: timedelta = timedelta(minutes=30),
    findings: Sequence[Finding] = (),
    window: tuple[datetime | None, datetime | None] = (None, None),
) -> list[Gap]:
    """Gaps of at least min_gap per account-region, oldest first, with their reasons."""
    if window[0] is not None:
        found = [d for d in found if d.time >= window[0]]
    if window[1] is not None:
        found = [d for d in found if d.time <= window[1]]
    if not found:
        return []
    by_place: dict[tuple[str, str], list[datetime]] = {}
    for d in found:
        by_place.setdefault((d.account, d.region), []).append(d.time)
    first = min(d.time for d in found)
    last = max(d.time for d in found)
    gaps: list[Gap] = []
    for (account, region), times in sorted(by_place.items()):
        times.sort()
        # the trail's other regions delivered before this one started, or after it stopped
        edges = [(first, times[0])] if times[0] - first >= min_gap else []
        edges += [(a, b) for a, b in pairwise(times) if b - a >= min_gap]
        if last - times[-1] >= min_gap:
            edges.append((times[-1], last))
        for a, b in edges:
            gaps.append(Gap(account, region, a, b, _reason(region, a, b, findings)))
    return sorted(gaps, key=lambda g: (g.start, g.account, g.region))


def _reason(region: str, start: datetime, end: datetime, findings: Sequence[Finding]) -> str | None:
    """What the cache says happened: a stop during the silence (a trail's StopLogging stops
    every region it logs, so any region's counts), or the region left the trail."""
    slack = timedelta(minutes=15)  # a file delivered after the stop holds what came before it
    for f in findings:
        if f.name not in ("StopLogging", "DeleteTrail", "UpdateTrail"):
            continue
        if not (start - slack <= f.time <= end):
            continue
        if f.name == "UpdateTrail":
            if f.single_region and f.region != region:
                return f"region not in the trail: {f.line()} (single-region now)"
            continue
        return f.line()
    return None


# --------------------------------------------------------------------------- coverage holes
#
# LookupEvents and CloudWatch Logs deliver no files: what the cache holds of them is what was
# fetched, which the coverage table records (per source and pushed filter: the windows read
# completely, and a paging token where a read stopped). A hole is a stretch of the window no
# read covers for the current filter: never fetched, or where a fetch stopped.

MIN_HOLE = timedelta(minutes=5)


@dataclass(slots=True)
class Hole:
    source: str  # LookupEvents | CloudWatch Logs
    profile: str
    region: str
    group: str  # the log group ('' for LookupEvents)
    start: datetime
    end: datetime
    reason: str = "not fetched yet"

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def where(self) -> str:
        place = f"{self.profile}/{self.region}"
        return f"{self.group} ({place})" if self.group else place

    def to_json(self) -> dict[str, Any]:
        """The shape of a delivery gap's (account: the profile the cache keys it by), with the
        source and log group."""

        def iso(t: datetime) -> str:
            return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return {
            "source": self.source,
            "account": self.profile,
            "region": self.region,
            "log_group": self.group or None,
            "start": iso(self.start),
            "end": iso(self.end),
            "minutes": self.minutes,
            "reason": self.reason,
        }

    def line(self) -> str:
        return (
            f"{self.source} {self.where}: {self.reason} {self.start:%Y-%m-%d %H:%M} → "
            f"{self.end:%Y-%m-%d %H:%M} UTC ({_span(self.minutes)})"
        )


def span_text(start: datetime, end: datetime) -> str:
    """02:10–04:40, or 11-18 22:10–11-19 04:40 across days."""
    if start.date() == end.date():
        return f"{start:%H:%M}–{end:%H:%M}"
    return f"{start:%m-%d %H:%M}–{end:%m-%d %H:%M}"


def holes_line(holes: Sequence[Hole]) -> str:
    """The status bar's words: the biggest hole, grouped over the places it spans
    ("LookupEvents us-east-1, eu-west-1: 02:10–04:40 not fetched yet (+1 more)")."""
    if not holes:
        return ""
    by_span: dict[tuple[str, datetime, datetime, str], list[Hole]] = {}
    for h in holes:
        by_span.setdefault((h.source, h.start, h.end, h.reason), []).append(h)
    (source, start, end, reason), hs = max(by_span.items(), key=lambda kv: kv[0][2] - kv[0][1])
    places = ", ".join(dict.fromkeys(f"{h.group} {h.region}" if h.group else h.region for h in hs))
    more = f" (+{len(by_span) - 1} more)" if len(by_span) > 1 else ""
    return f"{source} {places}: {span_text(start, end)} {reason}{more}"


Interval = tuple[int, int]  # ms


def _union(ivs: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(ivs):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _intersect(x: list[Interval], y: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in x:
        for c, d in y:
            lo, hi = max(a, c), min(b, d)
            if lo <= hi:
                out.append((lo, hi))
    return _union(out)


def _missing(lo: int, hi: int, covered: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    at = lo
    for a, b in _union(covered):
        if b < at:
            continue
        if a > hi:
            break
        if a > at:
            out.append((at, a - 1))
        at = max(at, b + 1)
    if at <= hi:
        out.append((at, hi))
    return out


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _lookup_covered(store: Store, oid: int, uri: str, f: Filter) -> list[Interval]:
    """What LookupEvents read for the filter: every pushed call's windows (or a window read
    with no attribute, which holds every event); a read that stopped covers from the oldest
    event the target landed in its window to its end (LookupEvents pages newest first)."""
    import json

    from ..sources.lookup import plan_for

    keys = [json.dumps(list(attrs), sort_keys=True) for attrs in plan_for(f).calls] or ["[]"]
    rows = store.coverage(uri)
    covered: list[Interval] | None = None
    for key in keys:
        mine: list[Interval] = []
        for c in rows:
            if c.complete and c.filter_key in ("[]", key):
                mine.append((c.start, c.end))
            elif not c.complete and c.filter_key in ("[]", key):
                oldest = store.oldest([oid], c.start, c.end)
                if oldest is not None:
                    mine.append((oldest, c.end))
        covered = _union(mine) if covered is None else _intersect(covered, _union(mine))
    return covered or []


def _logs_covered(store: Store, uri: str, f: Filter) -> list[Interval]:
    """What CloudWatch Logs read completely for the filter's pattern (or with none)."""
    from ..filter.logs import compile_filter

    pattern = compile_filter(f).pattern
    return _union(
        (c.start, c.end)
        for c in store.coverage(uri)
        if c.complete and c.filter_key in ("", pattern)
    )


def coverage_holes(
    store: Store,
    scope: Sequence[int] | None,
    f: Filter,
    now: datetime,
    min_hole: timedelta = MIN_HOLE,
) -> list[Hole]:
    """The stretches of the filter's window that the LookupEvents targets and CloudWatch Logs
    groups of the scope have not fetched (as their coverage says), oldest first. CloudWatch
    Logs' newest half hour is left out: it is read again at every visit (events still land
    there), never recorded complete."""
    from ..sources.logs import LOGS_DAYS, SETTLE
    from ..sources.lookup import LOOKUP_DAYS

    if not scope:
        return []
    origins = [o for o in store.origins_in(scope) if o[2] in ("lookup", "logs")]
    out: list[Hole] = []
    end = min(f.until or now, now)
    for oid, uri, kind in origins:
        if kind == "lookup":
            profile, _, region = uri.removeprefix("lookup:").rpartition(":")
            group, source = "", "LookupEvents"
            start = f.since or end - timedelta(days=LOOKUP_DAYS)
            top = end
            covered = _lookup_covered(store, oid, uri, f)
        else:
            # logs:PROFILE:REGION:GROUP (a group may be an ARN, colons and all)
            profile, region, group = [*uri.removeprefix("logs:").split(":", 2), "", ""][:3]
            source = "CloudWatch Logs"
            start = f.since or end - timedelta(days=LOGS_DAYS)
            top = min(end, now - SETTLE)
            covered = _logs_covered(store, uri, f)
        lo, hi = _ms(start), _ms(top)
        for a, b in _missing(lo, hi, covered) if lo < hi else []:
            if b - a + 1 >= min_hole.total_seconds() * 1000:
                # (to the second: a read's end and the next one's start are a ms apart)
                out.append(
                    Hole(source, profile, region, group, _dt(a - a % 1000), _dt(min(b + 1, hi)))
                )
    return sorted(out, key=lambda h: (h.start, h.source, h.where))
