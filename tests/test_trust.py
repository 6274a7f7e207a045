"""Can I trust this window: tampering calls (one test per entry of the table), delivery gaps,
and the CLI that says both."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trailtui.filter.language import parse
from trailtui.filter.match import matches
from trailtui.investigate.gaps import Delivery, delivery_of, find_gaps
from trailtui.investigate.tampering import TAMPERING, find, summary, tampering_filter
from trailtui.records.event import parse_record
from trailtui.store.store import Store

T0 = datetime(2026, 11, 19, 2, 0, tzinfo=UTC)
ACCOUNT = "111122223333"


def rec(n: int, name: str, when: datetime, **kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventID": f"ev-{n}-{name}",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": name,
        "eventSource": "cloudtrail.amazonaws.com",
        "awsRegion": "eu-west-1",
        "recipientAccountId": ACCOUNT,
        "readOnly": False,
        "userIdentity": {"type": "IAMUser", "userName": "mallory", "accountId": ACCOUNT},
        "requestParameters": {"name": "main-trail"},
    }
    r.update(kw)
    return r


@pytest.mark.parametrize("t", TAMPERING, ids=[t.name for t in TAMPERING])
def test_each_tampering_call_is_flagged(t: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite")
    write = parse_record(rec(1, t.name, T0, eventSource=t.source))
    read = parse_record(rec(2, t.name, T0, eventSource=t.source, readOnly=True))
    failed = parse_record(rec(3, t.name, T0, eventSource=t.source, errorCode="AccessDenied"))
    store.ingest([write, read, failed], "test")
    # the built-in bookmark selects the call, never a read-only one
    f = parse(tampering_filter())
    assert matches(f, write) and not matches(f, read)
    found = find(store, parse(""))
    assert [x.event_id for x in found if x.name == t.name] == [write.event_id]
    assert all(x.what == t.what for x in found)
    assert t.what in summary(found) or len(found) > 1


def test_stop_and_restart_are_paired_in_one_line(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite")
    evs = [
        rec(1, "StopLogging", T0 + timedelta(minutes=10)),
        rec(2, "StartLogging", T0 + timedelta(hours=2, minutes=40)),
        rec(3, "DeleteDetector", T0 + timedelta(hours=1), eventSource="guardduty.amazonaws.com",
            requestParameters={"detectorId": "abc123"}),
    ]  # fmt: skip
    store.ingest([parse_record(r) for r in evs], "test")
    found = find(store, parse(""))
    line = summary(found)
    assert line.startswith(
        "logging stopped in eu-west-1 at 2026-11-19 02:10 by mallory (main-trail), "
        "restarted 2026-11-19 04:40"
    )
    assert line.endswith("; 1 more tampering call")
    # a window that ends before the restart: not undone
    f = parse("until:2026-11-19T03:00")
    assert "not undone in the window" in summary(find(store, f))


def test_changes_to_the_trail_bucket_count_when_it_is_known(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite")
    evs = [
        rec(1, "PutBucketPolicy", T0, eventSource="s3.amazonaws.com",
            requestParameters={"bucketName": "trail-bucket"},
            resources=[{"ARN": "arn:aws:s3:::trail-bucket", "type": "AWS::S3::Bucket"}]),
        rec(2, "PutBucketPolicy", T0, eventSource="s3.amazonaws.com",
            requestParameters={"bucketName": "other"},
            resources=[{"ARN": "arn:aws:s3:::other", "type": "AWS::S3::Bucket"}]),
    ]  # fmt: skip
    store.ingest([parse_record(r) for r in evs], "test")
    assert find(store, parse("")) == []
    found = find(store, parse(""), buckets=["trail-bucket"])
    assert [x.event_id for x in found] == ["ev-1-PutBucketPolicy"]
    assert found[0].what == "trail bucket policy changed"


def test_delivery_names() -> None:
    d = delivery_of(f"AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2026/11/19/"
                    f"{ACCOUNT}_CloudTrail_eu-west-1_20261119T0205Z_abcDEF123.json.gz")  # fmt: skip
    assert d == Delivery(ACCOUNT, "eu-west-1", datetime(2026, 11, 19, 2, 5, tzinfo=UTC))
    assert delivery_of(f"{ACCOUNT}_CloudTrail-Digest_eu-west-1_x_20261119T020500Z.json.gz") is None
    assert delivery_of("notes.json") is None


def _every(region: str, start: datetime, end: datetime, step: int = 5) -> list[Delivery]:
    out, t = [], start
    while t <= end:
        out.append(Delivery(ACCOUNT, region, t))
        t += timedelta(minutes=step)
    return out


def test_gaps_silence_between_deliveries_and_a_region_going_silent() -> None:
    end = T0 + timedelta(hours=6)
    found = (
        _every("us-east-1", T0, end)
        + _every("eu-west-1", T0, T0 + timedelta(minutes=10))
        + _every("eu-west-1", T0 + timedelta(hours=2, minutes=40), end)
        + _every("ap-southeast-2", T0, T0 + timedelta(hours=4))  # went silent at 06:00
    )
    gaps = find_gaps(found, timedelta(minutes=30))
    got = [(g.region, g.start, g.end) for g in gaps]
    assert got == [
        ("eu-west-1", T0 + timedelta(minutes=10), T0 + timedelta(hours=2, minutes=40)),
        ("ap-southeast-2", T0 + timedelta(hours=4), end),
    ]
    assert all(g.reason is None for g in gaps)
    # a longer --min keeps only the long silence
    assert [g.region for g in find_gaps(found, timedelta(hours=2, minutes=15))] == ["eu-west-1"]


def _write_log(root: Path, region: str, when: datetime, recs: list[dict[str, Any]]) -> None:
    p = (root / "AWSLogs" / ACCOUNT / "CloudTrail" / region / f"{when:%Y/%m/%d}"
         / f"{ACCOUNT}_CloudTrail_{region}_{when:%Y%m%dT%H%M}Z_x{when:%H%M}.json.gz")  # fmt: skip
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailtui", *args],
        capture_output=True, text=True, env=os.environ, timeout=120,
    )  # fmt: skip


def test_gaps_command_and_tampering_warning_on_a_folder(tmp_path: Path) -> None:
    """StopLogging at 02:10 by a user whose name carries escape codes, StartLogging at 04:40:
    eu-west-1 delivered nothing in between while us-east-1 went on."""
    root = tmp_path / "trail"
    hostile = "mal\x1b[31mlory\x1b]8;;http://x\x07"
    n = 0
    t = T0
    while t <= T0 + timedelta(hours=6):
        n += 1
        _write_log(
            root,
            "us-east-1",
            t,
            [rec(n, "DescribeTrails", t, awsRegion="us-east-1", readOnly=True)],
        )
        silent = T0 + timedelta(minutes=10) < t < T0 + timedelta(hours=2, minutes=40)
        if not silent:
            recs = [rec(n, "DescribeTrails", t, readOnly=True)]
            if t == T0 + timedelta(minutes=10):
                recs.append(rec(n, "StopLogging", t,
                                userIdentity={"type": "IAMUser", "userName": hostile}))  # fmt: skip
            if t == T0 + timedelta(hours=2, minutes=40):
                recs.append(rec(n, "StartLogging", t))
            _write_log(root, "eu-west-1", t, recs)
        t += timedelta(minutes=5)
    r = _run("gaps", "--from", str(root), "--format", "json")
    assert r.returncode == 1, r.stderr
    gaps = json.loads(r.stdout)
    assert len(gaps) == 1
    g = gaps[0]
    assert (g["account"], g["region"]) == (ACCOUNT, "eu-west-1")
    assert (g["start"], g["end"]) == ("2026-11-19T02:10:00Z", "2026-11-19T04:40:00Z")
    assert g["reason"].startswith("logging stopped in eu-west-1 at 2026-11-19 02:10 by mal")
    assert "restarted 2026-11-19 04:40" in g["reason"]
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    r = _run("gaps", "--from", str(root), "--min", "3h")
    assert r.returncode == 0 and r.stdout == "" and "0 gaps of at least 3h" in r.stderr
    # the built-in bookmark, headless, and the warning on stderr
    r = _run("query", "--bookmark", "tampering", "--from", str(root), "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    names = [json.loads(x)["eventName"] for x in r.stdout.splitlines()]
    assert names == ["StopLogging"]
    assert "warning: tampering in the window: logging stopped in eu-west-1" in r.stderr
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    r = _run("bookmarks", "list")
    assert "tampering\tname:StopLogging," in r.stdout and "(built-in)" in r.stdout
