"""Alarms from saved filters: the exact metric filter compiler (checked against the fake's
pattern evaluator and the local matcher), and `trailtui alarm create/list/delete` with real
boto3 against moto's server (CloudWatch Logs metric filters, CloudWatch alarms, SNS)."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailtui.cli.main import main
from trailtui.evidence.bookmarks import Bookmark, Bookmarks
from trailtui.filter.language import parse
from trailtui.filter.match import matches
from trailtui.filter.metric import NotExact, compile_exact
from trailtui.monitor.cis import CIS
from trailtui.records.event import parse_record

from .fakes.logs import Pattern

GROUP = "CloudTrail/prod"

# --------------------------------------------------------------------------- the compiler

NAMES = [n for c in CIS for n in c.filter.split("name:")[-1].split()[0].split(",")] + [
    "ConsoleLogin",
    "DescribeInstances",
]


def _record(draw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "eventID": "e",
        "eventTime": "2024-05-01T00:00:00Z",
        "eventName": draw(st.sampled_from(NAMES)),
        "eventSource": draw(
            st.sampled_from(["ec2.amazonaws.com", "s3.amazonaws.com", "kms.amazonaws.com",
                             "config.amazonaws.com", "iam.amazonaws.com", "signin.amazonaws.com"])
        ),
        "eventType": draw(st.sampled_from(["AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn"])),
        "awsRegion": "us-east-1",
        "userIdentity": {"type": draw(st.sampled_from(["Root", "IAMUser", "AssumedRole"]))},
    }  # fmt: skip
    if draw(st.booleans()):
        rec["userIdentity"]["invokedBy"] = draw(st.sampled_from(["", "ec2.amazonaws.com"]))
    if draw(st.booleans()):
        rec["errorCode"] = draw(
            st.sampled_from(["AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation",
                             "NoSuchKey", ""])
        )  # fmt: skip
    if draw(st.booleans()):
        rec["errorMessage"] = draw(st.sampled_from(["Failed authentication", "nope"]))
    if draw(st.booleans()):
        rec["additionalEventData"] = {"MFAUsed": draw(st.sampled_from(["Yes", "No"]))}
    if draw(st.booleans()):
        rec["responseElements"] = {"ConsoleLogin": draw(st.sampled_from(["Success", "Failure"]))}
    return rec


records = st.composite(_record)


@settings(max_examples=300, deadline=None)
@given(st.lists(records(), min_size=1, max_size=20))
def test_cis_patterns_select_exactly_what_the_bookmarks_match(recs: list[dict[str, Any]]) -> None:
    """Values written as CloudTrail writes them (the case the bookmarks use): the pattern's
    selection (the fake evaluates CloudWatch's semantics) is the local matcher's."""
    for c in CIS:
        f = parse(c.filter)
        pat = Pattern(compile_exact(f).pattern)
        for r in recs:
            ev = parse_record(r)
            assert pat.matches(json.dumps(r)) == matches(f, ev), (c.name, r)


def test_refuses_what_it_cant_say_exactly_and_says_which_part() -> None:
    cases = {
        "name:/^Stop/": "name:/^Stop/: a regex",
        "name:StopInstances stopped": "free words",
        "user:alice": "user:alice: user: is read by trailtui from several places",
        "resource:i-0abc": "resource:",
        "name:Stop?nstances": "'?'",
        "ip:10.1.2.0/23": "whole-octet",
        'name:"a\\"b"': "character",
        "": "empty filter",
    }
    for text, part in cases.items():
        with pytest.raises(NotExact, match=None) as e:
            compile_exact(parse(text))
        assert part in str(e.value), (text, str(e.value))


def test_how_each_value_is_matched_is_said() -> None:
    plan = compile_exact(parse("name:StopInstances,Terminate* -error:* readonly:false since:2d"))
    assert plan.pattern == (
        '{ (($.eventName = "StopInstances") || ($.eventName = "Terminate*")) && '
        '(($.errorCode NOT EXISTS) || ($.errorCode IS NULL) || ($.errorCode = "")) && '
        "($.readOnly IS FALSE) }"
    )
    assert "case-sensitive, exactly as typed" in plan.how[0]
    assert plan.dropped and "time window" in plan.dropped[0]


def test_cis_bookmarks_are_built_in() -> None:
    b = Bookmarks().get("cis-root-use")
    assert b.filter == "usertype:Root -invokedby:* -eventtype:AwsServiceEvent"
    assert "CloudWatch.1" in b.source
    assert len(CIS) == 14 and all(Bookmarks().get(c.name).filter == c.filter for c in CIS)


# --------------------------------------------------------------------------- against moto


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": moto_url,
        "AWS_ENDPOINT_URL_CLOUDWATCH": moto_url,
        "AWS_ENDPOINT_URL_SNS": moto_url,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    logs, cw, sns = (boto3.client(s) for s in ("logs", "cloudwatch", "sns"))
    logs.create_log_group(logGroupName=GROUP)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    yield {"logs": logs, "cw": cw, "topic": topic}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as e:
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def test_alarm_create_list_delete(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    Bookmarks().save(Bookmark("stops", "name:StopInstances,TerminateInstances region:eu-west-1"))
    rc, out, _ = _run(
        capsys, "alarm", "create", "--bookmark", "stops", "--log-group", GROUP,
        "--topic", aws["topic"], "--threshold", "2", "--period", "60",
    )  # fmt: skip
    assert rc == 0, out
    assert "case-sensitive" in out and "created trailtui-stops" in out
    mf = aws["logs"].describe_metric_filters(logGroupName=GROUP)["metricFilters"]
    assert [m["filterName"] for m in mf] == ["trailtui-stops"]
    assert mf[0]["filterPattern"] == (
        '{ (($.eventName = "StopInstances") || ($.eventName = "TerminateInstances")) && '
        '($.awsRegion = "eu-west-1") }'
    )
    assert mf[0]["metricTransformations"][0]["metricNamespace"] == "trailtui"
    (alarm,) = aws["cw"].describe_alarms(AlarmNames=["trailtui-stops"])["MetricAlarms"]
    assert alarm["AlarmActions"] == [aws["topic"]]
    assert (alarm["Threshold"], alarm["Period"], alarm["MetricName"]) == (2.0, 60, "trailtui-stops")
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # someone else's alarm is not ours
    aws["cw"].put_metric_alarm(
        AlarmName="other", MetricName="x", Namespace="AWS/EC2", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    rc, out, _ = _run(capsys, "alarm", "list")
    assert rc == 0 and "trailtui-stops" in out and "other" not in out
    assert "name:StopInstances,TerminateInstances region:eu-west-1" in out
    rc, out, _ = _run(capsys, "alarm", "delete", "stops")
    assert rc == 0 and "deleted alarm trailtui-stops" in out
    assert not aws["logs"].describe_metric_filters(logGroupName=GROUP)["metricFilters"]
    assert [a["AlarmName"] for a in aws["cw"].describe_alarms()["MetricAlarms"]] == ["other"]
    rc, _, err = _run(capsys, "alarm", "delete", "stops")
    assert rc == 2 and "no trailtui alarm named 'trailtui-stops'" in err


def test_alarm_preset_cis(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(
        capsys, "alarm", "create", "--preset", "cis", "--log-group", GROUP, "--topic", aws["topic"]
    )
    assert rc == 0, out
    mf = {
        m["filterName"]: m["filterPattern"]
        for m in aws["logs"].describe_metric_filters(logGroupName=GROUP)["metricFilters"]
    }
    assert mf == {"trailtui-" + c.name: compile_exact(parse(c.filter)).pattern for c in CIS}
    alarms = aws["cw"].describe_alarms(AlarmNamePrefix="trailtui-")["MetricAlarms"]
    assert len(alarms) == 14
    rc, out, _ = _run(capsys, "alarm", "list")
    assert out.count("trailtui-cis-") == 14


def test_alarm_refusals(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    Bookmarks().save(Bookmark("rx", "name:/^Stop/ user:bob"))
    rc, _, err = _run(
        capsys, "alarm", "create", "--bookmark", "rx", "--log-group", GROUP, "--topic", aws["topic"]
    )
    assert rc == 2 and "can't be an alarm exactly: name:/^Stop/: a regex" in err
    rc, _, err = _run(
        capsys, "alarm", "create", "--bookmark", "cis-root-use", "--log-group", "nope",
        "--topic", aws["topic"],
    )  # fmt: skip
    assert rc == 2 and "no log group 'nope'" in err
    rc, _, err = _run(
        capsys, "alarm", "create", "--bookmark", "cis-root-use", "--log-group", GROUP,
        "--topic", aws["topic"] + "-missing",
    )  # fmt: skip
    assert rc == 2 and "no SNS topic" in err
    rc, _, err = _run(
        capsys, "alarm", "create", "--bookmark", "cis-root-use", "--log-group", GROUP,
        "--topic", "not-an-arn",
    )  # fmt: skip
    assert rc == 2 and "not an SNS topic ARN" in err
    assert not aws["logs"].describe_metric_filters(logGroupName=GROUP)["metricFilters"]
