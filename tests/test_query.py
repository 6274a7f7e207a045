from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailtui.filter.language import FilterSyntaxError, Value, parse
from trailtui.filter.lookup import pushdown
from trailtui.filter.match import matches
from trailtui.records.event import parse_record
from trailtui.store.store import Store

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_fields_values_and_kinds() -> None:
    f = parse('name:Stop*,StartInstances -user:bob ip:10.0.0.0/8 readonly:false "two words" x', NOW)
    assert [t.field for t in f.terms] == ["name", "user", "ip", "readonly"]
    assert f.terms[0].values == (Value("glob", "Stop*"), Value("exact", "StartInstances"))
    assert f.terms[1].negated
    assert f.terms[2].values == (Value("cidr", "10.0.0.0/8"),)
    assert f.terms[3].values == (Value("bool", "false"),)
    assert [w.text for w in f.words] == ["two words", "x"]


def test_regex_with_slashes_and_commas() -> None:
    f = parse(r"name:/^(Stop|Terminate)/,/a\/b/", NOW)
    assert [v.kind for v in f.terms[0].values] == ["regex", "regex"]
    assert f.terms[0].values[1].text == "a/b"


def test_since_until_relative_and_absolute() -> None:
    f = parse("since:2d until:2024-06-01T06:00", NOW)
    assert f.since == NOW - timedelta(days=2)
    assert f.until == datetime(2024, 6, 1, 6, tzinfo=UTC)
    assert parse("until:2024-05-01", NOW).until == datetime(
        2024, 5, 1, 23, 59, 59, 999000, tzinfo=UTC
    )


def test_arn_free_word() -> None:
    f = parse("arn:aws:iam::123:user/bob", NOW)
    assert not f.terms and f.words[0].text == "arn:aws:iam::123:user/bob"


