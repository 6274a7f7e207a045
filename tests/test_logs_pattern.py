"""The CloudWatch Logs JSON filter pattern compiler (trailtui/filter/logs.py) against the
fake's evaluator (tests/fakes/logs.py): the pattern selects a superset of what the local
matcher selects, so pattern + local == local over any events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailtui.filter.language import parse
from trailtui.filter.logs import MAX_PATTERN, compile_filter, user_regex
from trailtui.filter.match import matches
from trailtui.records.event import parse_record

from .fakes.logs import InvalidPattern, Pattern

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)

NAMES = [
    "StopInstances",
    "stopinstances",
    "STOPINSTANCES",
    "StartInstances",
    "Describe_Things",
    "Get%Object",
    'Say"Hi"',
    "back\\slash",
    "two words",
    "Ünïcode",
    "line\nbreak",
    "a*b",
    "",
    None,  # null
    "<missing>",
]
IPS = ["10.0.0.1", "10.1.2.3", "192.168.1.9", "2001:DB8::1", "2001:db8::1", "ec2.amazonaws.com"]
SOURCES = ["ec2.amazonaws.com", "EC2.amazonaws.com", "s3.amazonaws.com", "EC2", "ec2"]
ERRORS = ["AccessDenied", "accessdenied", "Client.UnauthorizedOperation", "", None, "<missing>"]
AGENTS = ["aws-cli/2.1 Python/3", "Terraform/1.5", "[bold]x[/]", "\x1b[31mred", "ünï"]


def _put(rec: dict[str, Any], key: str, v: Any) -> None:
    if v != "<missing>":
        rec[key] = v


@st.composite
def records(draw: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 14))):
        rec: dict[str, Any] = {
            "eventID": f"e{i}",
            "eventTime": (NOW - timedelta(hours=draw(st.integers(0, 72)))).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "userIdentity": {"type": "IAMUser", "userName": "bob"},
        }
        _put(rec, "eventName", draw(st.sampled_from(NAMES)))
        _put(rec, "eventSource", draw(st.sampled_from([*SOURCES, "<missing>"])))
        _put(rec, "awsRegion", draw(st.sampled_from(["us-east-1", "EU-west-1", "<missing>"])))
        _put(rec, "sourceIPAddress", draw(st.sampled_from([*IPS, "", None, "<missing>"])))
        _put(rec, "errorCode", draw(st.sampled_from(ERRORS)))
        _put(rec, "userAgent", draw(st.sampled_from([*AGENTS, "<missing>"])))
        _put(
            rec,
            "vpcEndpointId",
            draw(st.sampled_from(["vpce-0abc", "VPCE-0ABD", "", 7, None, "<missing>"])),
        )
        tls = draw(st.sampled_from(["TLSv1.2", "tlsv1", None, "<missing>", "<flat>"]))
        if tls == "<flat>":
            rec["tlsDetails"] = "TLSv1.2"
        elif tls != "<missing>":
            rec["tlsDetails"] = {"tlsVersion": tls}
        if draw(st.integers(0, 9)) == 0:  # an Insight: the name lives in insightDetails
            rec.pop("eventName", None)
            rec["insightDetails"] = {
                "eventName": "StopInstances",
                "eventSource": "ec2.amazonaws.com",
            }
        if draw(st.integers(0, 12)) == 0:  # lower-case keys (some exports write them)
            rec = {k.lower(): v for k, v in rec.items()}
        out.append(rec)
    return out


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


VALUES = {
    "name": [
        "StopInstances",
        "stopinstances",
        "Describe_Things",
        "Get%Object",
        'Say"Hi"',
        "two words",
        "Ünïcode",
        "a*b",
        "line\nbreak",
        "back\\slash",
    ],
    "ip": ["10.0.0.1", "2001:db8::1", "ec2.amazonaws.com"],
    "error": ["AccessDenied", "client.unauthorizedoperation"],
    "source": ["ec2", "EC2.amazonaws.com", "s3"],
    "region": ["us-east-1", "eu-WEST-1"],
    "agent": ["aws-cli/2.1 Python/3", "[bold]x[/]", "ünï"],
    "vpce": ["vpce-0abc", "7"],
    "tls": ["TLSv1.2", "TLSV1"],
    "eventtype": ["AwsApiCall"],
    "user": ["bob", "Ops"],
}
REGEXES = ["^Stop", "instances$", "^(Stop|Start)", "Get.Obj", "[a-d]escribe", "^[^s]", "s{2}",
           "x|^desc", "\\d+", "two words", "é", "(?i)x", "\\bstop", "^$", "a?", "[^\\d]"]  # fmt: skip


@st.composite
def value_text(draw: Any, field: str) -> str:
    base = draw(st.sampled_from(VALUES[field]))
    kind = draw(
        st.sampled_from(
            ["exact", "glob", "regex", "cidr"] if field == "ip" else ["exact", "glob", "regex"]
        )
    )
    if kind == "cidr":
        return draw(
            st.sampled_from(
                [
                    "10.0.0.0/8",
                    "10.0.0.0/16",
                    "10.0.0.1/32",
                    "10.0.0.0/20",
                    "2001:db8::/32",
                    "0.0.0.0/0",
                ]
            )
        )
    if kind == "glob":
        cut = draw(st.integers(0, len(base)))
        g = base[:cut] + draw(st.sampled_from(["*", "?*", "*" + base[cut:], "?"]))
        # unquoted: no whitespace (a tab too), quote, backslash or comma, not a regex's slash
        ok = g and not set(g) & set('"\\,') and not any(c.isspace() for c in g)
        return g if ok and not g.startswith("/") else "*"
    if kind == "regex":
        return "/" + draw(st.sampled_from(REGEXES)) + "/"
    return _q(base)


# paths the cache keeps as columns: pushed as their catalogue field
COLUMN_PATHS = {"eventName": "name", "eventSource": "source", "errorCode": "error",
                "sourceIPAddress": "ip", "awsRegion": "region"}  # fmt: skip


@st.composite
def term(draw: Any) -> str:
    field = draw(st.sampled_from(sorted(VALUES) + sorted(COLUMN_PATHS)))
    neg = "-" if draw(st.booleans()) else ""
    vals = draw(st.lists(value_text(COLUMN_PATHS.get(field, field)), min_size=1, max_size=3))
    return f"{neg}{field}:{','.join(vals)}"


@st.composite
def group(draw: Any, depth: int = 0) -> str:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 2 if depth < 2 else 1))
        if kind == 0:
            items.append(draw(term()))
        elif kind == 1:
            items.append(
                ("-" if draw(st.booleans()) else "") + draw(st.sampled_from(["stop", "ALICE"]))
            )
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
    if draw(st.booleans()):
        parts.append(
            ("-" if draw(st.booleans()) else "") + draw(st.sampled_from(["stop", "ALICE"]))
        )
    return " ".join(parts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=records(), texts=st.lists(filters(), min_size=1, max_size=4))
def test_pattern_then_local_is_local(recs: list[dict[str, Any]], texts: list[str]) -> None:
    events = [(json.dumps(r), parse_record(r)) for r in recs]
    for text in texts:
        f = parse(text, NOW)
        plan = compile_filter(f)
        if not plan.pattern:
            continue
        assert len(plan.pattern) <= MAX_PATTERN
        pat = Pattern(plan.pattern)  # AWS would accept it (the fake refuses what AWS refuses)
        for msg, ev in events:
            if matches(f, ev):
                assert pat.matches(msg), (text, plan.pattern, msg)  # never excludes a match


def test_pushes_what_it_can_say() -> None:
    p = compile_filter(parse("name:StopInstances"))
    assert p.pattern == (
        "{ ($.eventTime NOT EXISTS) || ((($.eventName = %^[Ss][Tt][Oo][Pp][Ii][Nn][Ss][Tt][Aa]"
        "[Nn][Cc][Ee][Ss]$%) || ($.eventName NOT EXISTS) || ($.eventName IS NULL) || "
        '($.eventName = ""))) }'
    )
    p = compile_filter(parse("ip:10.0.0.0/16 -error:AccessDenied account:1"))
    assert '($.sourceIPAddress = "10.0.*")' in p.pattern
    assert (
        '($.errorCode NOT EXISTS) || ($.errorCode IS NULL) || ($.errorCode != "AccessDenied")'
        in p.pattern
    )
    assert p.pushed == ("ip:10.0.0.0/16", "-error:AccessDenied") and p.local == ("account:1",)
    # a third regex doesn't fit: it stays local
    p = compile_filter(parse("name:Stop* error:Access* agent:aws-cli*"))
    assert p.pattern.count("%") == 4 and p.local == ("agent:aws-cli*",)
    # words, user:, resource: (derived strings) stay local
    assert compile_filter(parse("user:bob resource:i-1 stop")).pattern == ""


def test_regex_subset() -> None:
    assert user_regex("^(Stop|Terminate)") == (
        "^[Ss][Tt][Oo][Pp]|^[Tt][Ee][Rr][Mm][Ii][Nn][Aa][Tt][Ee]",
        True,
    )
    assert (
        user_regex("(?i)x") is None and user_regex("\\bx") is None and user_regex("a(b)*") is None
    )
    assert user_regex("two words") == ("[Tt][Ww][Oo].[Ww][Oo][Rr][Dd][Ss]", False)


@pytest.mark.parametrize(
    "bad",
    ["{ $.a = %a b% }", "{ $.a = %(a)% }", "{ $.a = %é% }", "{ $.a = %a% || $.b = %b% || $.c = %c% }",
     "{ $.a = }", "ERROR", "{ $.a = 1 " + "&& $.a = 1 " * 100 + "}"],
)  # fmt: skip
def test_the_fake_refuses_what_aws_refuses(bad: str) -> None:
    with pytest.raises(InvalidPattern):
        Pattern(bad)


def test_the_fake_evaluates() -> None:
    msg = json.dumps({"a": "StopInstances", "n": None, "o": {"x": 1}, "k": 7, "l": [1]})
    assert Pattern('{ $.a = "Stop*" }').matches(msg)
    assert not Pattern('{ $.a = "stop*" }').matches(msg)
    assert Pattern("{ $.a = %Inst% }").matches(msg)
    assert not Pattern('{ $.missing != "x" }').matches(msg)
    assert Pattern("{ $.missing NOT EXISTS && $.n IS NULL }").matches(msg)
    assert not Pattern('{ $.o != "x" || $.l != "x" || $.n != "x" }').matches(msg)
    assert Pattern('{ $.k = "7" && $.k = 7 && $.k > 6 }').matches(msg)
    assert not Pattern('{ $.a = "x" }').matches("not json")
