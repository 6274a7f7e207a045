"""THE field catalogue: every field of the filter language, once.

Each entry says what the field means (help and completion read it), how it is read from a
normalized event (the local matcher), where the cache keeps it (its columns, or nothing: then
it is matched on the raw record), what completion counts, which LookupEvents attribute can
carry it, which keys of the detail view pivot to it, and where it lives in the raw record.
The parser, the matcher, the cache's SQL, facets, completion, help, pivots and every backend's
pushdown read this table: adding a field is one entry here plus its tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from .filter.values import fold

if TYPE_CHECKING:
    from .records.event import Event

FieldKind = Literal["text", "ip", "bool", "time"]


def text_at(raw: Any, path: str) -> str:
    """The text at a dotted path of a record ('' when absent or not a scalar)."""
    v = raw
    for key in path.split("."):
        if not isinstance(v, dict):
            return ""
        v = v.get(key)
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return ""


@lru_cache(maxsize=1024)
def _keys(path: str) -> tuple[tuple[str, str, int], ...]:
    return tuple((k, fold(k), len(k)) for k in path.split("."))


def path_values(raw: Any, path: str) -> tuple[list[str], bool]:
    """The scalars at a dotted path of a record, and whether a non-empty object or array
    ends there too. A key is the key as written when the object has it, else every key equal
    to it in another case (ASCII); an array on the way, or at the end, stands for each of its
    elements; true/false and numbers read as JSON writes them; null, {} and [] are absent."""
    level: list[Any] = [raw]
    for key, want, n in _keys(path):
        nxt: list[Any] = []
        stack = level
        while stack:
            v = stack.pop()
            if type(v) is dict:
                if key in v:
                    nxt.append(v[key])
                else:
                    nxt += [x for k, x in v.items() if len(k) == n and fold(k) == want]
            elif type(v) is list:
                stack.extend(v)
        if not nxt:
            return [], False
        level = nxt
    out: list[str] = []
    container = False
    while level:
        v = level.pop()
        if type(v) is str:
            out.append(v)
        elif isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, int | float):
            out.append(str(v))
        elif type(v) is list:
            level.extend(v)
        elif type(v) is dict and v:
            container = True
    return out, container


_PATH_KEY = re.compile(r"[A-Za-z0-9_\-@$]{1,64}")
_FIRST_KEY = re.compile(r"[A-Za-z_]")


def record_paths(raw: Any, depth: int = 8, width: int = 50) -> set[str]:
    """The dotted paths a record holds (arrays looked through), as the filter language can
    write them: keys of letters, digits and ``_-@$``, at most ``depth`` keys, the first
    ``width`` elements of an array."""
    out: set[str] = set()
    stack: list[tuple[Any, str, int]] = [(raw, "", 0)]
    while stack:
        v, path, n = stack.pop()
        if type(v) is dict:
            if n >= depth:
                continue
            for k, x in v.items():
                if not _PATH_KEY.fullmatch(k) or (not path and not _FIRST_KEY.match(k)):
                    continue
                p = f"{path}.{k}" if path else k
                if x is not None and x != "" and x != {} and x != []:
                    out.add(p)
                stack.append((x, p, n + 1))
        elif type(v) is list:
            stack.extend((x, path, n) for x in v[:width])
    return out


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    help: str  # one line: errors, help and completion show it
    example: str  # a term as the help screen shows it
    read: Callable[[Event], Sequence[str]] | None = None  # the local matcher's strings
    kind: FieldKind = "text"
    # where the cache keeps it: columns (any may match), each an `events` column or
    # `events column.dictionary column` (region.s: the text of the event's region id,
    # principal.arn...), a column of the `resources` side table, or neither (then it is matched
    # on the raw record at `record`)
    columns: tuple[str, ...] = ()
    resource_column: str = ""
    facets: tuple[str, ...] = ()  # columns completion counts values of (one event once)
    lookup: str = ""  # LookupEvents AttributeKey that can carry an equality
    lookup_rank: int = 99  # the most selective attribute goes to the API (lowest first)
    pivots: tuple[str, ...] = ()  # detail leaves whose value pivots to this field
    record: tuple[str, ...] = ()  # dotted paths of the raw record it reads (when exact)
    expand: Callable[[str], list[str]] | None = None  # an exact value's accepted spellings
    # its column expressions in the CloudTrail table Athena queries (filter/athena.py); empty:
    # the record paths, lower-cased (``tlsDetails.tlsVersion`` -> ``tlsdetails.tlsversion``)
    athena: tuple[str, ...] = ()
    path: bool = False  # a path into the record (a name the catalogue doesn't know)

    @property
    def raw(self) -> bool:
        """Matched on the raw record: a path, or a field the cache keeps no column for."""
        return self.path or (
            not self.columns
            and not self.resource_column
            and self.kind != "bool"
            and bool(self.record)
        )

    def strings(self, ev: Event) -> Sequence[str]:
        if self.read is not None:
            return self.read(ev)
        return [text_at(ev.raw, p) for p in self.record]


def _source_alts(v: str) -> list[str]:
    """source:ec2 is ec2.amazonaws.com; a value with a dot is taken as written."""
    return [v] if "." in v else [v, v + ".amazonaws.com"]


CATALOGUE: tuple[Field, ...] = (
    Field(
        "name",
        "event name",
        "name:StopInstances  name:Stop*  name:/^(Stop|Terminate)/  -name:Describe*",
        read=lambda ev: [ev.name],
        columns=("kind.name",),
        facets=("kind.name",),
        lookup="EventName",
        lookup_rank=4,
        pivots=("eventName",),
        record=("eventName",),
    ),
    Field(
        "user",
        "principal: user, role, session, federated user or ARN",
        "user:skeddly-*  user:alice  user:Ops",
        read=lambda ev: [
            ev.principal.display,
            ev.principal.arn,
            ev.principal.user_name,
            ev.principal.session_name,
            ev.principal.lookup_username,
        ],
        columns=(
            "principal.display",
            "principal.arn",
            "principal.user_name",
            "principal.session_name",
            "principal.lookup_username",
        ),
        facets=("principal.display", "principal.user_name", "principal.session_name"),
        pivots=("userName", "roleSessionName", "sourceIdentity", "invokedBy"),
    ),
    Field(
        "resource",
        "resource name or ARN (instance id, bucket, ...)",
        "resource:i-0abc123",
        read=lambda ev: [n for _, n in ev.resources],
        resource_column="name",
        lookup="ResourceName",
        lookup_rank=3,
        pivots=("instanceId",),
    ),
    Field(
        "type",
        "resource type, e.g. AWS::EC2::Instance",
        "type:AWS::EC2::Instance",
        read=lambda ev: [t for t, _ in ev.resources],
        resource_column="type",
        lookup="ResourceType",
        lookup_rank=5,
    ),
    Field(
        "source",
        "event source, e.g. ec2 or ec2.amazonaws.com",
        "source:ec2",
        read=lambda ev: [ev.source],
        columns=("kind.source",),
        facets=("kind.source",),
        lookup="EventSource",
        lookup_rank=6,
        pivots=("eventSource",),
        record=("eventSource",),
        expand=_source_alts,
    ),
    Field(
        "region",
        "AWS region",
        "region:us-east-1",
        read=lambda ev: [ev.region],
        columns=("region.s",),
        facets=("region.s",),
        pivots=("awsRegion",),
        record=("awsRegion",),
    ),
    Field(
        "account",
        "account id",
        "account:123456789012",
        read=lambda ev: [ev.account],
        columns=("account.s",),
        facets=("account.s",),
        pivots=("recipientAccountId", "accountId"),
        athena=("coalesce(nullif(recipientaccountid, ''), useridentity.accountid)",),
    ),
    Field(
        "ip",
        "source IP address or CIDR",
        "ip:203.0.113.0/24",
        read=lambda ev: [ev.source_ip],
        kind="ip",
        columns=("ip.s",),
        facets=("ip.s",),
        pivots=("sourceIPAddress",),
        record=("sourceIPAddress",),
    ),
    Field(
        "key",
        "access key id",
        "key:ASIA…",
        read=lambda ev: [ev.principal.access_key],
        columns=("access_key.s",),
        facets=("access_key.s",),
        lookup="AccessKeyId",
        lookup_rank=2,
        pivots=("accessKeyId",),
        record=("userIdentity.accessKeyId",),
        athena=("useridentity.accesskeyid",),
    ),
    Field(
        "id",
        "event id",
        "id:<eventID>",
        read=lambda ev: [ev.event_id],
        columns=("eid",),
        facets=("eid",),
        lookup="EventId",
        lookup_rank=1,
        pivots=("eventID",),
        athena=("eventid",),
    ),
    Field(
        "error",
        "error code (error:* = any error)",
        "error:AccessDenied  error:*",
        read=lambda ev: [ev.error_code],
        columns=("error.code",),
        facets=("error.code",),
        pivots=("errorCode",),
        record=("errorCode",),
    ),
    Field(
        "readonly",
        "true or false",
        "readonly:false",
        kind="bool",
        columns=("kind.read_only",),
        lookup="ReadOnly",
        lookup_rank=7,
        athena=("readonly",),
    ),
    Field(
        "agent",
        "user agent",
        "agent:*terraform*",
        read=lambda ev: [ev.user_agent],
        columns=("agent.s",),
        facets=("agent.s",),
        pivots=("userAgent",),
        record=("userAgent",),
    ),
    Field(
        "category",
        "Management, Data or Insight",
        "category:Data",
        read=lambda ev: [ev.category],
        columns=("kind.category",),
        facets=("kind.category",),
        athena=("eventcategory",),
    ),
    Field(
        "eventtype",
        "AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ...",
        "eventtype:AwsConsoleSignIn",
        read=lambda ev: [ev.event_type],
        columns=("kind.event_type",),
        facets=("kind.event_type",),
        record=("eventType",),
    ),
    Field(
        "vpce",
        "VPC endpoint the call came through (vpcEndpointId)",
        "vpce:vpce-0abc*",
        pivots=("vpcEndpointId",),
        record=("vpcEndpointId",),
    ),
    Field(
        "tls",
        "TLS version of the call, e.g. TLSv1.2 (tlsDetails.tlsVersion)",
        "tls:TLSv1,TLSv1.1",
        pivots=("tlsVersion",),
        record=("tlsDetails.tlsVersion",),
    ),
    # one JSON path each, as CloudTrail writes them: what the CIS benchmark's metric filters
    # test (usertype:Root -invokedby:*, mfa:, login:, errmsg:), so they can be explored too
    Field(
        "usertype",
        "identity type: Root, IAMUser, AssumedRole, AWSService, ... (userIdentity.type)",
        "usertype:Root",
        read=lambda ev: [ev.principal.type],
        columns=("principal.type",),
        facets=("principal.type",),
        record=("userIdentity.type",),
    ),
    Field(
        "invokedby",
        "the service that made the call for the principal (userIdentity.invokedBy)",
        "invokedby:ec2.amazonaws.com  -invokedby:*",
        read=lambda ev: [ev.principal.invoked_by],
        columns=("principal.invoked_by",),
        facets=("principal.invoked_by",),
        record=("userIdentity.invokedBy",),
    ),
    Field(
        "mfa",
        "console sign-in with MFA: Yes or No (additionalEventData.MFAUsed)",
        "mfa:No",
        pivots=("MFAUsed",),
        record=("additionalEventData.MFAUsed",),
    ),
    Field(
        "login",
        "console sign-in outcome: Success or Failure (responseElements.ConsoleLogin)",
        "login:Failure",
        pivots=("ConsoleLogin",),
        record=("responseElements.ConsoleLogin",),
    ),
    Field(
        "errmsg",
        "error message (errorMessage)",
        'errmsg:"Failed authentication"',
        record=("errorMessage",),
    ),
    Field("since", "start of the time window: 2d, 3h, 2024-05-01T12:00", "since:2d", kind="time"),
    Field("until", "end of the time window: 1h, 2024-05-01", "until:2024-05-01", kind="time"),
)

FIELDS: dict[str, Field] = {f.name: f for f in CATALOGUE}

# the top-level keys of a CloudTrail record: a one-key name the catalogue doesn't know is
# taken as a path into the record unless it looks like a misspelt field name and is none of
# these (CloudTrail adds keys over time: any other name is still a path)
RECORD_KEYS = [
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
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "tlsDetails",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "insightDetails",
    "addendum",
]
RECORD_KEYS_FOLDED = frozenset(k.lower() for k in RECORD_KEYS)

# a path the cache keeps as a column, exactly as the record writes it (eventName ->
# name's column): the path is answered there, as that field without its value spellings
COLUMN_PATHS: dict[str, str] = {
    f.record[0].lower(): f.name
    for f in CATALOGUE
    if len(f.record) == 1 and f.columns and f.kind in ("text", "ip") and f.read is not None
}
_COLUMN_FIELDS = {
    k: replace(FIELDS[n], name=FIELDS[n].record[0], expand=None) for k, n in COLUMN_PATHS.items()
}
# paths the cache keeps as a column that no named field is exactly
_COLUMN_FIELDS["useridentity.arn"] = Field(
    "userIdentity.arn",
    "the principal's ARN (userIdentity.arn)",
    "userIdentity.arn:*assumed-role/Ops/*",
    read=lambda ev: [ev.principal.arn],
    columns=("principal.arn",),
    facets=("principal.arn",),
    record=("userIdentity.arn",),
)


@lru_cache(maxsize=1024)
def field_of(name: str) -> Field:
    """The field a term names: a catalogue field, or a path into the record (answered from
    a column when the cache keeps that path as one)."""
    f = FIELDS.get(name)
    if f is not None:
        return f
    col = _COLUMN_FIELDS.get(name.lower())
    if col is not None:
        return col
    return Field(
        name,
        f"the record's {name}",
        f"{name}:*",
        read=lambda ev: path_values(ev.raw, name)[0],
        record=(name,),
        path=True,
    )


# detail leaf -> the field its value pivots to
PIVOTS: dict[str, str] = {leaf: f.name for f in CATALOGUE for leaf in f.pivots}
