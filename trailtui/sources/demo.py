"""The bundled demo incident: a deterministic generator of a realistic account.

14 days, 3 regions, ~60k events: IAM users at work, a monitoring role polling Describe*,
AWS services calling KMS, console logins (some without MFA), AccessDenied and throttling
noise, a third-party scheduler (Skeddly) whose role sessions ``skeddly-…`` stop the dev
fleet every evening and start it every morning, Auto Scaling replacing instances, and
Terraform tagging.

The incident: on the last night, at 03:12 UTC, ``i-0badc0ffee0000001`` (prod-db-1, which
nobody ever stops) is stopped by a role session named like the scheduler's. Its temporary
key was issued by an AssumeRole that IAM user ``mallory`` called from 203.0.113.66, an
address seen nowhere else in the account.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..records.event import bulk, parse_record
from ..store.store import Store, StoreError
from .base import Follow, never

if TYPE_CHECKING:
    from ..filter.language import Filter

DEMO_VERSION = "2"
ACCOUNT = "111122223333"
SKEDDLY_ACCOUNT = "210987654321"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
DEMO_END = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
DEMO_START = DEMO_END - timedelta(days=14)
INCIDENT_INSTANCE = "i-0badc0ffee0000001"
INCIDENT_TIME = datetime(2026, 11, 19, 3, 12, 7, tzinfo=UTC)
MALLORY_IP = "203.0.113.66"
SKEDDLY_ROLE = "SkeddlyScheduler"

CLI_UA = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 prompt/off command/{cmd}"
CONSOLE_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"
TERRAFORM_UA = "APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.142.0"
BOTO_UA = "Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.11"
DATADOG_UA = "datadog-agent/7.50.0 aws-sdk-go/1.49.6 (go1.21.5; linux; amd64)"
SKEDDLY_UA = "aws-sdk-dotnet-coreclr/3.7.300.2 aws-sdk-dotnet-core/3.7.300.2 .NET_Core/6.0.25 OS/Microsoft_Windows_10.0.20348 ClientAsync"

# name -> (office IP, home IP)
USERS = {
    "alice": ("198.51.100.10", "192.0.2.44"),
    "bob": ("198.51.100.11", "192.0.2.87"),
    "carol": ("198.51.100.12", "192.0.2.130"),
    "mallory": ("198.51.100.23", "192.0.2.201"),
    "deploy-bot": ("198.51.100.200", "198.51.100.200"),
}

# instance id, region, name, scheduled by skeddly?
FLEET: list[tuple[str, str, str, bool]] = [
    (INCIDENT_INSTANCE, "us-east-1", "prod-db-1", False),
    ("i-0a1b2c3d4e5f60001", "us-east-1", "prod-web-1", False),
    ("i-0a1b2c3d4e5f60002", "us-east-1", "prod-web-2", False),
    ("i-0d15ea5e0000000a1", "us-east-1", "dev-api-1", True),
    ("i-0d15ea5e0000000a2", "us-east-1", "dev-api-2", True),
    ("i-0d15ea5e0000000a3", "us-east-1", "dev-worker-1", True),
    ("i-0e0e0e0e0e0e00b01", "eu-west-1", "eu-web-1", False),
    ("i-0e0e0e0e0e0e00b02", "eu-west-1", "eu-dev-1", True),
    ("i-0e0e0e0e0e0e00b03", "eu-west-1", "eu-dev-2", True),
    ("i-0a5a5a5a5a5a00c01", "ap-southeast-2", "syd-web-1", False),
    ("i-0a5a5a5a5a5a00c02", "ap-southeast-2", "syd-dev-1", True),
]


class _Gen:
    def __init__(self, seed: int = 20261120) -> None:
        self.rng = random.Random(seed)
        self.records: list[dict[str, Any]] = []
        self.key_n = 0

    # ------------------------------------------------------------------ ids

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def key(self, prefix: str) -> str:
        self.key_n += 1
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        body = "".join(self.rng.choice(alphabet) for _ in range(12))
        return f"{prefix}{body}{self.key_n:04d}"[:20]

    # ------------------------------------------------------------------ identities

    def iam_user(
        self, name: str, key: str, console: bool = False, mfa: bool = True
    ) -> dict[str, Any]:
        ui: dict[str, Any] = {
            "type": "IAMUser",
            "principalId": "AIDA" + name.upper().replace("-", "")[:8].ljust(8, "X") + "EXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
            "accountId": ACCOUNT,
            "accessKeyId": key,
            "userName": name,
        }
        if console:
            ui["sessionContext"] = {
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": "2026-11-06T08:00:00Z",
                    "mfaAuthenticated": "true" if mfa else "false",
                },
            }
        return ui

    def role_session(
        self, role: str, session: str, key: str, created: datetime, source_identity: str = ""
    ) -> dict[str, Any]:
        rid = "AROA" + role.upper()[:10].ljust(10, "X") + "EXAMPLE"
        ctx: dict[str, Any] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": rid,
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "accountId": ACCOUNT,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": _iso(created), "mfaAuthenticated": "false"},
        }
        if source_identity:
            ctx["sourceIdentity"] = source_identity
        return {
            "type": "AssumedRole",
            "principalId": f"{rid}:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            "accountId": ACCOUNT,
            "accessKeyId": key,
            "sessionContext": ctx,
        }

    @staticmethod
    def service(svc: str) -> dict[str, Any]:
        return {"type": "AWSService", "invokedBy": svc}

    # ------------------------------------------------------------------ records

    def emit(
        self,
        t: datetime,
        ui: dict[str, Any],
        source: str,
        name: str,
        region: str,
        ip: str,
        ua: str,
        req: dict[str, Any] | None = None,
        resp: dict[str, Any] | None = None,
        read_only: bool = True,
        error: tuple[str, str] | None = None,
        event_type: str = "AwsApiCall",
        resources: list[dict[str, str]] | None = None,
        category: str = "Management",
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "eventVersion": "1.09" if event_type == "AwsApiCall" else "1.08",
            "userIdentity": ui,
            "eventTime": _iso(t),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": ua,
        }
        if error:
            rec["errorCode"], rec["errorMessage"] = error
        rec["requestParameters"] = req
        rec["responseElements"] = None if error else resp
        rec["requestID"] = self.uid()
        rec["eventID"] = self.uid()
        rec["readOnly"] = read_only
        if resources:
            rec["resources"] = resources
        rec["eventType"] = event_type
        rec["managementEvent"] = category == "Management"
        rec["recipientAccountId"] = ACCOUNT
        rec["eventCategory"] = category
        if event_type == "AwsApiCall" and not source.startswith("signin"):
            rec["tlsDetails"] = {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com",
            }
        if extra:
            rec.update(extra)
        self.records.append(rec)
        return rec

    def assume_role(
        self,
        t: datetime,
        caller: dict[str, Any],
        ip: str,
        ua: str,
        role: str,
        session: str,
        key: str,
        source_identity: str = "",
    ) -> None:
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        req: dict[str, Any] = {
            "roleArn": role_arn,
            "roleSessionName": session,
            "durationSeconds": 3600,
        }
        if source_identity:
            req["sourceIdentity"] = source_identity
        rid = "AROA" + role.upper()[:10].ljust(10, "X") + "EXAMPLE"
        resp: dict[str, Any] = {
            "credentials": {
                "accessKeyId": key,
                "sessionToken": "<redacted by CloudTrail>",
                "expiration": _ct_time(t + timedelta(hours=1)),
            },
            "assumedRoleUser": {
                "assumedRoleId": f"{rid}:{session}",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            },
        }
        if source_identity:
            resp["sourceIdentity"] = source_identity
        self.emit(
            t, caller, "sts.amazonaws.com", "AssumeRole", "us-east-1", ip, ua, req, resp,
            resources=[
                {"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn},
            ],
            extra={"sharedEventID": self.uid()},
        )  # fmt: skip

    def state_change(
        self,
        t: datetime,
        ui: dict[str, Any],
        name: str,
        inst: str,
        region: str,
        ip: str,
        ua: str,
        prev: tuple[int, str],
        cur: tuple[int, str],
    ) -> None:
        req: dict[str, Any] = {"instancesSet": {"items": [{"instanceId": inst}]}}
        if name == "StopInstances":
            req["force"] = False
        resp = {
            "requestId": self.uid(),
            "instancesSet": {
                "items": [
                    {
                        "instanceId": inst,
                        "currentState": {"code": cur[0], "name": cur[1]},
                        "previousState": {"code": prev[0], "name": prev[1]},
                    }
                ]
            },
        }
        self.emit(t, ui, "ec2.amazonaws.com", name, region, ip, ua, req, resp, read_only=False)


RUNNING = (16, "running")
STOPPING = (64, "stopping")
STOPPED = (80, "stopped")
PENDING = (0, "pending")
SHUTTING = (32, "shutting-down")


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ct_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%b %d, %Y, %I:%M:%S %p")


def generate(seed: int = 20261120) -> list[dict[str, Any]]:
    """The demo account's CloudTrail records, oldest first."""
    g = _Gen(seed)
    rng = g.rng
    user_keys = {u: g.key("AKIA") for u in USERS}

    # -- background: monitoring role polls every region every 10 minutes
    mon_key = g.key("ASIA")
    t = DEMO_START
    mon_session = "datadog-7a1c"
    while t < DEMO_END:
        if t.minute == 0:
            mon_key = g.key("ASIA")
            mon_session = f"datadog-{rng.getrandbits(16):04x}"
        ui = g.role_session("DatadogIntegration", mon_session, mon_key, t)
        for region in REGIONS:
            tt = t + timedelta(seconds=rng.randint(0, 50))
            for op in (
                "DescribeInstances",
                "DescribeInstanceStatus",
                "DescribeVolumes",
                "DescribeAddresses",
            ):
                err = None
                if rng.random() < 0.004:
                    err = ("Client.RequestLimitExceeded", "Request limit exceeded.")
                g.emit(
                    tt, ui, "ec2.amazonaws.com", op, region, "3.233.144.17", DATADOG_UA,
                    {"filterSet": {}, "maxResults": 1000}, None, error=err,
                )  # fmt: skip
                tt += timedelta(seconds=rng.randint(1, 3))
        t += timedelta(minutes=10)

    # -- background: AWS services decrypting with KMS
    kms_keys = {r: f"arn:aws:kms:{r}:{ACCOUNT}:key/{g.uid()}" for r in REGIONS}
    t = DEMO_START
    while t < DEMO_END:
        region = rng.choice(REGIONS)
        svc = rng.choice(
            ("ec2.amazonaws.com", "lambda.amazonaws.com", "secretsmanager.amazonaws.com")
        )
        key_arn = kms_keys[region]
        g.emit(
            t, g.service(svc), "kms.amazonaws.com", "Decrypt", region, svc, svc,
            {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None,
            resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn}],
        )  # fmt: skip
        t += timedelta(seconds=rng.randint(50, 80))

    # -- people at work (weekdays 08-18 UTC)
    day = DEMO_START.replace(hour=0, minute=0)
    user_ops = [
        ("ec2.amazonaws.com", "DescribeInstances", True),
        ("ec2.amazonaws.com", "DescribeSecurityGroups", True),
        ("s3.amazonaws.com", "ListBuckets", True),
        ("sts.amazonaws.com", "GetCallerIdentity", True),
        ("iam.amazonaws.com", "ListRoles", True),
        ("logs.amazonaws.com", "FilterLogEvents", True),
        ("cloudwatch.amazonaws.com", "GetMetricData", True),
        ("lambda.amazonaws.com", "ListFunctions20150331", True),
        ("ssm.amazonaws.com", "GetParameter", True),
    ]
    while day < DEMO_END:
        weekday = day.weekday() < 5
        for user, (office, home) in USERS.items():
            if user == "deploy-bot":
                continue
            if not weekday and rng.random() < 0.8:
                continue
            login = day + timedelta(hours=8, minutes=rng.randint(0, 70))
            if login >= DEMO_END:
                continue
            mfa = user != "bob" or rng.random() < 0.3
            ip = office if weekday else home
            ok = rng.random() > 0.05
            g.emit(
                login, g.iam_user(user, "", console=True, mfa=mfa), "signin.amazonaws.com",
                "ConsoleLogin", "us-east-1", ip, CONSOLE_UA, None,
                {"ConsoleLogin": "Success" if ok else "Failure"},
                read_only=False, event_type="AwsConsoleSignIn",
                error=None if ok else ("Failed authentication", "Failed authentication"),
                extra={"additionalEventData": {
                    "LoginTo": "https://console.aws.amazon.com/console/home",
                    "MobileVersion": "No",
                    "MFAUsed": "Yes" if mfa else "No",
                }},
            )  # fmt: skip
            n = rng.randint(280, 480) if weekday else rng.randint(10, 40)
            for _ in range(n):
                tt = login + timedelta(seconds=rng.randint(0, 9 * 3600))
                if tt >= DEMO_END:
                    continue
                src, op, ro = rng.choice(user_ops)
                region = rng.choices(REGIONS, (6, 3, 1))[0]
                err = None
                if user == "bob" and rng.random() < 0.06:
                    src, op, ro = (
                        "iam.amazonaws.com",
                        rng.choice(("CreateUser", "AttachUserPolicy", "CreateAccessKey")),
                        False,
                    )
                    err = (
                        "AccessDenied",
                        f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: iam:{op} on resource: arn:aws:iam::{ACCOUNT}:user/tmp-admin because no identity-based policy allows the iam:{op} action",
                    )
                elif rng.random() < 0.01:
                    err = ("ThrottlingException", "Rate exceeded")
                console = rng.random() < 0.4
                ui = g.iam_user(
                    user, g.key("ASIA") if console else user_keys[user], console=console, mfa=mfa
                )
                ua = (
                    CONSOLE_UA
                    if console
                    else CLI_UA.format(cmd=f"{src.split('.')[0]}.{op.lower()}")
                )
                g.emit(tt, ui, src, op, region, ip, ua, {}, None, read_only=ro, error=err)
        # terraform: tags now and then
        if weekday and rng.random() < 0.6:
            tt = day + timedelta(hours=14, minutes=rng.randint(0, 120))
            inst, region, name, _ = rng.choice(FLEET[1:])
            ui = g.iam_user("deploy-bot", user_keys["deploy-bot"])
            g.emit(
                tt, ui, "ec2.amazonaws.com", "CreateTags", region, USERS["deploy-bot"][0], TERRAFORM_UA,
                {"resourcesSet": {"items": [{"resourceId": inst}]},
                 "tagSet": {"items": [{"key": "ManagedBy", "value": "terraform"}, {"key": "Name", "value": name}]}},
                {"requestId": g.uid(), "_return": True}, read_only=False,
                resources=[{"accountId": ACCOUNT, "type": "AWS::EC2::Instance", "ARN": f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{inst}"}],
            )  # fmt: skip
        day += timedelta(days=1)

    # -- the scheduler: weekdays, stop dev fleet at 19:00, start at 07:00
    day = DEMO_START.replace(hour=0, minute=0)
    sk_caller = {
        "type": "AWSAccount",
        "principalId": "AIDASKEDDLYEXAMPLE01",
        "accountId": SKEDDLY_ACCOUNT,
    }
    sk_ip = "52.44.120.7"
    n_sessions = 0
    while day < DEMO_END:
        for hour, op, prev, cur in (
            (7, "StartInstances", STOPPED, PENDING),
            (19, "StopInstances", RUNNING, STOPPING),
        ):
            if day.weekday() >= 5 and op == "StartInstances":
                continue
            if day.weekday() in (5, 6) and op == "StopInstances":
                continue
            t0 = day + timedelta(hours=hour, seconds=rng.randint(0, 90))
            if t0 >= DEMO_END:
                continue
            n_sessions += 1
            session = f"skeddly-{rng.getrandbits(32):08x}"
            key = g.key("ASIA")
            g.assume_role(t0, sk_caller, sk_ip, SKEDDLY_UA, SKEDDLY_ROLE, session, key)
            ui = g.role_session(SKEDDLY_ROLE, session, key, t0)
            for inst, region, _, scheduled in FLEET:
                if not scheduled:
                    continue
                tt = t0 + timedelta(seconds=rng.randint(3, 40))
                g.emit(tt, ui, "ec2.amazonaws.com", "DescribeInstances", region, sk_ip, SKEDDLY_UA,
                       {"instancesSet": {"items": [{"instanceId": inst}]}, "filterSet": {}}, None)  # fmt: skip
                g.state_change(
                    tt + timedelta(seconds=2), ui, op, inst, region, sk_ip, SKEDDLY_UA, prev, cur
                )
        day += timedelta(days=1)

    # -- Auto Scaling replaces a web instance now and then (service-made terminations)
    for k in range(4):
        t = DEMO_START + timedelta(
            days=2 + 3 * k, hours=rng.randint(0, 23), minutes=rng.randint(0, 59)
        )
        region = REGIONS[k % 3]
        old = f"i-0a50a50a50a50{k:04d}"
        new = f"i-0a50a50a50a51{k:04d}"
        asg = g.role_session("AWSServiceRoleForAutoScaling", "AutoScaling", g.key("ASIA"), t)
        asg["invokedBy"] = "autoscaling.amazonaws.com"
        g.emit(t, asg, "ec2.amazonaws.com", "RunInstances", region, "autoscaling.amazonaws.com",
               "autoscaling.amazonaws.com",
               {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
                "instanceType": "t3.medium"},
               {"requestId": g.uid(), "reservationId": f"r-0{k:016x}", "ownerId": ACCOUNT,
                "instancesSet": {"items": [{"instanceId": new, "imageId": "ami-0abcdef1234567890",
                                            "currentState": {"code": 0, "name": "pending"},
                                            "instanceType": "t3.medium"}]}},
               read_only=False)  # fmt: skip
        g.state_change(t + timedelta(minutes=4), asg, "TerminateInstances", old, region,
                       "autoscaling.amazonaws.com", "autoscaling.amazonaws.com", RUNNING, SHUTTING)  # fmt: skip

    # -- the incident, on the last night
    m_key = user_keys["mallory"]
    mal = g.iam_user("mallory", m_key)
    t = INCIDENT_TIME - timedelta(minutes=9, seconds=41)
    g.emit(t, mal, "sts.amazonaws.com", "GetCallerIdentity", "us-east-1", MALLORY_IP,
           CLI_UA.format(cmd="sts.get-caller-identity"), {}, None)  # fmt: skip
    g.emit(t + timedelta(seconds=40), mal, "iam.amazonaws.com", "GetRole", "us-east-1", MALLORY_IP,
           CLI_UA.format(cmd="iam.get-role"), {"roleName": SKEDDLY_ROLE}, None)  # fmt: skip
    session = "skeddly-7f3a2c1e"
    s_key = "ASIAMALL0RYEXAMPLE01"
    ta = INCIDENT_TIME - timedelta(minutes=3, seconds=2)
    g.assume_role(
        ta, mal, MALLORY_IP, CLI_UA.format(cmd="sts.assume-role"), SKEDDLY_ROLE, session, s_key
    )
    sess = g.role_session(SKEDDLY_ROLE, session, s_key, ta)
    g.emit(ta + timedelta(seconds=75), sess, "ec2.amazonaws.com", "DescribeInstances", "us-east-1",
           MALLORY_IP, CLI_UA.format(cmd="ec2.describe-instances"),
           {"instancesSet": {"items": [{"instanceId": INCIDENT_INSTANCE}]}, "filterSet": {}}, None)  # fmt: skip
    g.state_change(INCIDENT_TIME, sess, "StopInstances", INCIDENT_INSTANCE, "us-east-1", MALLORY_IP,
                   CLI_UA.format(cmd="ec2.stop-instances"), RUNNING, STOPPING)  # fmt: skip
    g.emit(INCIDENT_TIME + timedelta(seconds=58), sess, "ec2.amazonaws.com", "CreateTags", "us-east-1",
           MALLORY_IP, CLI_UA.format(cmd="ec2.create-tags"),
           {"resourcesSet": {"items": [{"resourceId": INCIDENT_INSTANCE}]},
            "tagSet": {"items": [{"key": "Schedule", "value": "skeddly-nightly"}]}},
           {"requestId": g.uid(), "_return": True}, read_only=False,
           resources=[{"accountId": ACCOUNT, "type": "AWS::EC2::Instance",
                       "ARN": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{INCIDENT_INSTANCE}"}])  # fmt: skip
    g.emit(INCIDENT_TIME + timedelta(minutes=2), sess, "ec2.amazonaws.com", "TerminateInstances", "us-east-1",
           MALLORY_IP, CLI_UA.format(cmd="ec2.terminate-instances"),
           {"instancesSet": {"items": [{"instanceId": INCIDENT_INSTANCE}]}}, None, read_only=False,
           error=("Client.OperationNotPermitted", "The instance 'i-0badc0ffee0000001' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again."))  # fmt: skip
    # before the stop, the session deleted the VPC's flow logs: a tampering call the explorer
    # flags (status bar, histogram, T)
    g.emit(INCIDENT_TIME - timedelta(seconds=50), sess, "ec2.amazonaws.com", "DeleteFlowLogs",
           "us-east-1", MALLORY_IP, CLI_UA.format(cmd="ec2.delete-flow-logs"),
           {"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-0a1b2c3d4e5f60718", "tag": 1}}},
           {"DeleteFlowLogsResponse": {"requestId": g.uid(), "unsuccessful": ""}},
           read_only=False)  # fmt: skip
    g.records.sort(key=lambda r: r["eventTime"])
    return g.records


DEMO_ORIGIN = "demo:incident"


def ensure_demo_store(path: Path) -> Store:
    """The demo cache, generated on first use (and again when the generator or the cache
    schema changes: it is derived data, so it is simply rebuilt)."""
    try:
        store = Store(path)
    except StoreError:
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        store = Store(path)
    if store.get_meta("demo_version") == DEMO_VERSION and store.total() > 0:
        return store
    with bulk():
        events = [parse_record(r) for r in generate()]
        for i in range(0, len(events), 20000):
            store.ingest(events[i : i + 20000], DEMO_ORIGIN, "demo")
    store.set_meta("demo_version", DEMO_VERSION)
    return store


class DemoSource:
    """The bundled demo incident as a Source: generated into its own cache when first opened,
    so there is nothing left to read."""

    label = "demo"
    refreshable = False
    default_window = "all"
    follow: Follow | None = None  # nothing new ever arrives

    def scope(self, store: Store) -> list[int] | None:
        return None  # the demo cache holds nothing else

    def pushdown(self, f: Filter) -> str:
        return ""

    def read(
        self,
        store: Store,
        f: Filter,
        progress: Callable[[], None] = lambda: None,
        cancelled: Callable[[], bool] = never,
        enough: Callable[[], bool] = never,
    ) -> None:
        return None

    def done(self, f: Filter) -> bool:
        return True

    def refresh(self) -> None:
        return None

    def status(self) -> str:
        return ""

    def skipped(self) -> list[tuple[str, str]]:
        return []
