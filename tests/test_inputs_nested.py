"""Input shapes where the CloudTrail record sits a level or two down: CloudWatch Logs
subscription envelopes, `aws logs filter-log-events` output, Logstash/Elastic exports and
pipeline captures. Small fixtures written here (tests/data/real holds only others' files)."""

from __future__ import annotations

import gzip
import json
from typing import Any

from trailtui.records.inputs import parse_bytes, parse_text


def rec(i: int, name: str = "StopInstances") -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventID": f"ev-{i}",
        "eventTime": f"2026-11-19T03:1{i % 10}:07Z",
        "eventName": name,
        "eventSource": "ec2.amazonaws.com",
        "awsRegion": "eu-west-1",
        "userIdentity": {"type": "IAMUser", "userName": "alice"},
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
    }


def envelope(recs: list[Any], kind: str = "DATA_MESSAGE") -> dict[str, Any]:
    return {
        "messageType": kind,
        "owner": "111111111111",
        "logGroup": "CloudTrail/prod",
        "logStream": "111111111111_CloudTrail_eu-west-1",
        "subscriptionFilters": ["to-firehose"],
        "logEvents": [
            {"id": str(n), "timestamp": 1795562355000 + n, "message": r if isinstance(r, str) else json.dumps(r)}
            for n, r in enumerate(recs)
        ],
    }  # fmt: skip


def ids(res: Any) -> list[str]:
    return [e.event_id for e in res.events]


def test_subscription_envelope_plain_gzip_lines_and_concatenated() -> None:
    env = envelope([rec(1), rec(2), "START RequestId: 1 a Lambda line"])
    res = parse_text(json.dumps(env), "sub.json")
    assert ids(res) == ["ev-1", "ev-2"] and res.kind == "envelope"
    assert [(r.where, r.reason) for r in res.rejected] == [
        ("sub.json#2", "not a CloudTrail record")
    ]
    assert ids(parse_bytes(gzip.compress(json.dumps(env).encode()), "sub.gz")) == ["ev-1", "ev-2"]
    control = envelope(
        ["CWL CONTROL MESSAGE: Checking health of destination Firehose."], "CONTROL_MESSAGE"
    )
    lines = "\n".join(json.dumps(x) for x in (envelope([rec(3)]), control, envelope([rec(4)])))
    res = parse_text(lines, "lines.jsonl")
    assert ids(res) == ["ev-3", "ev-4"] and res.rejected == []  # the control message is skipped
    assert parse_text(json.dumps(control), "c.json").events == []
    assert parse_text(json.dumps(control), "c.json").error == ""
    # Firehose writes the envelopes back to back, gzipped
    firehose = gzip.compress(
        (json.dumps(envelope([rec(5)])) + json.dumps(envelope([rec(6)]))).encode()
    )
    assert ids(parse_bytes(firehose, "fh.gz")) == ["ev-5", "ev-6"]


def test_filter_log_events_output() -> None:
    out = {
        "events": [
            {"logStreamName": "s", "timestamp": 1, "message": json.dumps(rec(1)), "ingestionTime": 2, "eventId": "1"},
            {"logStreamName": "s", "timestamp": 1, "message": json.dumps(rec(2)), "ingestionTime": 2, "eventId": "2"},
        ],
        "searchedLogStreams": [],
    }  # fmt: skip
    assert ids(parse_text(json.dumps(out), "out.json")) == ["ev-1", "ev-2"]


def test_logstash_elastic_export_gets_its_event_time_back() -> None:
    doc = {k: v for k, v in rec(7).items() if k != "eventTime"}
    doc |= {"@timestamp": "2026-11-19T03:17:07.000Z", "@version": "1"}
    res = parse_text(json.dumps(doc), "ls.json")
    assert ids(res) == ["ev-7"] and res.events[0].time.minute == 17
    assert (
        "@version" not in res.events[0].raw and res.events[0].raw["eventTime"] == doc["@timestamp"]
    )
    # elasticdump-style hits, one per line: the document under _source, one level down
    hit = {"_index": "cloudtrail", "_id": "x", "_source": doc}
    assert ids(parse_text(json.dumps(hit) + "\n" + json.dumps(hit), "es.jsonl")) == ["ev-7", "ev-7"]


def test_pipeline_captures_raw_and_message_as_string_or_json() -> None:
    splunk = {"_time": "1795562355", "sourcetype": "aws:cloudtrail", "_raw": json.dumps(rec(1))}
    assert ids(parse_text(json.dumps(splunk), "s.json")) == ["ev-1"]
    whole = {"host": "x", "message": json.dumps({"Records": [rec(2), rec(3)]})}
    assert ids(parse_text(json.dumps(whole), "w.json")) == ["ev-2", "ev-3"]
    as_json = {"host": "x", "message": {"Records": [rec(4)]}}
    assert ids(parse_text(json.dumps(as_json), "j.json")) == ["ev-4"]
    lines = "\n".join(json.dumps({"message": json.dumps(rec(i))}) for i in range(3))
    assert ids(parse_text(lines, "l.jsonl")) == ["ev-0", "ev-1", "ev-2"]


def test_what_is_not_cloudtrail_is_counted_with_its_place() -> None:
    res = parse_text(json.dumps({"message": "GET /index.html 200", "host": "web-1"}), "x.json")
    assert res.events == [] and res.kind == "unknown" and "not CloudTrail" in res.error
    lines = "\n".join(
        [json.dumps({"message": json.dumps(rec(1))}), json.dumps({"message": "plain text"}), "{bad"]
    )
    res = parse_text(lines, "m.jsonl")
    assert ids(res) == ["ev-1"]
    assert [r.where for r in res.rejected] == ["m.jsonl:2", "m.jsonl:3"]
    # three levels down is too far: not looked for
    deep = {"a": {"b": {"c": rec(1)}}}
    assert parse_text(json.dumps(deep), "d.json").events == []
