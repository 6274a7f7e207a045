from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trailtui.records.event import EC2_INSTANCE, parse_record
from trailtui.records.inputs import parse_bytes, parse_file, parse_text

from .conftest import REAL, real_files


def _independent_count(path: Path) -> int:
    """Count the events in a file without trailtui's parser: records with an event time."""
    text = path.read_text(encoding="utf-8")

    def has_time(obj: object) -> bool:
        if not isinstance(obj, dict):
            return False
        if "CloudTrailEvent" in obj or "EventTime" in obj:
            return True
        return any(k.lower() == "eventtime" for k in obj)

    def count(obj: object) -> int:
        if isinstance(obj, list):
            return sum(count(o) for o in obj)
        if isinstance(obj, dict):
            for key in ("Records", "Events"):
                if isinstance(obj.get(key), list):
                    return sum(1 for r in obj[key] if has_time(r))
            return 1 if has_time(obj) else 0
        return 0

    try:
        return count(json.loads(text))
    except json.JSONDecodeError:
        return sum(count(json.loads(line)) for line in text.splitlines() if line.strip())


def test_real_data_is_present() -> None:
    files = real_files()
    assert len(files) >= 58, files


@pytest.mark.parametrize("path", real_files(), ids=lambda p: str(p.relative_to(REAL)))
def test_every_real_file_parses_to_the_independent_count(path: Path) -> None:
    res = parse_file(path)
    assert not res.error, res.error
    assert len(res.events) == _independent_count(path)
    for ev in res.events:
        assert ev.event_id
        assert ev.time.tzinfo is not None and ev.time.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert ev.name


def test_invictus_total_and_account() -> None:
    evs = [
        e
        for p in (REAL / "invictus-ir" / "CloudTrail").glob("*.json")
        for e in parse_file(p).events
    ]
    assert len(evs) == 2900
    assert {e.account for e in evs} == {"123837392027"}
    assert sum(1 for e in evs if e.error_code == "ThrottlingException") == 102
    assert len({e.name for e in evs}) == 260


def test_lookupevents_cli_lines_with_offsets_and_string_readonly() -> None:
    res = parse_file(REAL / "plaso" / "aws_cloudtrail_lookupevents.jsonl")
    assert res.kind == "jsonl" and len(res.events) == 6
    desc = next(e for e in res.events if e.name == "DescribeInstances")
    assert desc.time == datetime(2022, 2, 7, 22, 23, 37, tzinfo=UTC)
    assert desc.read_only is True
    assert desc.principal.display == "fakeusername"
    stop = next(e for e in res.events if e.name == "StopInstances")
    assert (EC2_INSTANCE, "i-01234567890123456") in stop.resources
    assert stop.read_only is False


def test_lookup_response_array_with_raw_records() -> None:
    res = parse_file(REAL / "awsdocs" / "doc_examples_lookupevents.json")
    assert res.events and all(e.category == "Insight" for e in res.events)
    assert all(e.name for e in res.events)


def test_records_without_event_id_get_a_stable_derived_id() -> None:
    res = parse_file(REAL / "plaso" / "aws_cloudtrail_docs_examples.json")
    derived = [e for e in res.events if e.id_derived]
    assert derived
    again = {
        e.event_id for e in parse_file(REAL / "plaso" / "aws_cloudtrail_docs_examples.json").events
    }
    assert {e.event_id for e in derived} <= again


RECORD = {
    "eventVersion": "1.08",
    "userIdentity": {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/Ops/alice-session",
        "accountId": "123456789012",
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "userName": "Ops"},
            "sourceIdentity": "alice",
        },
    },
    "eventTime": "2024-05-01T12:00:00Z",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "StopInstances",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "203.0.113.9",
    "userAgent": "aws-cli/2",
    "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
    "responseElements": {
        "instancesSet": {
            "items": [
                {
                    "instanceId": "i-0abc",
                    "currentState": {"code": 64, "name": "stopping"},
                    "previousState": {"code": 16, "name": "running"},
                }
            ]
        }
    },
    "eventID": "11111111-2222-3333-4444-555555555555",
    "readOnly": False,
    "eventType": "AwsApiCall",
    "recipientAccountId": "123456789012",
    "eventCategory": "Management",
}


def test_assumed_role_principal() -> None:
    ev = parse_record(RECORD)
    assert ev.principal.display == "Ops/alice-session"
    assert ev.principal.session_name == "alice-session"
    assert ev.principal.user_name == "Ops"
    assert ev.principal.source_identity == "alice"
    assert ev.principal.access_key == "ASIAEXAMPLE"
    assert ev.resources == [(EC2_INSTANCE, "i-0abc")]


