"""The ingest fast path (plain ``{"Records": [...]}`` files, no Event objects) gives exactly
what the general parser gives: the same rows, values, resources, issued keys, raw lines (secrets
redacted) and rejects, over every real file and over odd records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from trailtui.records.inputs import parse_bytes
from trailtui.store.batch import FileBatch, batch_of
from trailtui.store.codec import decompress_chunk
from trailtui.store.parse import FileJob, parse_job, parse_records_file

from .conftest import real_files
from .test_events import RECORD


def _resolved(b: FileBatch) -> tuple[Any, ...]:
    v = b.values
    lines = [decompress_chunk(blob).split(b"\n") for blob, *_ in b.chunks]
    assert b.file is not None
    return (
        [(r[0], r[1], r[2], tuple(v[x] for x in r[5:])) for r in b.rows],
        [lines[r[3]][r[4]] for r in b.rows],
        [(row, pos, v[n], v[t]) for row, pos, n, t in b.resources],
        [(row, v[k]) for row, k in b.issued],
        b.file.events,
        list(b.file.rejects),
        b.duplicates,
        b.targets,
    )


def _general(data: bytes, where: str) -> FileBatch:
    res = parse_bytes(data, where)
    job = FileJob(where, where)
    b = batch_of(res.events, job.uri, job.kind)
    from trailtui.store.batch import FileRecord

    rejects = [(r.where, r.reason) for r in res.rejected]
    b.file = FileRecord(where, None, None, None, len(res.events), rejects, res.error, res.kind)
    return b


def _both(data: bytes, where: str = "f.json") -> tuple[Any, Any]:
    fast = parse_records_file(FileJob(where, where), data)
    assert fast is not None, "the fast path declined"
    return _resolved(fast), _resolved(_general(data, where))


@pytest.mark.parametrize("path", real_files(), ids=lambda p: p.name)
def test_fast_path_equals_the_general_parser_on_real_files(path: Path) -> None:
    data = path.read_bytes()
    fast = parse_records_file(FileJob(str(path), str(path)), data)
    if fast is None:  # not a plain Records file: the general parser reads it
        return
    assert _resolved(fast) == _resolved(_general(data, str(path)))
    # what parse_job gives is the fast path's batch
    assert _resolved(parse_job(FileJob(str(path), str(path), path=str(path)))) == _resolved(fast)


def test_fast_path_equals_the_general_parser_on_odd_records() -> None:
    sts = {
        **RECORD,
        "eventID": "sts-1",
        "eventName": "AssumeRole",
        "responseElements": {
            "credentials": {"accessKeyId": "ASIAXYZ", "sessionToken": "tok", "secretAccessKey": "s"}
        },
    }
    recs: list[Any] = [
        RECORD,
        {**RECORD, "eventID": RECORD["eventID"].upper()},  # the same id, other case: a duplicate
        {**RECORD, "eventID": "x-1", "eventTime": "2024-05-01 12:00:00"},
        {**RECORD, "eventID": "x-2", "eventTime": None},  # rejected
        {**RECORD, "eventID": "t-1", "eventTime": "2024-05-01T12:00:60Z"},  # rejected
        {**RECORD, "eventID": "t-2", "eventTime": "2024-02-30T00:00:00Z"},  # rejected
        {**RECORD, "eventID": "t-3", "eventTime": "2024-05-01T12:00:00.123Z"},
        {**RECORD, "eventID": "t-4", "eventTime": "2024-05-01T12:00:09+02:00"},
        {**RECORD, "eventID": "t-5", "eventTime": "2024-05-01T12:00:59Z"},
        {**RECORD, "eventID": "x-3", "userIdentity": "odd", "readOnly": "TRUE"},
        {**RECORD, "eventID": "x-4", "eventSource": {"odd": 1}, "userIdentity": {"type": "AWSService"}},
        {k: v for k, v in RECORD.items() if k != "eventID"},  # a derived id
        {"eventTime": "2024-05-01T00:00:00Z", "eventType": "AwsCloudTrailInsight",
         "insightDetails": {"eventName": "RunInstances", "eventSource": "ec2.amazonaws.com"}},
        sts,
        [1, 2],  # rejected: not an object
        {**RECORD, "eventID": "x-5", "resources": [{"ARN": "arn:aws:s3:::b", "type": "AWS::S3::Bucket"}],
         "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-1"}]}}},
        # tampering calls: what each acted on is kept (none when the request does not say)
        {**RECORD, "eventID": "k-1", "eventName": "StopLogging", "requestParameters": {"name": "t"}},
        {**RECORD, "eventID": "k-2", "eventName": "DeleteTrail", "requestParameters": "odd"},
        {**RECORD, "eventID": "k-3", "eventName": "DisableKey", "requestParameters": {"keyId": 7}},
    ]  # fmt: skip
    fast, general = _both(json.dumps({"Records": recs}).encode())
    assert fast == general
    assert b"tok" not in b"".join(fast[1]) and b"<redacted by trailtui>" in b"".join(fast[1])
    assert fast[6] == 1 and len(fast[5]) == 4
    assert [t for _, t in fast[7]] == ["t", "", ""]
    gz = gzip.compress(json.dumps({"Records": recs}).encode())
    assert _both(gz)[0] == fast


def test_fast_path_declines_what_it_does_not_read() -> None:
    job = FileJob("f", "f")
    for data in (
        b'{"Events": []}',
        b'[{"eventID": "a"}]',
        b'{"Records": [{"eventtime": "2024-05-01T00:00:00Z", "eventid": "a"}]}',
        b'{"Records": [{"eventTime": "2024-05-01T00:00:00Z", "n": NaN}]}',
        b'{"Records": [{"Records": []}]}',
        b"\x1f\x8b\x08\x00garbage",
    ):
        assert parse_records_file(job, data) is None, data


def test_big_files_are_read_a_slice_at_a_time_with_the_same_result() -> None:
    """Files over 2 MB are cut where records start and parsed 500 records at a time; a cut
    that falls inside a record (a nested object that starts like a record) is noticed and the
    file is parsed whole: the same batch either way."""
    base = {"eventVersion": "1.08", **RECORD, "requestParameters": {"pad": "x" * 800}}
    recs = [{**base, "eventID": f"big-{i}"} for i in range(3000)]
    nested = {**base, "eventID": "nested", "requestParameters": {"items": [1, {**base}]}}
    for variant in (recs, [*recs[:100], nested, *recs[100:]], [*recs[:2700], nested, *recs[2700:]]):
        data = json.dumps({"Records": variant}, separators=(",", ":")).encode()
        assert len(data) > 2 * 1024**2
        fast, general = _both(data)
        assert fast == general
        assert fast[4] == len(variant)
