"""What LookupEvents and CloudWatch Logs have not fetched of a window (coverage holes): from the
cache's coverage rows, per source and pushed filter; and ``trailtui gaps --region`` over the
LookupEvents fake, where one region refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from trailtui.filter.language import parse
from trailtui.investigate.gaps import coverage_holes, holes_line
from trailtui.records.event import parse_record
from trailtui.store.store import Store

from .fakes.cloudtrail import FakeCloudTrail, records

T0 = datetime(2026, 11, 19, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)
LOOKUP = "lookup:prod:us-east-1"
LOGS = "logs:prod:eu-west-1:arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrail/prod"


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _window(a: datetime, b: datetime, terms: str = "") -> object:
    return parse(f'{terms} since:"{a:%Y-%m-%dT%H:%M}" until:"{b:%Y-%m-%dT%H:%M}"')


def test_lookup_holes_never_fetched_and_where_a_fetch_stopped(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite")
    oid = store.origin_id(LOOKUP, "lookup")
    # a complete hour, then a read of 02:00-05:00 that stopped after landing its newest pages
    store.set_coverage(LOOKUP, "[]", ms(T0), ms(T0 + H), True, None)
    events = [
        parse_record({"eventID": f"x{i}", "eventName": "StopInstances",
                      "eventTime": f"{T0 + 3 * H + i * timedelta(minutes=10):%Y-%m-%dT%H:%M:%SZ}"})
        for i in range(7)
    ]  # fmt: skip
    store.ingest(events, LOOKUP, "lookup")
    store.set_coverage(LOOKUP, "[]", ms(T0 + H), ms(T0 + 4 * H), False, "tok")
    f = _window(T0, T0 + 4 * H)
    holes = coverage_holes(store, [oid], f, T0 + 10 * H)  # type: ignore[arg-type]
    assert [(h.start, h.end) for h in holes] == [(T0 + H, T0 + 3 * H)]
    h = holes[0]
    assert (h.source, h.profile, h.region, h.group) == ("LookupEvents", "prod", "us-east-1", "")
    assert holes_line(holes) == "LookupEvents us-east-1: 03:00–05:00 not fetched yet"
    assert h.to_json()["start"] == "2026-11-19T03:00:00Z" and h.to_json()["minutes"] == 120
    # a filter pushed as EventName: what was read with no attribute covers it too; a read
    # for another attribute does not
    store.set_coverage(LOOKUP, '[{"AttributeKey": "Username", "AttributeValue": "bob"}]',
                       ms(T0 + H), ms(T0 + 3 * H), True, None)  # fmt: skip
    named = _window(T0, T0 + 4 * H, "name:StopInstances")
    assert [(x.start, x.end) for x in coverage_holes(store, [oid], named, T0 + 10 * H)] == [  # type: ignore[arg-type]
        (T0 + H, T0 + 3 * H)
    ]
    store.set_coverage(LOOKUP, '[{"AttributeKey": "EventName", "AttributeValue": "StopInstances"}]',
                       ms(T0 + H), ms(T0 + 3 * H), True, None)  # fmt: skip
    assert coverage_holes(store, [oid], named, T0 + 10 * H) == []  # type: ignore[arg-type]
    # the window goes on to now: what is newer than the last read is not fetched yet
    open_ended = parse(f'since:"{T0:%Y-%m-%dT%H:%M}"')
    got = coverage_holes(store, [oid], open_ended, T0 + 5 * H)
    assert [(x.start, x.end) for x in got] == [(T0 + H, T0 + 3 * H), (T0 + 4 * H, T0 + 5 * H)]
    store.close()


def test_logs_holes_leave_the_settling_half_hour_out(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite")
    oid = store.origin_id(LOGS, "logs")
    store.set_coverage(LOGS, "", ms(T0), ms(T0 + 2 * H), True, None)
    f = _window(T0, T0 + 4 * H)
    holes = coverage_holes(store, [oid], f, T0 + 10 * H)  # type: ignore[arg-type]
    assert [(h.start, h.end) for h in holes] == [(T0 + 2 * H, T0 + 4 * H)]
    h = holes[0]
    assert (h.source, h.profile, h.region) == ("CloudWatch Logs", "prod", "eu-west-1")
    assert h.group == "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrail/prod"
    assert h.to_json()["log_group"] == h.group
    # the newest half hour is read again at every visit, never recorded complete: not a hole
    near = coverage_holes(store, [oid], f, T0 + 4 * H + timedelta(minutes=10))  # type: ignore[arg-type]
    assert [(x.start, x.end) for x in near] == [(T0 + 2 * H, T0 + 3 * H + timedelta(minutes=40))]
    # another pattern's read doesn't cover this filter's
    store.set_coverage(LOGS, '{ $.eventName = "X" }', ms(T0), ms(T0 + 4 * H), True, None)
    assert len(coverage_holes(store, [oid], f, T0 + 10 * H)) == 1  # type: ignore[arg-type]
    # folders and buckets have no coverage holes (their gaps are delivery gaps)
    root = store.root_scope("/some/folder")
    assert coverage_holes(store, root, f, T0 + 10 * H) == []  # type: ignore[arg-type]
    assert coverage_holes(store, None, f, T0 + 10 * H) == []  # type: ignore[arg-type]
    store.close()


def _recent(region: str, n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {**r, "eventTime": (now - timedelta(minutes=10 * i + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i, r in enumerate(records("111111111111", region, n))
    ]


def test_gaps_command_says_what_lookup_events_could_not_fetch(
    fake: FakeCloudTrail, tmp_path: Path
) -> None:
    fake.add("111111111111", "us-east-1", _recent("us-east-1", 60))
    fake.add("111111111111", "eu-west-1", _recent("eu-west-1", 60))
    fake.fail_with[("111111111111", "eu-west-1")] = (400, "AccessDeniedException", "no")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trailtui", "gaps", *args],
                              capture_output=True, text=True, env=os.environ, timeout=120)  # fmt: skip

    r = run("--region", "us-east-1,eu-west-1", "--format", "json")
    assert r.returncode == 1, r.stderr
    holes = json.loads(r.stdout)
    assert [(h["source"], h["account"], h["region"]) for h in holes] == [
        ("LookupEvents", "default", "eu-west-1")
    ]
    assert holes[0]["minutes"] >= 24 * 60 - 2 and holes[0]["reason"] == "not fetched yet"
    assert "not allowed" in r.stderr or "AccessDenied" in r.stderr, r.stderr
    del fake.fail_with[("111111111111", "eu-west-1")]
    r = run("--region", "us-east-1,eu-west-1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "" and "0 stretches of at least 30m not fetched" in r.stderr