@pytest.mark.parametrize(
    ("ui", "display"),
    [
        ({"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::1:user/bob"}, "bob"),
        ({"type": "Root", "arn": "arn:aws:iam::1:root"}, "root"),
        (
            {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"},
            "autoscaling.amazonaws.com",
        ),
        ({"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/Bob"}, "Bob"),
        ({"type": "SAMLUser", "userName": "jane@example.com"}, "jane@example.com"),
        ({"type": "WebIdentityUser", "userName": "sub-123"}, "sub-123"),
        ({"accountId": "1", "invokedBy": "ec2.amazonaws.com"}, "ec2.amazonaws.com"),
    ],
)
def test_principal_display(ui: dict[str, str], display: str) -> None:
    assert parse_record({**RECORD, "userIdentity": ui}).principal.display == display


def test_tolerates_lowercase_keys_offsets_spaces_and_string_readonly() -> None:
    rec = {k.lower(): v for k, v in RECORD.items()}
    rec["eventtime"] = "2024-05-01 14:00:00+02:00"
    rec["readonly"] = "false"
    ev = parse_record(rec)
    assert ev.time == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert ev.name == "StopInstances" and ev.read_only is False


def test_missing_fields_everywhere() -> None:
    ev = parse_record({"eventTime": "2024-05-01T00:00:00Z"})
    assert ev.name == "" and ev.principal.display == "" and ev.resources == []
    assert ev.event_id.startswith("derived-")


def test_hostile_field_types_never_raise() -> None:
    rec = dict(
        RECORD, userIdentity="nope", requestParameters="x", responseElements=[1], resources={"a": 1}
    )
    ev = parse_record(rec)
    assert ev.principal.display == "" and ev.resources == []


def _records(*recs: object) -> bytes:
    return json.dumps({"Records": list(recs)}).encode()


def test_bad_records_are_counted_and_neighbours_kept() -> None:
    good = dict(RECORD)
    res = parse_bytes(
        _records(good, {"eventName": "NoTime"}, "a string", dict(good, eventID="other")), "f"
    )
    assert len(res.events) == 2
    assert len(res.rejected) == 2
    assert {r.where for r in res.rejected} == {"f#1", "f#2"}


def test_truncated_gzip_keeps_the_complete_records() -> None:
    recs = [dict(RECORD, eventID=f"id-{i}") for i in range(50)]
    data = gzip.compress(_records(*recs))
    res = parse_bytes(data[: len(data) * 2 // 3], "cut.json.gz")
    assert res.error
    assert 0 < len(res.events) < 50
    assert [e.event_id for e in res.events] == [f"id-{i}" for i in range(len(res.events))]


def test_invalid_json_and_empty_and_unrelated() -> None:
    assert parse_bytes(b"{not json", "x").error.startswith("invalid JSON")
    assert parse_bytes(b"", "x").error == "empty file"
    assert "not CloudTrail" in parse_bytes(b'{"hello": 1}', "x").error
    assert "not CloudTrail" in parse_bytes(b"42", "x").error
    assert parse_bytes(b"\x89PNG\r\n\x1a\n\x00\x00", "x").error


def test_digest_files_are_skipped() -> None:
    digest = {
        "awsAccountId": "1",
        "digestStartTime": "2024-05-01T00:00:00Z",
        "digestEndTime": "2024-05-01T01:00:00Z",
        "logFiles": [],
    }
    res = parse_bytes(gzip.compress(json.dumps(digest).encode()), "d")
    assert res.kind == "digest" and not res.events and not res.error


def test_shapes_jsonl_array_lookup_string() -> None:
    line = json.dumps(RECORD)
    assert len(parse_text(line + "\n" + line.replace("5555", "6666") + "\n", "l").events) == 2
    assert len(parse_text(json.dumps([RECORD, dict(RECORD, eventID="b")]), "a").events) == 2
    lookup = {
        "Events": [
            {
                "EventId": RECORD["eventID"],
                "EventName": "StopInstances",
                "EventTime": 1714564800.0,
                "Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-0abc"}],
                "CloudTrailEvent": json.dumps(RECORD),
            }
        ]
    }
    res = parse_text(json.dumps(lookup))
    assert res.kind == "lookup" and len(res.events) == 1
    assert res.events[0].resources == [(EC2_INSTANCE, "i-0abc")]


def test_jsonl_with_a_bad_line_keeps_the_others() -> None:
    line = json.dumps(RECORD)
    res = parse_text(line + "\n{broken\n" + line.replace("5555", "7777") + "\n", "j")
    assert len(res.events) == 2 and len(res.rejected) == 1 and res.rejected[0].where == "j:2"


def test_huge_request_parameters() -> None:
    big = dict(RECORD, requestParameters={"policy": "x" * 5_000_000})
    res = parse_bytes(_records(big, dict(RECORD, eventID="small")), "big")
    assert len(res.events) == 2


def test_terminal_escapes_in_fields_are_kept_as_data() -> None:
    ua = "\x1b[31mred\x1b]8;;https://evil\x07link\x1b]8;;\x07 [bold]x[/]"
    ev = parse_record(dict(RECORD, userAgent=ua))
    assert ev.user_agent == ua  # data is kept as is; escaping happens when rendering


def test_session_tokens_are_never_kept() -> None:
    rec = {
        "eventID": "sts-1",
        "eventTime": "2024-05-01T00:00:00Z",
        "eventName": "AssumeRole",
        "eventSource": "sts.amazonaws.com",
        "responseElements": {
            "credentials": {
                "accessKeyId": "ASIAISSUED",
                "sessionToken": "IQoJb3JpZ2luX2VjEJr//////////secret",
                "secretAccessKey": "wJalrXUtnFEMI/K7MDENG",
                "expiration": "May 1, 2024, 1:00:00 AM",
            }
        },
    }
    ev = parse_record(rec)
    assert ev.issued_key == "ASIAISSUED"
    text = json.dumps(ev.raw)
    assert "IQoJb3JpZ2luX2VjEJr" not in text and "wJalrXUtnFEMI" not in text
    assert ev.raw["responseElements"]["credentials"]["accessKeyId"] == "ASIAISSUED"
