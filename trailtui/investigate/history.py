"""An EC2 instance's lifecycle: every event that changed it, in time order, with the state
change each one made, who made it, from where, with what, and whether a person did."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ..filter.language import Filter, Term, Value
from ..records.event import EC2_INSTANCE, parse_record
from ..store.store import Store

LIFECYCLE = (
    "RunInstances",
    "StartInstances",
    "StopInstances",
    "RebootInstances",
    "TerminateInstances",
    "ModifyInstanceAttribute",
    "CreateTags",
    "DeleteTags",
    "BidEvictedEvent",
)
ACCOUNT = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+){2,3}")
# a Filter for the store: this instance, lifecycle names or any AWS service event
SERVICE_EVENT = "AwsServiceEvent"


@dataclass(slots=True)
class Step:
    time: datetime
    name: str
    instance: str
    previous: str  # previousState name, '' when the event does not say
    current: str
    who: str
    principal_type: str
    source_ip: str
    user_agent: str
    error_code: str
    error_message: str
    actor: str  # person | auto scaling | scheduler | aws service | spot
    event_id: str
    rowid: int

    @property
    def failed(self) -> bool:
        return bool(self.error_code)

    @property
    def change(self) -> str:
        if self.previous or self.current:
            return f"{self.previous or '?'} -> {self.current or '?'}"
        return ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["time"] = self.time.strftime("%Y-%m-%dT%H:%M:%SZ")
        d["change"] = self.change
        d["failed"] = self.failed
        del d["rowid"]
        return d


def _states(raw: dict[str, Any], instance: str) -> tuple[str, str]:
    resp = raw.get("responseElements")
    if not isinstance(resp, dict):
        return "", ""
    iset = resp.get("instancesSet")
    items = iset.get("items") if isinstance(iset, dict) else None
    if not isinstance(items, list):
        return "", ""
    for it in items:
        if isinstance(it, dict) and it.get("instanceId") == instance:
            prev, cur = it.get("previousState"), it.get("currentState")
            p = prev.get("name", "") if isinstance(prev, dict) else ""
            c = cur.get("name", "") if isinstance(cur, dict) else ""
            return str(p or ""), str(c or "")
    return "", ""


def actor_of(ptype: str, invoked_by: str, event_type: str, name: str) -> str:
    """Who kind of actor made a lifecycle event. Names are not trusted: a session called
    ``skeddly-…`` is a role session until `who` says where its credentials came from."""
    if name == "BidEvictedEvent":
        return "spot interruption"
    if event_type == SERVICE_EVENT:
        return "aws service event"
    if "autoscaling" in invoked_by:
        return "auto scaling"
    if ptype == "AWSService" or invoked_by:
        return "aws service"
    if ptype in ("IAMUser", "Root", "SAMLUser", "WebIdentityUser", "IdentityCenterUser"):
        return "person"
    if ptype in ("AssumedRole", "FederatedUser"):
        return "role session"
    return "unknown"


def instance_filter(instance: str) -> Filter:
    return Filter(
        f"resource:{instance}",
        (Term("resource", (Value("exact", instance),)),),
    )


def reading_filter(store: Store, instance: str, scope: Any = None) -> Filter:
    """What a source that reads only what it is asked (Athena, billed by the bytes it scans)
    reads for an instance's history: the events naming it, in the accounts and regions where
    the cache has already seen it change state (an instance lives in one account and region;
    only calls that succeeded count: a failed call naming it can be made from anywhere)."""
    f = instance_filter(instance)
    seen: set[tuple[str, str]] = set()
    for s in history(store, instance, scope):
        row = store.row(s.rowid) if not s.failed else None
        if row is not None:
            seen.add((row.account, row.region))
    if not seen or len(seen) > 4:
        return f
    if not all(ACCOUNT.fullmatch(a) and REGION.fullmatch(r) for a, r in seen):
        return f  # the record is untrusted: ask about what looks like an account and region
    accounts = sorted({a for a, _ in seen})
    regions = sorted({r for _, r in seen})
    return Filter(
        f"{f.text} account:{','.join(accounts)} region:{','.join(regions)}",
        (
            *f.terms,
            Term("account", tuple(Value("exact", a) for a in accounts)),
            Term("region", tuple(Value("exact", r) for r in regions)),
        ),
    )


def history(store: Store, instance: str, scope: Any = None, since: datetime | None = None,
            until: datetime | None = None) -> list[Step]:  # fmt: skip
    """The instance's lifecycle events, oldest first."""
    f = instance_filter(instance).with_window(since, until)
    steps: list[Step] = []
    for rowid, raw_text in store.iter_raw(f, scope):
        raw = json.loads(raw_text)
        ev = parse_record(raw)
        if ev.name not in LIFECYCLE and ev.event_type != SERVICE_EVENT:
            continue
        if (EC2_INSTANCE, instance) not in ev.resources and not any(
            n == instance or n.endswith("/" + instance) for _, n in ev.resources
        ):
            continue
        prev, cur = _states(raw, instance)
        p = ev.principal
        steps.append(
            Step(
                time=ev.time,
                name=ev.name,
                instance=instance,
                previous=prev,
                current=cur,
                who=p.display,
                principal_type=p.type,
                source_ip=ev.source_ip,
                user_agent=ev.user_agent,
                error_code=ev.error_code,
                error_message=ev.error_message,
                actor=actor_of(p.type, p.invoked_by, ev.event_type, ev.name),
                event_id=ev.event_id,
                rowid=rowid,
            )
        )
    steps.reverse()
    return steps


RUNNING_STATES = {"pending", "running"}


def intervals(
    steps: list[Step], start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """(from, to, 'running'|'stopped'|'unknown') spans across [start, end] from the state
    changes that succeeded."""
    spans: list[tuple[datetime, datetime, str]] = []
    state = "unknown"
    t = start
    for s in steps:
        if s.failed or not s.current:
            continue
        if s.time < start:
            state = _bucket(s.current)
            continue
        if s.time > end:
            break
        if state == "unknown" and s.previous:
            state = _bucket(s.previous)
        spans.append((t, s.time, state))
        t, state = s.time, _bucket(s.current)
    spans.append((t, end, state))
    return [sp for sp in spans if sp[1] > sp[0]]


def _bucket(state: str) -> str:
    if state in RUNNING_STATES:
        return "running"
    if state in ("stopping", "stopped", "shutting-down", "terminated"):
        return "terminated" if state in ("shutting-down", "terminated") else "stopped"
    return "unknown"


def instances_of(resources: str) -> list[str]:
    """The EC2 instance ids in a list row's resources text."""
    out = []
    for part in resources.split(", "):
        part = part.strip()
        iid = part.rsplit("/", 1)[-1] if part.startswith("arn:") else part
        if iid.startswith("i-") and iid not in out:
            out.append(iid)
    return out
