"""A local CloudTrail endpoint for LookupEvents, speaking the JSON 1.1 protocol with AWS's
semantics, for real boto3 clients pointed at it (AWS_ENDPOINT_URL_CLOUDTRAIL / endpoint_url).

* at most one LookupAttribute (else InvalidLookupAttributesException); exact match on the
  eight keys; MaxResults 1..50 (default 50); newest first; the StartTime/EndTime window
* an opaque NextToken bound to the original parameters (else InvalidNextTokenException)
* CloudTrailEvent as a string
* ThrottlingException beyond 2 calls per second per account and region (the account comes
  from the access key in the SigV4 credential scope, the region from its scope)
* every call is recorded (time, account, region, parameters, outcome) for the tests
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from . import json11

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
KEYS_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys"
KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
SECRET = b"fake-cloudtrail-token-key"


def _ts(rec: dict[str, Any]) -> float:
    return datetime.fromisoformat(rec["eventTime"].replace("Z", "+00:00")).timestamp()


def lookup_username(rec: dict[str, Any]) -> str:
    ui = rec.get("userIdentity") or {}
    if ui.get("type") == "AssumedRole":
        return str(ui.get("arn", "")).rsplit("/", 1)[-1]
    if ui.get("type") == "Root":
        return "root"
    return str(ui.get("userName") or "")


def resources(rec: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for r in rec.get("resources") or []:
        out.append({"ResourceType": r.get("type", ""), "ResourceName": r.get("ARN", "")})
    for block in (rec.get("requestParameters"), rec.get("responseElements")):
        if isinstance(block, dict):
            for it in ((block.get("instancesSet") or {}).get("items")) or []:
                if isinstance(it, dict) and it.get("instanceId"):
                    out.append(
                        {"ResourceType": "AWS::EC2::Instance", "ResourceName": it["instanceId"]}
                    )
    seen, uniq = set(), []
    for r in out:
        k = (r["ResourceType"], r["ResourceName"])
        if k not in seen:
            seen.add(k)
            uniq.append(r)
    return uniq


def _attr(rec: dict[str, Any], key: str) -> list[str]:
    ui = rec.get("userIdentity") or {}
    if key == "EventId":
        return [rec.get("eventID", "")]
    if key == "EventName":
        return [rec.get("eventName", "")]
    if key == "ReadOnly":
        return [str(rec.get("readOnly", "")).lower()]
    if key == "Username":
        return [lookup_username(rec)]
    if key == "ResourceType":
        return [r["ResourceType"] for r in resources(rec)]
    if key == "ResourceName":
        return [r["ResourceName"] for r in resources(rec)]
    if key == "EventSource":
        return [rec.get("eventSource", "")]
    if key == "AccessKeyId":
        return [ui.get("accessKeyId", "")]
    return []


@dataclass
class Call:
    at: float
    account: str
    region: str
    params: dict[str, Any]
    outcome: str  # ok | throttled | error name


@dataclass
class FakeCloudTrail:
    """Records per (account, region); access key id -> account."""

    data: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    rate: float = 2.0  # calls per second per account-region; 0 = unlimited
    latency: float = 0.0  # seconds added to each call
    calls: list[Call] = field(default_factory=list)
    fail_with: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)
    public_keys: list[dict[str, Any]] = field(default_factory=list)  # ListPublicKeys answers

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._sorted: dict[tuple[str, str], list[tuple[float, dict[str, Any]]]] = {}
        self.server: ThreadingHTTPServer | None = None

    def add(self, account: str, region: str, records: list[dict[str, Any]]) -> None:
        self.data.setdefault((account, region), []).extend(records)
        self._sorted.pop((account, region), None)

    def _events(self, account: str, region: str) -> list[tuple[float, dict[str, Any]]]:
        if (account, region) not in self._sorted:
            recs = self.data.get((account, region), [])
            self._sorted[(account, region)] = sorted(
                ((_ts(r), r) for r in recs), key=lambda x: -x[0]
            )
        return self._sorted[(account, region)]

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
                    return 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
                q.append(now)
            self.calls.append(Call(time.time(), account, region, body, "ok"))
        if (account, region) in self.fail_with:
            status, kind, msg = self.fail_with[(account, region)]
            return status, {"__type": kind, "message": msg}
        attrs = body.get("LookupAttributes") or []
        if len(attrs) > 1:
            return 400, {
                "__type": "InvalidLookupAttributesException",
                "message": "You cannot specify more than one lookup attribute.",
            }
        for a in attrs:
            if a.get("AttributeKey") not in KEYS:
                return 400, {
                    "__type": "InvalidLookupAttributesException",
                    "message": "bad AttributeKey",
                }
        max_results = body.get("MaxResults", 50)
        if not isinstance(max_results, int) or not 1 <= max_results <= 50:
            return 400, {
                "__type": "InvalidMaxResultsException",
                "message": "MaxResults must be 1..50",
            }
        start = body.get("StartTime")
        end = body.get("EndTime")
        if start is not None and end is not None and start > end:
            return 400, {
                "__type": "InvalidTimeRangeException",
                "message": "StartTime after EndTime",
            }
        bound = {
            k: body.get(k) for k in ("LookupAttributes", "StartTime", "EndTime", "EventCategory")
        }
        sig = hmac.new(
            SECRET, json.dumps([account, region, bound], sort_keys=True).encode(), hashlib.sha256
        ).hexdigest()[:16]
        offset = 0
        if body.get("NextToken"):
            try:
                tok = json.loads(base64.b64decode(body["NextToken"]))
                offset = int(tok["o"])
                if tok["s"] != sig:
                    raise ValueError("token for other parameters")
            except (ValueError, KeyError, TypeError):
                return 400, {"__type": "InvalidNextTokenException", "message": "Invalid NextToken"}
        matches = []
        for t, rec in self._events(account, region):
            if start is not None and t < start:
                continue
            if end is not None and t > end:
                continue
            if attrs and attrs[0]["AttributeValue"] not in _attr(rec, attrs[0]["AttributeKey"]):
                continue
            matches.append((t, rec))
        page = matches[offset : offset + max_results]
        out: dict[str, Any] = {"Events": [self._item(t, r) for t, r in page]}
        if offset + max_results < len(matches):
            tok = {"o": offset + max_results, "s": sig}
            out["NextToken"] = base64.b64encode(json.dumps(tok).encode()).decode()
        if self.latency:
            time.sleep(self.latency)
        return 200, out

    @staticmethod
    def _item(t: float, rec: dict[str, Any]) -> dict[str, Any]:
        ui = rec.get("userIdentity") or {}
        item: dict[str, Any] = {
            "EventId": rec.get("eventID"),
            "EventName": rec.get("eventName"),
            "ReadOnly": str(rec.get("readOnly", "")).lower(),
            "EventTime": t,
            "EventSource": rec.get("eventSource"),
            "Username": lookup_username(rec),
            "Resources": resources(rec),
            "CloudTrailEvent": json.dumps(rec),
        }
        if ui.get("accessKeyId"):
            item["AccessKeyId"] = ui["accessKeyId"]
        return item

    # ------------------------------------------------------------------ serving

    def start(self) -> str:
        fake = self

        class Handler(json11.Handler):
            def operation(self) -> None:
                if self.target == KEYS_TARGET:
                    self.send(200, {"PublicKeyList": fake.public_keys})
                    return
                if self.target != TARGET:
                    self.send(400, json11.error("UnknownOperationException", "only LookupEvents"))
                    return
                account = self.account(fake.keys)
                if account is not None:
                    self.send(*fake.handle(account, self.region, self.body))

        self.server, url = json11.serve(Handler)
        return url

    def stop(self) -> None:
        json11.shut(self.server)

    def calls_for(self, account: str, region: str) -> list[Call]:
        return [c for c in self.calls if c.account == account and c.region == region]


# --------------------------------------------------------------------------- test data

END = datetime(2026, 11, 20, 6, tzinfo=UTC)
NAMES = ["StopInstances", "StartInstances", "DescribeInstances", "GetObject", "AssumeRole"]


def records(account: str, region: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    import random

    rng = random.Random(f"{account}{region}{seed}")
    out = []
    for i in range(n):
        name = rng.choice(NAMES)
        user = rng.choice(["alice", "bob", "ops-session"])
        role = user == "ops-session"
        out.append(
            {
                "eventVersion": "1.08",
                "eventID": f"{account}-{region}-{seed}-{i}",
                "eventTime": (END - timedelta(minutes=i * 7 + rng.randint(0, 5))).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "eventName": name,
                "eventSource": "ec2.amazonaws.com" if "Instances" in name else "s3.amazonaws.com",
                "awsRegion": region,
                "recipientAccountId": account,
                "sourceIPAddress": rng.choice(["10.0.0.1", "203.0.113.9"]),
                "readOnly": name.startswith(("Describe", "Get")),
                "userIdentity": (
                    {
                        "type": "AssumedRole",
                        "arn": f"arn:aws:sts::{account}:assumed-role/Ops/{user}",
                        "accessKeyId": "ASIA" + account,
                    }
                    if role
                    else {"type": "IAMUser", "userName": user, "accessKeyId": "AKIA" + user.upper()}
                ),
                "requestParameters": {"instancesSet": {"items": [{"instanceId": f"i-{i % 5}"}]}}
                if "Instances" in name
                else {},
            }
        )
    return out