@pytest.mark.parametrize(
    ("text", "pos", "fragment"),
    [
        ("nmae:x", 0, "unknown field 'nmae'"),
        ("name:", 5, "expected a value"),
        ('user:"bob', 5, "unterminated quote"),
        ("name:/(/", 5, "invalid regex"),
        ("name:/abc", 5, "unterminated regex"),
        ("readonly:maybe", 9, "expected true or false"),
        ("ip:10.0.0.0/99", 3, "CIDR"),
        ("since:yesterday", 6, "expected a duration"),
        ("-since:2d", 0, "can't be negated"),
        ("name:a, b", 7, "another value"),
        ('name:"a"b', 8, "expected ','"),
    ],
)
def test_syntax_errors_name_position_and_expectation(text: str, pos: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as ei:
        parse(text, NOW)
    assert ei.value.pos == pos, ei.value
    assert fragment in str(ei.value)
    assert str(ei.value).startswith(f"column {pos + 1}:")


def test_pushdown_prefers_the_most_selective_equality() -> None:
    plan = pushdown(parse("name:StopInstances user:bob key:ASIAX resource:i-1", NOW))
    assert plan.calls == [[{"AttributeKey": "AccessKeyId", "AttributeValue": "ASIAX"}]]
    assert plan.pushed == "key"


def test_pushdown_skips_globs_negations_and_splits_or() -> None:
    plan = pushdown(parse("-key:A name:Stop* source:ec2 since:1d", NOW))
    assert plan.calls == [[{"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"}]]
    assert plan.start == NOW - timedelta(days=1)
    plan = pushdown(parse("name:StopInstances,StartInstances", NOW))
    assert [c[0]["AttributeValue"] for c in plan.calls] == ["StopInstances", "StartInstances"]
    plan = pushdown(parse("name:/Stop/ plain", NOW))
    assert plan.full_scan and plan.calls == [[]]


def test_each_call_has_at_most_one_attribute() -> None:
    plan = pushdown(parse("id:E key:K resource:R user:U name:N type:T source:S readonly:true", NOW))
    assert all(len(c) <= 1 for c in plan.calls)
    assert plan.calls == [[{"AttributeKey": "EventId", "AttributeValue": "E"}]]


# --------------------------------------------------------------------------- property test

NAMES = [
    "StopInstances",
    "stopinstances",
    "StartInstances",
    "Describe_Things",
    "Get%Object",
    "Ünïcode",
    "",
]
USERS = ["bob", "Bob", "alice", "skeddly-01", "ops_admin", ""]
IPS = ["10.0.0.1", "10.1.2.3", "192.168.1.9", "2001:db8::1", "ec2.amazonaws.com", ""]
RES = ["i-0abc", "i-0ABD", "bucket_1", "arn:aws:s3:::b%c"]
WORDS = ["stop", "ALICE", "db8", "zzz", "_", "%"]
# nested, arrays, numbers, booleans, nulls, empty strings, keys in other cases
REQUEST_PARAMS: list[Any] = [
    None,
    {"instanceType": "p3.2xlarge", "maxCount": 2},
    {"InstanceType": "t3.micro", "dryRun": True},
    {"instanceType": "", "items": [{"cidrIp": "0.0.0.0/0"}, {"cidrIp": "10.0.0.0/8"}]},
    {"items": [{"cidrIp": "10.1.2.3"}, [{"cidrIp": "192.168.1.9"}]], "dryRun": False},
    {"instanceType": None, "tags": {}, "maxCount": "2"},
    {"instanceType": ["p3.8xlarge", "t3.micro"], "tags": {"k": "v"}},
    "not an object",
]
# path -> values to try (kinds as for named fields)
PATHS: dict[str, list[str]] = {
    "requestParameters.instanceType": ['"p3.2xlarge"', "p3*", "T3.MICRO", '""', "*", "/^t3/"],
    "requestparameters.MAXCOUNT": ["2", "*", '"3"'],
    "requestParameters.dryRun": ["true", "false", "*"],
    "requestParameters.items.cidrIp": ['"0.0.0.0/0"', "10.0.0.0/8", "192.168.0.0/16", "10.*"],
    "requestParameters.tags": ["*", "v"],
    "requestParameters": ["*"],
    "eventName": ["stopinstances", "Stop*", '""', "*"],
    "eventSource": ["ec2", "EC2", "ec2.amazonaws.com"],
    "userIdentity.type": ["AssumedRole", "iamuser", "*"],
    "userIdentity.userName": ["bob", "*", "ALICE"],
    "resources.ARN": ["i-0abc", "i-*", '"arn:aws:s3:::b%c"'],
    "sourceIPAddress": ["10.0.0.0/8", "ec2.amazonaws.com", "*"],
}


@st.composite
def records(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 12))
    out = []
    for i in range(n):
        user = draw(st.sampled_from(USERS))
        role = draw(st.booleans())
        ui: dict[str, Any] = (
            {
                "type": "AssumedRole",
                "arn": f"arn:aws:sts::1:assumed-role/Ops/{user}",
                "accessKeyId": "ASIA" + user,
            }
            if role
            else {"type": "IAMUser", "userName": user, "arn": f"arn:aws:iam::1:user/{user}"}
        )
        rec: dict[str, Any] = {
            "eventID": f"e{i}",
            "eventTime": (NOW - timedelta(hours=draw(st.integers(0, 72)))).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "eventName": draw(st.sampled_from(NAMES)),
            "eventSource": draw(st.sampled_from(["ec2.amazonaws.com", "s3.amazonaws.com", "EC2"])),
            "awsRegion": draw(st.sampled_from(["us-east-1", "eu-west-1"])),
            "sourceIPAddress": draw(st.sampled_from(IPS)),
            "userIdentity": ui,
            "userAgent": draw(st.sampled_from(["aws-cli/2", "Terraform/1.5", "[bold]x[/]"])),
        }
        if draw(st.booleans()):
            rec["errorCode"] = draw(st.sampled_from(["AccessDenied", "accessdenied", "Throttling"]))
        vpce = draw(st.sampled_from([None, "vpce-0abc", "VPCE-0ABD", "", 7]))
        if vpce is not None:
            rec["vpcEndpointId"] = vpce
        tls = draw(st.sampled_from([None, "TLSv1.2", "tlsv1", {"x": 1}]))
        if tls is not None:
            rec["tlsDetails"] = {"tlsVersion": tls} if draw(st.booleans()) else tls
        ro = draw(st.sampled_from([True, False, "true", None]))
        if ro is not None:
            rec["readOnly"] = ro
        rp = draw(st.sampled_from(REQUEST_PARAMS))
        if rp is not None:
            rec["requestParameters"] = rp
        res = draw(st.lists(st.sampled_from(RES), max_size=2, unique=True))
        if res:
            rec["resources"] = [{"ARN": r, "type": "AWS::X::" + r[:1]} for r in res]
        out.append(rec)
    return out


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def value_text(draw: Any, field: str) -> str:
    pools = {
        "name": NAMES[:-1],
        "user": [*USERS[:-1], "Ops", "Ops/bob"],
        "ip": IPS[:-1],
        "resource": RES,
        "error": ["AccessDenied", "throttling"],
        "source": ["ec2", "ec2.amazonaws.com", "EC2"],
        "region": ["us-east-1", "EU-WEST-1"],
        "type": ["AWS::X::i", "aws::x::b"],
        "agent": ["aws-cli/2", "[bold]x[/]"],
        "vpce": ["vpce-0abc", "VPCE-0ABD", "vpce-0"],
        "tls": ["TLSv1.2", "TLSV1", "tlsv1.3"],
    }
    base = draw(st.sampled_from(pools[field]))
    kind = draw(
        st.sampled_from(
            ["exact", "glob", "regex", "cidr"] if field == "ip" else ["exact", "glob", "regex"]
        )
    )
    if kind == "cidr":
        return draw(st.sampled_from(["10.0.0.0/8", "10.0.0.0/16", "2001:db8::/32", "0.0.0.0/0"]))
    if kind == "glob":
        safe = "".join(c for c in base if c.isalnum() or c in "-_%:.")
        cut = draw(st.integers(0, len(safe)))
        g = safe[:cut] + draw(st.sampled_from(["*", "?*", "*" + safe[cut:]]))
        return g or "*"
    if kind == "regex":
        safe = "".join(c for c in base if c.isalnum())[:4]
        return "/" + draw(st.sampled_from(["^", ""])) + safe + "/"
    return _quote(base)


