"""The Athena SQL compiler (trailtui/filter/athena.py) against the SQL really run: sqlglot
turns the Trino SQL into DuckDB's and DuckDB runs it over the records as the CloudTrail
table holds them (tests/fakes/athena.py: Hive's JSON SerDe). Athena's rows are a superset of
the local matcher's, so rows + local == local, over any events and filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailtui.fields import FIELDS
from trailtui.filter.athena import Untranslatable, compile_filter, lit, regex
from trailtui.filter.athena_query import quote_table, time_sql
from trailtui.filter.language import parse
from trailtui.filter.match import matches
from trailtui.records.event import parse_record

from .fakes.athena import load, row, trino_to_duckdb

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)

NAMES = ["StopInstances", "stopinstances", "StartInstances", "Describe_Things", "Get%Object",
         'Say"Hi"', "it's", "back\\slash", "two words", "Ünïcode", "İstanbul", "\u212aelvin",
         "line\nbreak", "a*b", "", None, 7, True, {"o": 1}, "<missing>"]  # fmt: skip
IPS = ["10.0.0.1", "10.1.2.3", "10.0.17.4", "192.168.1.9", "2001:db8::1", "ec2.amazonaws.com"]
SOURCES = ["ec2.amazonaws.com", "EC2.amazonaws.com", "s3.amazonaws.com", "EC2", "ec2"]
ERRORS = ["AccessDenied", "accessdenied", "Client.UnauthorizedOperation", "", None, "<missing>"]
AGENTS = ["aws-cli/2.1 Python/3", "Terraform/1.5", "[bold]x[/]", "\x1b[31mred", "ünï", "a\tb"]
IDENTITIES: list[Any] = [
    {"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::1:user/bob", "accountId": "1"},
    {"type": "AssumedRole", "arn": "arn:aws:sts::2:assumed-role/Ops/alice",
     "accessKeyId": "ASIAX", "sessionContext": {"sessionIssuer": {"userName": "Ops"}}},
    {"type": "AssumedRole", "arn": "arn:aws:sts::2:assumed-role/Ops/alice"},
    {"type": "Root", "arn": "arn:aws:iam::1:root", "accountId": "1"},
    {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
    {"type": "AWSAccount", "principalId": "AIDA:x", "accountId": "3"},
    {"type": "SAMLUser", "principalId": "idp:Carol"},
    {"type": "IdentityCenterUser", "onBehalfOf": {"userId": "u-123"}},
    "not an object",
    None,
]  # fmt: skip
RESOURCES: list[Any] = [
    [{"ARN": "arn:aws:ec2:us-east-1:1:instance/i-0abc", "type": "AWS::EC2::Instance"}],
    [{"arn": "arn:aws:s3:::bucket_1", "type": "AWS::S3::Bucket"}, "junk"],
    [],
    "not a list",
]
REQUESTS: list[Any] = [
    {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
    {"instanceId": "i-0DEF"},
    {"resourcesSet": {"items": [{"resourceId": "i-0abc"}]}, "tagSet": {}},
    {"bucketName": "bucket_1", "note": 'say "stop"\nnow'},
    {"BucketName": "b1", "items": [{"id": 7}, {"id": "B1"}]},
    {"bucketName": "", "items": {"id": "b12"}},
    None,
]


def _put(rec: dict[str, Any], key: str, v: Any) -> None:
    if v != "<missing>":
        rec[key] = v


@st.composite
def records(draw: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 12))):
        t = NOW - timedelta(minutes=draw(st.integers(0, 72 * 60)))
        rec: dict[str, Any] = {
            "eventID": draw(st.sampled_from([f"e{i}", f"E{i}x"])),
            "eventTime": draw(
                st.sampled_from(
                    [t.strftime("%Y-%m-%dT%H:%M:%SZ"), t.strftime("%Y-%m-%d %H:%M:%S+00:00")]
                )
            ),
        }
        _put(rec, "userIdentity", draw(st.sampled_from([*IDENTITIES, "<missing>"])))
        _put(rec, "eventName", draw(st.sampled_from(NAMES)))
        _put(rec, "eventSource", draw(st.sampled_from([*SOURCES, "<missing>"])))
        _put(rec, "awsRegion", draw(st.sampled_from(["us-east-1", "EU-west-1", "<missing>"])))
        _put(rec, "recipientAccountId", draw(st.sampled_from(["1", "2", "", "<missing>"])))
        _put(rec, "sourceIPAddress", draw(st.sampled_from([*IPS, "", None, "<missing>"])))
        _put(rec, "errorCode", draw(st.sampled_from(ERRORS)))
        _put(rec, "userAgent", draw(st.sampled_from([*AGENTS, "<missing>"])))
        _put(rec, "readOnly", draw(st.sampled_from([True, False, "true", " FALSE", None])))
        _put(rec, "eventCategory", draw(st.sampled_from(["Management", "Data", "<missing>"])))
        _put(rec, "eventType", draw(st.sampled_from(["AwsApiCall", "AwsCloudTrailInsight"])))
        _put(rec, "resources", draw(st.sampled_from([*RESOURCES, "<missing>"])))
        _put(rec, "requestParameters", draw(st.sampled_from(REQUESTS)))
        _put(
            rec,
            "additionalEventData",
            draw(
                st.sampled_from(
                    [
                        {"MFAUsed": "Yes"},
                        {"MFAUsed": {"x": 1}},
                        {"mfaused": "no"},
                        "text",
                        None,
                        "<missing>",
                    ]
                )
            ),
        )
        _put(
            rec,
            "responseElements",
            draw(
                st.sampled_from(
                    [{"ConsoleLogin": "Success"}, {"ConsoleLogin": True}, None, "<missing>"]
                )
            ),
        )
        _put(rec, "errorMessage", draw(st.sampled_from(["Access denied", "it's", "<missing>"])))
        _put(rec, "vpcEndpointId", draw(st.sampled_from(["vpce-0abc", "VPCE-0ABD", 7, None])))
        tls = draw(st.sampled_from(["TLSv1.2", "tlsv1", None, "<missing>", "<flat>"]))
        if tls == "<flat>":
            rec["tlsDetails"] = "TLSv1.2"
        elif tls != "<missing>":
            rec["tlsDetails"] = {"tlsVersion": tls}
        if draw(st.integers(0, 9)) == 0:  # an Insight: the name lives in insightDetails
            rec.pop("eventName", None)
            rec["insightDetails"] = {"eventName": "StopInstances", "eventSource": "ec2"}
        if draw(st.integers(0, 12)) == 0:  # lower-case keys (some exports write them)
            rec = {k.lower(): v for k, v in rec.items()}
        out.append(rec)
    return out


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


VALUES = {
    "name": ["StopInstances", "stopinstances", "Describe_Things", "Get%Object", 'Say"Hi"',
             "it's", "two words", "Ünïcode", "istanbul", "kelvin", "a*b", "line\nbreak",
             "back\\slash", "7", "true", '{"o":1}'],
    "ip": ["10.0.0.1", "2001:db8::1", "ec2.amazonaws.com"],
    "error": ["AccessDenied", "client.unauthorizedoperation"],
    "source": ["ec2", "EC2.amazonaws.com", "s3"],
    "region": ["us-east-1", "eu-WEST-1"],
    "account": ["1", "2", "3"],
    "agent": ["aws-cli/2.1 Python/3", "[bold]x[/]", "ünï", "a\tb"],
    "vpce": ["vpce-0abc", "7"],
    "tls": ["TLSv1.2", "TLSV1"],
    "eventtype": ["AwsApiCall", "awscloudtrailinsight"],
    "category": ["Insight", "data"],
    "readonly": ["true", "false"],
    "key": ["ASIAX", "asiax"],
    "id": ["e1", "E2X"],
    "user": ["bob", "Ops", "Ops/alice", "root", "AWS service", "account 3", "Carol", "u-123",
             "alice", "ec2.amazonaws.com", "arn:aws:iam::1:user/bob"],
    "resource": ["i-0abc", "I-0DEF", "bucket_1", "arn:aws:s3:::bucket_1"],
    "type": ["AWS::EC2::Instance", "aws::s3::bucket"],
    "usertype": ["AssumedRole", "root"],
    "invokedby": ["ec2.amazonaws.com"],
    "mfa": ["Yes", "no"],
    "login": ["Success", "failure"],
    "errmsg": ["denied", "it's"],
}  # fmt: skip
REGEXES = ["^Stop", "instances$", "^(Stop|Start)", "Get.Obj", "[a-d]escribe", "^[^s]", "s{2}",
           "x|^desc", "\\d+", "two words", "é", "(?i)x", "\\bstop", "^$", "a?", "[^\\d]",
           "\\w+\\s\\w+", "k", "s{,2}x", "(?:ab)+?", "\\.", "[]a]", "line$", "a\\Z"]  # fmt: skip
WORDS = ["stop", "ALICE", "i-0abc", "eventname", "true", "say", "nb", "now", "bucket_1",
         "it's", "\"stop\"", "tls", "kelvin", "aws-cli/2.1"]  # fmt: skip


@st.composite
def value_text(draw: Any, field: str) -> str:
    base = draw(st.sampled_from(VALUES[field]))
    if field == "readonly":
        return base
    kinds = ["exact", "glob", "regex"] + (["cidr"] if field == "ip" else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "cidr":
        return draw(st.sampled_from(["10.0.0.0/8", "10.0.0.0/16", "10.0.0.1/32", "10.0.16.0/20",
                                     "2001:db8::/32", "0.0.0.0/0", "10.0.0.0/7"]))  # fmt: skip
    if kind == "glob":
        cut = draw(st.integers(0, len(base)))
        g = base[:cut] + draw(st.sampled_from(["*", "?*", "*" + base[cut:], "?"]))
        # unquoted: no whitespace (a tab too), quote, backslash or comma, not a regex's slash
        ok = g and not set(g) & set('"\\,') and not any(c.isspace() for c in g)
        return g if ok and not g.startswith("/") else "*"
    if kind == "regex":
        return "/" + draw(st.sampled_from(REGEXES)) + "/"
    return _q(base)


# paths: the catalogue's columns, struct members, JSON-text members (through arrays too)
PATHS = {"eventName": "name", "eventSource": "source", "userIdentity.type": "",
         "requestParameters.bucketName": "", "requestParameters.items.id": "",
         "requestparameters.BUCKETNAME": ""}  # fmt: skip
PATH_VALUES = ["Root", "IAMUser", "b1", "B1", "7", "*", "b*", '""']


@st.composite
def term(draw: Any) -> str:
    neg = "-" if draw(st.booleans()) else ""
    if draw(st.integers(0, 3)) == 0:
        path = draw(st.sampled_from(sorted(PATHS)))
        named = PATHS[path]
        vals = draw(
            st.lists(
                value_text(named) if named else st.sampled_from(PATH_VALUES), min_size=1, max_size=2
            )
        )
        return f"{neg}{path}:{','.join(vals)}"
    field = draw(st.sampled_from(sorted(VALUES)))
    vals = draw(st.lists(value_text(field), min_size=1, max_size=3))
    return f"{neg}{field}:{','.join(vals)}"


@st.composite
def group(draw: Any, depth: int = 0) -> str:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 2 if depth < 2 else 1))
        if kind == 0:
            items.append(draw(term()))
        elif kind == 1:
            items.append(("-" if draw(st.booleans()) else "") + _q(draw(st.sampled_from(WORDS))))
        else:
            items.append(draw(group(depth + 1)))
    joined = (" OR " if draw(st.booleans()) else " ").join(items)
    return draw(st.sampled_from(["", "-", "NOT "])) + f"({joined})"


@st.composite
def filters(draw: Any) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        parts.append(draw(term()))
    for _ in range(draw(st.integers(0, 2))):
        parts.append(draw(group()))
    for _ in range(draw(st.integers(0, 2))):
        parts.append(("-" if draw(st.booleans()) else "") + _q(draw(st.sampled_from(WORDS))))
    if draw(st.booleans()):
        parts.append(f"since:{draw(st.integers(1, 72))}h")
    if draw(st.booleans()):
        parts.append(f"until:{draw(st.integers(0, 48))}h")
    return " ".join(parts)


def _selected(con: Any, where: str) -> set[str]:
    sql = f'SELECT "$path" FROM t WHERE {where or "TRUE"}'
    return {r[0] for r in con.execute(trino_to_duckdb(sql)).fetchall()}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=records(), texts=st.lists(filters(), min_size=1, max_size=4))
def test_sql_then_local_is_local(recs: list[dict[str, Any]], texts: list[str]) -> None:
    con = duckdb.connect()
    load(con, [row(r, f"r{i}", ("1", "us-east-1", "2026/11/20")) for i, r in enumerate(recs)], "t")
    events = {f"r{i}": parse_record(r) for i, r in enumerate(recs)}
    for text in texts:
        f = parse(text, NOW)
        plan = compile_filter(f)
        where = " AND ".join(c for c in (plan.where, time_sql(f.since, f.until)) if c)
        got = _selected(con, where)
        for path, ev in events.items():
            if matches(f, ev):
                assert path in got, (text, where, recs[int(path[1:])])  # never drops a match
    con.close()


def test_pushes_what_it_can_say() -> None:
    p = compile_filter(parse("name:StopInstances region:eu-west-1 account:1,2"))
    assert p.where.startswith("(((lower(eventname) = 'stopinstances') OR ")
    assert p.partitions == "\"region\" IN ('eu-west-1') AND \"account\" IN ('1', '2')"
    assert p.pushed == ("name:StopInstances", "region:eu-west-1", "account:1,2") and not p.local
    p = compile_filter(parse("ip:2001:db8::/32 name:/(?=x)/ user:* -user:bob stop"))
    assert p.local == ("ip:2001:db8::/32", "name:/(?=x)/", "user:*", "-user:bob")
    assert p.pushed == ("stop",)
    assert compile_filter(parse("")).where == ""


@pytest.mark.parametrize(
    "hostile",
    ["it's", "'; DROP TABLE x; --", "\\'", "a''b", "%_\\", "\x00\x1b]8;;x\x07", "é'", "\u2028"],
)
def test_hostile_values_are_literals(hostile: str) -> None:
    """Whatever a value holds, the SQL parses as one predicate and matches it as text."""
    text = f"name:{_q(hostile)} agent:{_q(hostile)} {_q(hostile)} -error:{_q(hostile)}"
    f = parse(text, NOW)
    plan = compile_filter(f)
    con = duckdb.connect()
    rec = {"eventID": "e", "eventTime": "2026-11-20T05:00:00Z", "eventName": hostile,
           "userAgent": hostile, "errorCode": "no"}  # fmt: skip
    load(con, [row(rec, "r0", ("1", "us-east-1", "2026/11/20"))], "t")
    local = matches(f, parse_record(rec))  # (a control character is escaped in the JSON)
    assert local or not hostile.isprintable()
    assert _selected(con, plan.where) >= ({"r0"} if local else set())


@given(st.text(max_size=30))
def test_any_text_is_one_literal(s: str) -> None:
    con = duckdb.connect()
    assert con.execute(trino_to_duckdb(f"SELECT {lit(s)}")).fetchone() == (s,)
    con.close()


def test_regex_subset() -> None:
    assert regex("^(Stop|Start)$") == "(?is)^(Stop|Start)(?:\\n?\\z)"
    assert regex("\\d+\\s") == "(?is)[0-9]+[ \\t\\n\\r\\f\\x0B]"
    for bad in ("(?=x)", "\\bx", "(a)\\1", "a{,2}", "(?P<n>x)", "é", "a*+", "[[:alpha:]]"):
        with pytest.raises(Untranslatable):
            regex(bad)


def test_every_field_has_a_column_or_stays_local() -> None:
    from trailtui.fields import CATALOGUE
    from trailtui.filter.athena import columns

    assert columns(FIELDS["mfa"]) == ("try(json_extract_scalar(additionaleventdata, '$.MFAUsed'))",)
    for f in CATALOGUE:
        if f.record:
            assert columns(f), f.name


def test_table_names() -> None:
    assert quote_table("trailtui.CloudTrail") == '"trailtui"."cloudtrail"'
    for bad in ("x", "a.b.c", 'a."b', "a.b;drop"):
        with pytest.raises(ValueError):
            quote_table(bad)
