"""The normalized Event and the parsers for every CloudTrail input shape.

Shapes are recognised by content, never by file name:

* S3 log files: ``{"Records": [...]}`` (plain or gzip)
* LookupEvents output: ``{"Events": [...]}`` as the API/CLI print it (``CloudTrailEvent``
  is a JSON string) or with raw records inside; a bare array of such responses; one item
  per line
* JSON Lines of records, and bare JSON arrays of records
* CloudTrail digest files are recognised and skipped

Nothing here raises on one bad record: it is reported in ``ParseResult.rejected`` and the
records beside it are kept.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import itertools
import json
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

EC2_INSTANCE = "AWS::EC2::Instance"
MAX_FILE_BYTES = 2 * 1024**3


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


@dataclass(slots=True)
class Rejected:
    where: str  # path, path:line or path#index
    reason: str


@dataclass(slots=True)
class ParseResult:
    kind: str  # records | lookup | jsonl | array | digest | empty
    events: list[Event] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    error: str = ""  # the whole file was unreadable (events may still hold what was salvaged)


def raw_bytes(raw: dict[str, Any]) -> bytes:
    """The compact UTF-8 JSON of a record: what the cache stores and words are searched in."""
    try:
        return orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, integers beyond 64 bits
        return json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        )


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


def _is_lookup_item(obj: dict[str, Any]) -> bool:
    return "CloudTrailEvent" in obj or ("EventId" in obj and "eventID" not in obj)


def _is_digest(obj: dict[str, Any]) -> bool:
    return "digestStartTime" in obj and "logFiles" in obj


# --------------------------------------------------------------------------- containers


def _add(res: ParseResult, where: str, make: Callable[[], Event]) -> None:
    """Append one parsed event, or record why it was rejected (never raise)."""
    try:
        res.events.append(make())
    except ParseError as e:
        res.rejected.append(Rejected(where, str(e)))
    except (TypeError, ValueError, AttributeError, OverflowError) as e:
        res.rejected.append(Rejected(where, f"{type(e).__name__}: {e}"))


def _one(obj: Any, res: ParseResult, where: str) -> None:
    """Parse one item that may be a record, a lookup item or a container of them."""
    if isinstance(obj, dict):
        if isinstance(obj.get("Records"), list):
            _many(obj["Records"], res, where, lookup=False)
            return
        if isinstance(obj.get("Events"), list):
            _many(obj["Events"], res, where, lookup=True)
            return
        if _is_digest(obj):
            return
        if _is_lookup_item(obj):
            _add(res, where, lambda: parse_lookup_item(obj))
            return
    _add(res, where, lambda: parse_record(obj))


def _many(items: list[Any], res: ParseResult, where: str, lookup: bool) -> None:
    for i, item in enumerate(items):
        w = f"{where}#{i}"
        if lookup and isinstance(item, dict):
            _add(res, w, lambda item=item: parse_lookup_item(item))  # type: ignore[misc]
        else:
            _one(item, res, w)


def _salvage(text: str, res: ParseResult, where: str) -> int:
    """Recover the complete records of a truncated/corrupt ``{"Records": [...]}`` text."""
    start = text.find('"Records"')
    if start < 0:
        start = text.find('"Events"')
    if start < 0:
        return 0
    lb = text.find("[", start)
    if lb < 0:
        return 0
    dec = json.JSONDecoder()
    pos = lb + 1
    before = len(res.events)
    lookup = text[start:lb].startswith('"Events"')
    for i in itertools.count():
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            obj, pos = dec.raw_decode(text, pos)
        except ValueError:
            break
        if lookup and isinstance(obj, dict):
            _add(res, f"{where}#{i}", lambda obj=obj: parse_lookup_item(obj))  # type: ignore[misc]
        else:
            _one(obj, res, f"{where}#{i}")
    return len(res.events) - before


def decode_bytes(data: bytes) -> tuple[str, str]:
    """gunzip if needed and decode. Returns (text, error) — text may be partial."""
    err = ""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            # keep whatever decompressed before the damage
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                data = d.decompress(data)
            except zlib.error:
                data = b""
            err = f"damaged gzip ({type(e).__name__}: {e})"
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, err


def parse_text(text: str, where: str = "<text>") -> ParseResult:
    """Parse the text of one input, whatever its shape."""
    stripped = text.lstrip()
    if not stripped:
        return ParseResult(kind="empty", error="empty file")
    res = ParseResult(kind="records")
    try:
        obj = loads(stripped)
    except ValueError as e:
        if stripped[0] == "{" and "\n" in stripped.strip():
            return _parse_lines(stripped, where, first_error=str(e))
        res.kind = "records" if '"Records"' in stripped[:4096] else "unknown"
        n = _salvage(stripped, res, where)
        res.error = f"invalid JSON ({e})" + (f"; {n} records recovered" if n else "")
        return res
    if isinstance(obj, dict):
        if isinstance(obj.get("Records"), list):
            res.kind = "records"
        elif isinstance(obj.get("Events"), list):
            res.kind = "lookup"
        elif _is_digest(obj):
            return ParseResult(kind="digest")
        elif not (_is_lookup_item(obj) or "eventTime" in obj or "eventtime" in obj):
            return ParseResult(kind="unknown", error="not CloudTrail data (no Records or Events)")
        else:
            res.kind = "jsonl"
        _one(obj, res, where)
    elif isinstance(obj, list):
        res.kind = "array"
        _many(obj, res, where, lookup=False)
    else:
        return ParseResult(
            kind="unknown", error=f"not CloudTrail data (a JSON {type(obj).__name__})"
        )
    return res


def _parse_lines(text: str, where: str, first_error: str) -> ParseResult:
    res = ParseResult(kind="jsonl")
    good_lines = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = loads(line)
        except ValueError as e:
            res.rejected.append(Rejected(f"{where}:{lineno}", f"invalid JSON ({e})"))
            continue
        good_lines += 1
        _one(obj, res, f"{where}:{lineno}")
    if not good_lines:
        res.kind = "unknown"
        res.error = f"invalid JSON ({first_error})"
    return res


def parse_bytes(data: bytes, where: str = "<bytes>") -> ParseResult:
    text, err = decode_bytes(data)
    if not text.strip() and err:
        return ParseResult(kind="unknown", error=err)
    res = parse_text(text, where)
    if err:
        res.error = err + (f"; {res.error}" if res.error else "")
    return res


def parse_file(path: Path) -> ParseResult:
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return ParseResult(kind="unknown", error=f"too large ({size} bytes)")
        data = path.read_bytes()
    except OSError as e:
        return ParseResult(kind="unknown", error=f"unreadable: {e.strerror or e}")
    if not data:
        return ParseResult(kind="empty", error="empty file")
    return parse_bytes(data, where)