@st.composite
def path_term(draw: Any) -> str:
    path = draw(st.sampled_from(sorted(PATHS)))
    vals = draw(st.lists(st.sampled_from(PATHS[path]), min_size=1, max_size=2))
    return ("-" if draw(st.booleans()) else "") + f"{path}:{','.join(vals)}"


@st.composite
def group(draw: Any, depth: int = 0) -> str:
    """(a OR b), -(a b), NOT (a OR (b c)): terms, paths and words inside."""
    items = []
    for _ in range(draw(st.integers(1, 3))):
        choice = draw(st.integers(0, 3 if depth < 2 else 2))
        if choice == 0:
            items.append(draw(path_term()))
        elif choice == 1:
            field = draw(st.sampled_from(["name", "user", "ip", "error", "source", "tls"]))
            items.append(f"{field}:{draw(value_text(field))}")
        elif choice == 2:
            items.append(
                ("-" if draw(st.booleans()) else "") + _quote(draw(st.sampled_from(WORDS)))
            )
        else:
            items.append(draw(group(depth + 1)))
    joined = (" OR " if draw(st.booleans()) else " ").join(items)
    neg = draw(st.sampled_from(["", "-", "NOT ", "not "]))
    return f"{neg}({joined})"


@st.composite
def filters(draw: Any) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 2))):
        parts.append(draw(path_term()))
    if draw(st.booleans()):
        parts.append(draw(group()))
    for _ in range(draw(st.integers(0, 3))):
        field = draw(
            st.sampled_from(
                [
                    "name",
                    "user",
                    "ip",
                    "resource",
                    "error",
                    "source",
                    "region",
                    "type",
                    "agent",
                    "readonly",
                    "vpce",
                    "tls",
                ]
            )
        )
        neg = "-" if draw(st.booleans()) else ""
        if field == "readonly":
            vals = [draw(st.sampled_from(["true", "false"]))]
        else:
            vals = draw(st.lists(value_text(field), min_size=1, max_size=2))
        parts.append(f"{neg}{field}:{','.join(vals)}")
    if draw(st.booleans()):
        parts.append(("-" if draw(st.booleans()) else "") + _quote(draw(st.sampled_from(WORDS))))
    if draw(st.booleans()):
        parts.append(f"since:{draw(st.integers(1, 80))}h")
    if draw(st.booleans()):
        parts.append(f"until:{draw(st.integers(0, 40))}h")
    return " ".join(parts)


