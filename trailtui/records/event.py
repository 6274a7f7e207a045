"""The normalized Event: one CloudTrail record (or LookupEvents item) read field by field,
whatever odd types real accounts put in the fields. Files and their shapes: inputs.py."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

EC2_INSTANCE = "AWS::EC2::Instance"


class ParseError(ValueError):
    """One record that can't be turned into an Event."""


@dataclass(slots=True)
class Principal:
    type: str = ""
    arn: str = ""
    display: str = ""
    user_name: str = ""  # IAM user name, role name, federated/SAML user
    session_name: str = ""
    access_key: str = ""
    invoked_by: str = ""
    account: str = ""
    source_identity: str = ""
    lookup_username: str = ""  # LookupEvents' Username (the session id for roles)


@dataclass(slots=True)
class Event:
    event_id: str
    time: datetime
    name: str
    source: str
    region: str
    account: str
    principal: Principal
    source_ip: str
    user_agent: str
    error_code: str
    error_message: str
    read_only: bool | None
    event_type: str
    category: str
    resources: list[tuple[str, str]]
    raw: dict[str, Any]
    id_derived: bool = False
    issued_key: str = ""  # STS calls: the access key id their credentials carry

    @property
    def ts_ms(self) -> int:
        return int(self.time.timestamp() * 1000)

    def raw_json(self) -> str:
        return dumps_raw(self.raw)


def raw_bytes(raw: dict[str, Any]) -> bytes:
    """The compact UTF-8 JSON of a record: what the cache stores and words are searched in."""
    try:
        return orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, big integers, depth > 255
        try:
            return json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            )
        except RecursionError:  # nested ~1000 deep: no record CloudTrail writes
            return raw_bytes(_clip(raw, MAX_DEPTH))


MAX_DEPTH = 200  # levels of a record kept when it is nested deeper than JSON can be written
CUT = f"(nested deeper than {MAX_DEPTH} levels: cut by trailtui)"


def _clip(v: Any, depth: int) -> Any:
    if isinstance(v, dict):
        return {k: _clip(x, depth - 1) for k, x in v.items()} if depth > 0 else CUT
    if isinstance(v, list):
        return [_clip(x, depth - 1) for x in v] if depth > 0 else CUT
    return v


def dumps_raw(raw: dict[str, Any]) -> str:
    return raw_bytes(raw).decode("utf-8", "replace")


