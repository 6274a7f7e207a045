"""The calls that stop, narrow or blind the logging a responder relies on: ``TAMPERING`` is the
one table of them (investigate/tampering.py finds them in a window and says each in a line),
and ``target_of`` what a call acted on (the trail, key, detector...). The cache keeps the
target of every call of ``CALLS`` (these and the calls that undo them) as it ingests them, so
the warning every query says first reads no record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .event import loads


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

UNDOERS = {t.undo: t for t in TAMPERING if t.undo}
# the calls whose target the cache keeps: every tampering call and every call that undoes one
CALLS = frozenset({t.name for t in TAMPERING} | set(UNDOERS))


TARGET_CHARS = 1000  # of a target, at most (the warning shows 400 characters of a line)


def target_of(raw: dict[str, Any]) -> str:
    """What a call acted on: the trail, key, detector, bucket... its request names ('' when
    none)."""
    rp = raw.get("requestParameters")
    if not isinstance(rp, dict):
        return ""
    for key in ("name", "trailName", "eventDataStore", "keyId", "detectorId", "bucketName",
                "configurationRecorderName", "deliveryChannelName", "resolverQueryLogConfigId"):  # fmt: skip
        v = rp.get(key)
        if isinstance(v, str) and v:
            return v[:TARGET_CHARS]
    return ""


def target_in(line: bytes) -> str:
    """target_of a record given as its JSON text ('' when it is not an object)."""
    try:
        raw = loads(line)
    except ValueError:
        return ""
    return target_of(raw) if isinstance(raw, dict) else ""
