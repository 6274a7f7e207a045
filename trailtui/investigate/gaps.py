"""Delivery gaps: stretches where an account-region delivered no log file.

CloudTrail writes a log file per account and region about every 5 minutes while there is
activity; each file's name carries its account, region and delivery time
(``ACCOUNT_CloudTrail_REGION_20240501T1205Z_abc.json.gz``). A gap is a stretch of at least
``min_gap`` where one account-region delivered nothing while it delivered before and after, or
while the trail's other regions went on delivering (a region that went silent, or started
late). Its reason is given when the cache knows it: logging was stopped (StopLogging ...
StartLogging), the trail was deleted, or the region left the trail (UpdateTrail).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from .tampering import Finding

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