def _agrees(store: Store, events: list[Any], texts: list[str]) -> None:
    """Each filter selects in the cache what the Python matcher selects, counts it, orders it
    newest first and pages through it."""
    for text in texts:
        f = parse(text, NOW)
        expected = sorted(e.event_id for e in events if matches(f, e))
        got = store.window(f, 0, 1000)
        assert sorted(r.event_id for r in got) == expected, text
        assert store.count(f) == len(expected)
        ts = [(r.ts, r.id) for r in got]
        assert ts == sorted(ts, reverse=True)
        page = store.window(f, 1, 2)
        assert [r.id for r in page] == [r.id for r in got[1:3]], text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=records(), texts=st.lists(filters(), min_size=1, max_size=4))
def test_sql_and_python_matcher_agree(recs: list[dict[str, Any]], texts: list[str]) -> None:
    events = [parse_record(r) for r in recs]
    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d) / "c.sqlite")
        try:
            store.ingest(events, "test")
            _agrees(store, events, texts)
        finally:
            store.close()


@pytest.mark.parametrize("mode", ["ranges", "chunk scan", "no postings", "needles common"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=records(), texts=st.lists(filters(), min_size=1, max_size=4))
def test_postings_narrow_without_changing_answers(
    mode: str, recs: list[dict[str, Any]], texts: list[str]
) -> None:
    """Events in many small chunks: a filter read through the postings (as id ranges, as a
    chunk scan when the ranges are too many for one statement, or not at all: the postings
    choosing nothing) selects what the Python matcher selects, in time order. Raw
    conditions in groups are checked on the chunks holding their needles only, or (needles
    common) on every row once most chunks hold them."""
    from trailtui.store import queries, scan

    events = [parse_record(r) for r in recs]
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        if mode == "chunk scan":
            mp.setattr(queries, "MAX_RANGES", 0)
        if mode == "no postings":
            mp.setattr(queries.Queries, "_posted", lambda self, postings: None)
        if mode == "needles common":
            mp.setattr(scan, "COMMON_AFTER", 1)
        store = Store(Path(d) / "c.sqlite")
        try:
            for i in range(0, len(events), 3):  # a chunk per three events
                store.ingest(events[i : i + 3], f"test-{i % 2}")
            _agrees(store, events, texts)
        finally:
            store.close()


def test_every_catalogue_field_is_in_the_language_help_and_matcher() -> None:
    from trailtui.fields import CATALOGUE, FIELDS, PIVOTS

    assert len(FIELDS) == len(CATALOGUE)  # one entry per name
    for fld in CATALOGUE:
        assert fld.help and fld.example.startswith(fld.name + ":"), fld.name
        if fld.kind == "time":
            continue
        value = "true" if fld.kind == "bool" else "x"
        f = parse(f"{fld.name}:{value}")
        assert f.terms[0].field == fld.name
        # every non-time field is answerable by the cache: a column, the resources table, or
        # the raw record
        assert fld.columns or fld.resource_column or fld.record, fld.name
    assert PIVOTS["vpcEndpointId"] == "vpce" and PIVOTS["tlsVersion"] == "tls"


def test_fields_on_the_raw_record_vpce_and_tls(tmp_path: Path) -> None:
    recs = [
        {"eventID": "a", "eventTime": "2024-05-01T00:00:00Z", "eventName": "GetObject",
         "vpcEndpointId": "vpce-0abc123", "tlsDetails": {"tlsVersion": "TLSv1.2"}},
        {"eventID": "b", "eventTime": "2024-05-01T00:00:01Z", "eventName": "GetObject",
         "tlsDetails": {"tlsVersion": "TLSv1"}},
        {"eventID": "c", "eventTime": "2024-05-01T00:00:02Z", "eventName": "GetObject",
         "vpcEndpointId": {"odd": "shape"}, "tlsDetails": "TLSv1.3"},
    ]  # fmt: skip
    events = [parse_record(r) for r in recs]
    store = Store(tmp_path / "c.sqlite")
    store.ingest(events, "test")
    cases = {
        "vpce:VPCE-0ABC123": ["a"],
        "vpce:vpce-*": ["a"],
        "-vpce:*": ["b", "c"],
        "vpce:*": ["a"],
        "tls:tlsv1": ["b"],
        "tls:TLSv1,TLSv1.1": ["b"],
        "-tls:TLSv1.2": ["b", "c"],
        "tls:/^TLSv1\\.[23]$/": ["a"],
    }
    for text, want in cases.items():
        f = parse(text, NOW)
        assert sorted(e.event_id for e in events if matches(f, e)) == want, text
        assert sorted(r.event_id for r in store.window(f, 0, 10)) == want, text