def loads(text: str | bytes) -> Any:
    """json.loads, fast: orjson first; what orjson refuses (NaN, integers beyond 64 bits, lone
    surrogates) goes to json, which also gives the error message users see."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while many records are parsed: they are trees that
    reference counting frees, and the collector would otherwise rescan every record still alive
    (it doubled ingest time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# --------------------------------------------------------------------------- helpers


def _s(v: Any) -> str:
    """A field as text; dicts/lists/None become ''."""
    if type(v) is str:  # nearly always: the fast path
        return v
    if v is None or isinstance(v, dict | list):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _ci(d: dict[str, Any]) -> dict[str, Any]:
    """Return d, or a lower-cased-key view of it if it uses lowercase keys."""
    if "eventTime" in d or "eventName" in d or "eventID" in d:
        return d
    lowered = {k.lower(): v for k, v in d.items() if isinstance(k, str)}
    if "eventtime" not in lowered:
        return d
    out = dict(d)
    for canon in _CANON_KEYS:
        lk = canon.lower()
        if canon not in out and lk in lowered:
            out[canon] = lowered[lk]
    return out


_CANON_KEYS = (
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "eventCategory",
    "recipientAccountId",
    "resources",
    "managementEvent",
    "sharedEventID",
    "insightDetails",
    "serviceEventDetails",
)


def parse_time(v: Any) -> datetime:
    """CloudTrail times: ISO with Z or an offset, a space for T, epoch numbers, datetimes."""
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, int | float) and not isinstance(v, bool):
        dt = datetime.fromtimestamp(float(v) / (1000 if v > 1e11 else 1), tz=UTC)
    elif isinstance(v, str) and v.strip():
        text = v.strip()
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            try:
                dt = datetime.fromisoformat(text.replace(" ", "T", 1).replace("z", "Z"))
            except ValueError as e:
                raise ParseError(f"bad eventTime {text[:40]!r}") from e
    else:
        raise ParseError("no eventTime")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None


def _last(arn: str, sep: str = "/") -> str:
    return arn.rsplit(sep, 1)[-1] if arn else ""


def parse_principal(ui: Any, record: dict[str, Any], lookup_username: str = "") -> Principal:
    p = Principal(lookup_username=lookup_username)
    if not isinstance(ui, dict):
        ui = {}
    ptype = _s(ui.get("type"))
    arn = _s(ui.get("arn"))
    p.type, p.arn = ptype, arn
    p.access_key = _s(ui.get("accessKeyId"))
    p.invoked_by = _s(ui.get("invokedBy"))
    p.account = _s(ui.get("accountId"))
    ctx = ui.get("sessionContext")
    issuer: dict[str, Any] = {}
    if isinstance(ctx, dict):
        p.source_identity = _s(ctx.get("sourceIdentity"))
        si = ctx.get("sessionIssuer")
        if isinstance(si, dict):
            issuer = si
    user_name = _s(ui.get("userName"))
    if ptype == "IAMUser":
        p.user_name = user_name or _last(arn)
        p.display = p.user_name
    elif ptype == "AssumedRole":
        # arn:aws:sts::123:assumed-role/RoleName/session
        parts = arn.split("/") if arn else []
        role = _s(issuer.get("userName")) or (parts[1] if len(parts) >= 3 else "")
        session = parts[-1] if len(parts) >= 3 else ""
        p.user_name, p.session_name = role, session
        p.display = f"{role}/{session}" if role and session else role or session or arn
    elif ptype == "Root":
        p.user_name = user_name
        p.display = "root"
    elif ptype == "AWSService":
        p.display = p.invoked_by or _s(record.get("eventSource")) or "AWS service"
    elif ptype == "FederatedUser":
        name = _last(arn) or _s(issuer.get("userName"))
        p.user_name = name
        p.display = name
    elif ptype in ("SAMLUser", "WebIdentityUser"):
        p.user_name = user_name or _s(ui.get("principalId")).rsplit(":", 1)[-1]
        p.display = p.user_name
    elif ptype == "IdentityCenterUser":
        obo = ui.get("onBehalfOf")
        p.user_name = user_name or (_s(obo.get("userId")) if isinstance(obo, dict) else "")
        p.display = p.user_name or _s(ui.get("principalId"))
    elif ptype == "AWSAccount":
        p.display = p.invoked_by or f"account {p.account or _s(ui.get('principalId'))}"
    else:
        p.user_name = user_name
        p.display = (
            user_name
            or (_last(arn) if arn else "")
            or p.invoked_by
            or lookup_username
            or _s(ui.get("principalId"))
        )
        if not p.display and _s(record.get("eventType")) == "AwsServiceEvent":
            p.display = _s(record.get("eventSource")) or "AWS service"
    if not p.display:
        p.display = lookup_username
    return p


def _items(block: dict[str, Any], key: str) -> list[Any]:
    s = block.get(key)
    items = s.get("items") if isinstance(s, dict) else None
    return items if isinstance(items, list) else []


def _instance_ids(block: Any) -> list[str]:
    """EC2 instance ids in a request/response: instancesSet items, a plain instanceId
    (ModifyInstanceAttribute...), and i- ids in resourcesSet (CreateTags/DeleteTags)."""
    if not isinstance(block, dict):
        return []
    out = []
    for it in _items(block, "instancesSet"):
        if isinstance(it, dict):
            iid = it.get("instanceId")
            if isinstance(iid, str) and iid:
                out.append(iid)
    iid = block.get("instanceId")
    if isinstance(iid, str) and iid.startswith("i-"):
        out.append(iid)
    for it in _items(block, "resourcesSet"):
        rid = it.get("resourceId") if isinstance(it, dict) else None
        if isinstance(rid, str) and rid.startswith("i-"):
            out.append(rid)
    return out


def _resources(record: dict[str, Any], lookup_res: Any) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    if isinstance(lookup_res, list):
        for r in lookup_res:
            if isinstance(r, dict):
                name = _s(r.get("ResourceName"))
                if name:
                    seen[(_s(r.get("ResourceType")), name)] = None
    res = record.get("resources")
    if isinstance(res, list):
        for r in res:
            if isinstance(r, dict):
                name = _s(r.get("ARN") or r.get("arn") or r.get("ResourceName"))
                if name:
                    seen[(_s(r.get("type") or r.get("ResourceType")), name)] = None
    for block in (record.get("requestParameters"), record.get("responseElements")):
        for iid in _instance_ids(block):
            seen[(EC2_INSTANCE, iid)] = None
    return list(seen)


# STS calls whose response carries new temporary credentials
ISSUERS = frozenset(
    {
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "GetSessionToken",
        "GetFederationToken",
        "AssumeRoot",
    }
)


SECRET_FIELDS = ("sessionToken", "secretAccessKey")
REDACTED = "<redacted by trailtui>"


def issued_key(name: str, record: dict[str, Any]) -> str:
    """The access key id an STS call issued. Its session token and secret, which CloudTrail
    may log, are redacted in place: trailtui never stores credentials."""
    if name not in ISSUERS:
        return ""
    resp = record.get("responseElements")
    if not isinstance(resp, dict):
        return ""
    creds = resp.get("credentials")
    if not isinstance(creds, dict):
        return ""
    for k in SECRET_FIELDS:
        if isinstance(creds.get(k), str) and creds[k] and not creds[k].startswith("<"):
            creds[k] = REDACTED
    return _s(creds.get("accessKeyId"))


def derive_event_id(record: dict[str, Any]) -> str:
    canon = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return "derived-" + hashlib.sha256(canon.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def parse_record(record: Any, lookup: dict[str, Any] | None = None) -> Event:
    """One CloudTrail record (optionally with its LookupEvents envelope) -> Event."""
    if not isinstance(record, dict):
        raise ParseError(f"record is a {type(record).__name__}, not an object")
    rec = _ci(record)
    lk = lookup or {}
    time = parse_time(rec.get("eventTime") if rec.get("eventTime") else lk.get("EventTime"))
    ins = rec.get("insightDetails")
    insight: dict[str, Any] = ins if isinstance(ins, dict) else {}
    name = _s(rec.get("eventName")) or _s(lk.get("EventName")) or _s(insight.get("eventName"))
    source = (
        _s(rec.get("eventSource")) or _s(lk.get("EventSource")) or _s(insight.get("eventSource"))
    )
    principal = parse_principal(rec.get("userIdentity"), rec, _s(lk.get("Username")))
    if not principal.access_key:
        principal.access_key = _s(lk.get("AccessKeyId"))
    account = _s(rec.get("recipientAccountId")) or principal.account
    event_id = _s(rec.get("eventID")) or _s(lk.get("EventId"))
    derived = False
    if not event_id:
        event_id, derived = derive_event_id(record), True
    ro = _bool(rec.get("readOnly"))
    if ro is None:
        ro = _bool(lk.get("ReadOnly"))
    category = _s(rec.get("eventCategory"))
    etype = _s(rec.get("eventType"))
    if not category and etype == "AwsCloudTrailInsight":
        category = "Insight"
    return Event(
        event_id=event_id,
        time=time,
        name=name,
        source=source,
        region=_s(rec.get("awsRegion")),
        account=account,
        principal=principal,
        source_ip=_s(rec.get("sourceIPAddress")),
        user_agent=_s(rec.get("userAgent")),
        error_code=_s(rec.get("errorCode")),
        error_message=_s(rec.get("errorMessage")),
        read_only=ro,
        event_type=etype,
        category=category,
        resources=_resources(rec, lk.get("Resources")),
        raw=record,
        id_derived=derived,
        issued_key=issued_key(name, rec),
    )


def parse_lookup_item(item: dict[str, Any]) -> Event:
    """A LookupEvents ``Events[]`` item: CloudTrailEvent as a string (API/CLI) or a raw record."""
    if "CloudTrailEvent" in item:
        cte = item["CloudTrailEvent"]
        if isinstance(cte, str):
            try:
                rec = loads(cte)
            except ValueError as e:
                raise ParseError(f"CloudTrailEvent is not JSON: {e}") from e
        else:
            rec = cte
        if not isinstance(rec, dict):
            raise ParseError("CloudTrailEvent is not an object")
        return parse_record(rec, item)
    if "EventId" in item or "EventName" in item:
        # an item without the embedded record: build a minimal one
        rec = {
            "eventID": item.get("EventId"),
            "eventName": item.get("EventName"),
            "eventSource": item.get("EventSource"),
            "eventTime": _s(item.get("EventTime")) or item.get("EventTime"),
        }
        return parse_record({k: v for k, v in rec.items() if v is not None}, item)
    return parse_record(item)


class RecordReader:
    """parse_record's fields of plain CloudTrail records (a ``Records`` file's), without
    building an Event: the same values, with the principal worked out once per distinct
    userIdentity (and eventSource, eventType) and each eventTime string parsed once.

    ``fields(record)`` returns (event_id, ts_ms, name, source, event_type, category,
    read_only, region, account, principal, source_ip, user_agent, error_code, resources,
    issued_key) and redacts the record's secrets as parse_record does; it raises ParseError
    (or TypeError...) where parse_record would, and returns None for a record it leaves to
    parse_record (lower-case keys)."""

    def __init__(self) -> None:
        self._principals: dict[tuple[Any, ...], Principal] = {}
        self._times: dict[str, int] = {}

    def fields(self, record: Any) -> tuple[Any, ...] | None:
        if not isinstance(record, dict):
            raise ParseError(f"record is a {type(record).__name__}, not an object")
        if "eventTime" not in record and "eventName" not in record and "eventID" not in record:
            return None
        r = record
        when = r.get("eventTime")
        ts = None
        # CloudTrail's own form, 2024-05-01T12:34:56Z: each minute parsed once
        if (
            type(when) is str
            and len(when) == 20
            and when[19] == "Z"
            and when[16] == ":"
            and "0" <= when[17] <= "5"
            and "0" <= when[18] <= "9"
        ):
            base = self._times.get(when[:16])
            if base is None:
                base = int(parse_time(when[:16] + ":00Z").timestamp() * 1000)
                if len(self._times) > 20_000:
                    self._times.clear()
                self._times[when[:16]] = base
            ts = base + int(when[17:19]) * 1000
        if ts is None:
            ts = int(parse_time(when if when else None).timestamp() * 1000)
        # _s inlined for the common case (a str): this runs once per record
        v = r.get("eventName")
        name = v if type(v) is str else _s(v)
        v = r.get("eventSource")
        source = v if type(v) is str else _s(v)
        v = r.get("eventType")
        etype = v if type(v) is str else _s(v)
        if not name or not source:
            ins = r.get("insightDetails")
            if isinstance(ins, dict):
                name = name or _s(ins.get("eventName"))
                source = source or _s(ins.get("eventSource"))
        ui = r.get("userIdentity")
        key = (orjson.dumps(ui) if type(ui) is dict else None, _s(r.get("eventSource")), etype)
        p = self._principals.get(key)
        if p is None:
            p = parse_principal(ui, r)
            if len(self._principals) > 10_000:
                self._principals.clear()
            self._principals[key] = p
        v = r.get("eventID")
        event_id = (v if type(v) is str else _s(v)) or derive_event_id(r)
        v = r.get("eventCategory")
        category = v if type(v) is str else _s(v)
        if not category and etype == "AwsCloudTrailInsight":
            category = "Insight"
        v = r.get("recipientAccountId")
        account = (v if type(v) is str else _s(v)) or p.account
        ro = r.get("readOnly")
        if type(ro) is not bool:
            ro = _bool(ro)
        v = r.get("awsRegion")
        region = v if type(v) is str else _s(v)
        v = r.get("sourceIPAddress")
        ip = v if type(v) is str else _s(v)
        v = r.get("userAgent")
        agent = v if type(v) is str else _s(v)
        v = r.get("errorCode")
        error = v if type(v) is str else _s(v)
        res = r.get("resources")
        rq = r.get("requestParameters")
        rs = r.get("responseElements")
        if (
            res is None
            and not (
                type(rq) is dict
                and ("instancesSet" in rq or "instanceId" in rq or "resourcesSet" in rq)
            )
            and not (
                type(rs) is dict
                and ("instancesSet" in rs or "instanceId" in rs or "resourcesSet" in rs)
            )
        ):
            resources: list[tuple[str, str]] = []  # what _resources would find: nothing
        else:
            resources = _resources(r, None)
        return (
            event_id,
            ts,
            name,
            source,
            etype,
            category,
            ro,
            region,
            account,
            p,
            ip,
            agent,
            error,
            resources,
            issued_key(name, r),
        )
