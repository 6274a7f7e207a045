"""Tampering: the calls that stop, narrow or blind the logging a responder relies on.

``TAMPERING`` is the one table of them (a test per entry). ``find`` reads the ones in a
window from the cache, pairs each stop with the call that undid it (StopLogging with the next
StartLogging of the same trail and region), and says each in one line ("logging stopped in
eu-west-1 at 02:10 by mallory, restarted 04:40"). Changes to the trail's own bucket (its
policy, its lifecycle, deletes of its objects) count too when the bucket is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..filter.language import Filter, Term, Value
from ..records.event import loads, parse_record

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..store.store import Store


@dataclass(frozen=True, slots=True)
class Tamper:
    name: str  # eventName
    source: str  # eventSource
    what: str  # what it did, as the status line says it
    undo: str = ""  # the call that undoes it ("" when none does)


TAMPERING: tuple[Tamper, ...] = (
    Tamper("StopLogging", "cloudtrail.amazonaws.com", "logging stopped", "StartLogging"),
    Tamper("DeleteTrail", "cloudtrail.amazonaws.com", "trail deleted", "CreateTrail"),
    Tamper("UpdateTrail", "cloudtrail.amazonaws.com", "trail changed"),
    Tamper("PutEventSelectors", "cloudtrail.amazonaws.com", "event selectors changed"),
    Tamper("PutInsightSelectors", "cloudtrail.amazonaws.com", "insight selectors changed"),
    Tamper("DeleteEventDataStore", "cloudtrail.amazonaws.com", "event data store deleted"),
    Tamper(
        "StopEventDataStoreIngestion",
        "cloudtrail.amazonaws.com",
        "event data store ingestion stopped",
        "StartEventDataStoreIngestion",
    ),
    Tamper("DeleteFlowLogs", "ec2.amazonaws.com", "VPC flow logs deleted"),
    Tamper(
        "StopConfigurationRecorder",
        "config.amazonaws.com",
        "AWS Config recorder stopped",
        "StartConfigurationRecorder",
    ),
    Tamper("DeleteConfigurationRecorder", "config.amazonaws.com", "AWS Config recorder deleted"),
    Tamper("DeleteDeliveryChannel", "config.amazonaws.com", "AWS Config delivery channel deleted"),
    Tamper("DeleteDetector", "guardduty.amazonaws.com", "GuardDuty detector deleted"),
    Tamper(
        "DisableSecurityHub",
        "securityhub.amazonaws.com",
        "Security Hub disabled",
        "EnableSecurityHub",
    ),
    Tamper("DisableKey", "kms.amazonaws.com", "KMS key disabled", "EnableKey"),
    Tamper(
        "ScheduleKeyDeletion",
        "kms.amazonaws.com",
        "KMS key deletion scheduled",
        "CancelKeyDeletion",
    ),
    Tamper("LeaveOrganization", "organizations.amazonaws.com", "account left the organization"),
    Tamper(
        "DeleteResolverQueryLogConfig",
        "route53resolver.amazonaws.com",
        "DNS query logging config deleted",
    ),
    Tamper(
        "DisassociateResolverQueryLogConfig",
        "route53resolver.amazonaws.com",
        "DNS query logging detached from a VPC",
    ),
)

# calls on the trail's own bucket that hide or destroy its log files (when the bucket is known)
BUCKET_TAMPERING: dict[str, str] = {
    "PutBucketPolicy": "trail bucket policy changed",
    "DeleteBucketPolicy": "trail bucket policy deleted",
    "PutBucketLifecycle": "trail bucket lifecycle changed",
    "DeleteBucketLifecycle": "trail bucket lifecycle deleted",
    "DeleteObject": "trail log file deleted",
    "DeleteObjects": "trail log files deleted",
}

BY_NAME = {t.name: t for t in TAMPERING}
ORDER = {t.name: i for i, t in enumerate(TAMPERING)}  # the table goes most telling first
UNDOERS = {t.undo: t for t in TAMPERING if t.undo}


def tampering_filter() -> str:
    """The built-in `tampering` bookmark: every call of the table, never a read-only one."""
    return "name:" + ",".join(t.name for t in TAMPERING) + " -readonly:true"


@dataclass(slots=True)
class Finding:
    """One tampering call, with the call that undid it when there is one."""

    event_id: str
    time: datetime
    name: str
    what: str
    region: str
    who: str
    target: str  # the trail, key, detector, bucket... it acted on ('' when unknown)
    undone_at: datetime | None = None
    undone_by: str = ""
    single_region: bool = False  # UpdateTrail made the trail log its home region only

    def line(self) -> str:
        when = f"{self.time:%Y-%m-%d %H:%M}"
        where = f" in {self.region}" if self.region else ""
        text = f"{self.what}{where} at {when} by {self.who or 'unknown'}"
        if self.target:
            text += f" ({self.target})"
        if self.undone_at is not None:
            verb = {"StartLogging": "restarted", "CreateTrail": "recreated"}.get(
                self.undone_by, "undone"
            )
            text += f", {verb} {self.undone_at:%Y-%m-%d %H:%M}"
        elif BY_NAME.get(self.name, Tamper("", "", "")).undo:
            text += ", not undone in the window"
        return text


def _target(name: str, raw: dict[str, Any]) -> str:
    rp = raw.get("requestParameters")
    if not isinstance(rp, dict):
        return ""
    for key in ("name", "trailName", "eventDataStore", "keyId", "detectorId", "bucketName",
                "configurationRecorderName", "deliveryChannelName", "resolverQueryLogConfigId"):  # fmt: skip
        v = rp.get(key)
        if isinstance(v, str) and v:
            return v
    return ""


def _bucket_filter(bucket: str) -> Filter:
    names = tuple(Value("exact", n) for n in BUCKET_TAMPERING)
    return Filter(
        terms=(
            Term("name", names),
            Term("resource", (Value("glob", f"arn:aws:s3:::{bucket}*"), Value("exact", bucket))),
        )
    )


def find(
    store: Store,
    f: Filter,
    scope: Sequence[int] | None = None,
    buckets: Sequence[str] = (),
    limit: int = 200,
) -> list[Finding]:
    """The tampering calls in the filter's window (the window only: the rest of the filter is
    what the user is looking at, not what could hide it), oldest first, each paired with the
    call that undid it."""
    names = {t.name for t in TAMPERING} | set(UNDOERS)
    wanted = Filter(
        terms=(
            Term("name", tuple(Value("exact", n) for n in sorted(names))),
            Term("readonly", (Value("bool", "true"),), negated=True),
        ),
        since=f.since,
        until=f.until,
    )
    raws = [raw for _, raw in store.iter_raw(wanted, scope, limit * 2)]
    for b in buckets:
        bf = _bucket_filter(b).with_window(f.since, f.until)
        raws += [raw for _, raw in store.iter_raw(bf, scope, limit)]
    events = []
    for text in raws:
        try:
            events.append(parse_record(loads(text)))
        except ValueError:
            continue
    events.sort(key=lambda e: e.time)
    out: list[Finding] = []
    open_: dict[tuple[str, str, str], Finding] = {}
    for ev in events:
        target = _target(ev.name, ev.raw)
        if ev.name in UNDOERS and ev.name not in BY_NAME:
            if ev.error_code:
                continue
            stopped = UNDOERS[ev.name]
            key = (stopped.name, ev.region, target)
            fnd = open_.pop(key, None) or open_.pop((stopped.name, ev.region, ""), None)
            if fnd is not None:
                fnd.undone_at, fnd.undone_by = ev.time, ev.name
            continue
        if ev.error_code:
            continue  # a refused call changed nothing (it is still in the list, in red)
        what = BY_NAME[ev.name].what if ev.name in BY_NAME else BUCKET_TAMPERING[ev.name]
        fnd = Finding(ev.event_id, ev.time, ev.name, what, ev.region, ev.principal.display, target)
        out.append(fnd)
        if ev.name in BY_NAME and BY_NAME[ev.name].undo:
            open_[(ev.name, ev.region, target)] = fnd
    return out[-limit:]


def summary(findings: Sequence[Finding]) -> str:
    """One line for the status bar and stderr: the first stop, and how many more."""
    if not findings:
        return ""
    first = min(findings, key=lambda x: (ORDER.get(x.name, len(ORDER)), x.time))
    more = len(findings) - 1
    return first.line() + (f"; {more} more tampering call{'s' if more > 1 else ''}" if more else "")
