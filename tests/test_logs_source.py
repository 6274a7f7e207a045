"""CloudWatch Logs with real boto3 against the local fake (tests/fakes/logs.py)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from trailtui.filter.language import parse
from trailtui.filter.match import matches
from trailtui.records.event import parse_record
from trailtui.sources.base import SourceError, read_all
from trailtui.sources.logs import GroupReader, LogGroup, LogsSource, gaps, make_client, read_groups
from trailtui.sources.lookup import RateLimiter
from trailtui.store.store import Store

from .fakes.cloudtrail import END, records
from .fakes.logs import FakeLogs

A = "111111111111"
GROUP = "CloudTrail/prod"
WINDOW = (END - timedelta(days=3), END)


def _ms(dt: object) -> int:
    return int(dt.timestamp() * 1000)  # type: ignore[attr-defined]


def _reader(
    store: Store, pattern: str = "", lo: object = None, hi: object = None, **kw: object
) -> GroupReader:
    g = LogGroup(None, "us-east-1", GROUP)
    return GroupReader(
        store,
        g,
        pattern,
        _ms(lo or WINDOW[0]),
        _ms(hi or WINDOW[1]),
        make_client(None, "us-east-1"),
        **kw,  # type: ignore[arg-type]
    )


def test_gaps() -> None:
    assert gaps(0, 100, []) == [(0, 100)]
    assert gaps(0, 100, [(50, 60)]) == [(61, 100), (0, 49)]
    assert gaps(0, 100, [(50, 60), (55, 120), (-5, 10)]) == [(11, 49)]
    assert gaps(0, 100, [(0, 100)]) == []


def test_answers_match_the_local_matcher_over_everything(
    fake_logs: FakeLogs, tmp_path: Path
) -> None:
    recs = records(A, "us-east-1", 400)
    fake_logs.put_records(A, "us-east-1", GROUP, recs)
    fake_logs.put(
        A, "us-east-1", GROUP, [(_ms(END) - 5000, "not json"), (_ms(END) - 4000, '{"a": 1}')]
    )
    fake_logs.rate = 0
    fake_logs.scan_cap = 37  # partly full and empty pages with a token, as AWS warns
    everything = [parse_record(r) for r in recs]
    for i, text in enumerate(
        ["name:stopinstances", "-name:Describe* user:alice", "ip:203.0.113.0/24 name:/^(Stop|Start)/",
         "source:ec2 -error:*", "", "name:Get* key:AKIABOB"]
    ):  # fmt: skip
        f = parse(text).with_window(*WINDOW)
        src = LogsSource([GROUP], [None], ["us-east-1"])
        store = Store(tmp_path / f"s{i}.sqlite")
        assert read_all(store, [src], f) == []
        got = {r.event_id for r in store.window(f, 0, 10_000, src.scope(store))}
        want = {e.event_id for e in everything if matches(f, e)}
        assert got == want and want, text
        if text:
            assert src.plan is not None and src.plan.pattern, text
        assert ("pattern pushes" in src.status()) == bool(text), src.status()
        if not text:  # a pattern never selects what is not JSON
            assert src.skipped() == [
                (f"logs:default:us-east-1:{GROUP}", "2 log events that are not CloudTrail records")
            ]
        store.close()
    # every call stayed within the window the filter asked for, widened by the slack
    assert all(c.params["startTime"] >= _ms(WINDOW[0]) - 5 * 60_000 for c in fake_logs.calls)


def test_newest_first_and_lazy(fake_logs: FakeLogs, tmp_path: Path) -> None:
    recs = records(A, "us-east-1", 600)  # one every ~7 minutes: 70 hours
    fake_logs.put_records(A, "us-east-1", GROUP, recs)
    fake_logs.rate = 0
    store = Store(tmp_path / "c.sqlite")
    r = _reader(store)
    assert read_groups([r], enough=lambda: store.total() >= 20) == []
    assert 20 <= store.total() < 600 and not r.done
    got = {row.event_id for row in store.window(parse(""), 0, 1000)}
    newest = sorted(recs, key=lambda x: x["eventTime"], reverse=True)
    assert got == {x["eventID"] for x in newest[: len(got)]}  # the newest ones, nothing older
    # the first call asked for the newest slice
    first = fake_logs.calls[0].params
    assert first["endTime"] == _ms(WINDOW[1]) and first["startTime"] > _ms(WINDOW[1]) - 3600_000
    assert read_groups([r]) == [] and r.done and store.total() == 600
    # slices went backwards without overlap
    spans = [
        (c.params["startTime"], c.params["endTime"])
        for c in fake_logs.calls
        if not c.params.get("nextToken")
    ]
    assert all(b[1] < a[0] for a, b in itertools.pairwise(spans))


def test_coverage_serves_a_second_visit(fake_logs: FakeLogs, tmp_path: Path) -> None:
    fake_logs.put_records(A, "us-east-1", GROUP, records(A, "us-east-1", 300))
    fake_logs.rate = 0
    store = Store(tmp_path / "c.sqlite")
    assert read_groups([_reader(store)]) == []
    n = len(fake_logs.calls)
    again = _reader(store)
    assert again.done and again.stats.from_cache
    # a pattern inside a window read with no pattern: no call either
    narrower = _reader(store, '{ $.eventName = "StopInstances" }', WINDOW[0] + timedelta(hours=1))
    assert narrower.done and len(fake_logs.calls) == n
    # a wider window later: only the new part is asked for
    later = _reader(store, "", WINDOW[0], WINDOW[1] + timedelta(hours=2))
    assert later.todo == [(_ms(WINDOW[1]) + 1, _ms(WINDOW[1] + timedelta(hours=2)))]
    assert read_groups([later]) == []
    assert all(c.params["startTime"] > _ms(WINDOW[1]) for c in fake_logs.calls[n:])


def test_throttling_loses_and_duplicates_nothing(fake_logs: FakeLogs, tmp_path: Path) -> None:
    fake_logs.put_records(A, "us-east-1", GROUP, records(A, "us-east-1", 250))
    fake_logs.rate = 2.0  # stricter than the client expects: throttles keep coming
    fake_logs.scan_cap = 20  # 13 pages at 20 calls/s against 2/s: throttled even when loaded
    store = Store(tmp_path / "c.sqlite")
    r = _reader(store, limiter=RateLimiter(20))
    assert read_groups([r]) == []
    assert r.stats.throttled > 0 and store.total() == 250
    ok = [(c.params["startTime"], c.params.get("nextToken")) for c in fake_logs.ok_calls()]
    assert len(ok) == len(set(ok))  # each page fetched once
    assert sum(c.returned for c in fake_logs.ok_calls()) == 250


def test_paced_to_five_calls_a_second(fake_logs: FakeLogs, tmp_path: Path) -> None:
    fake_logs.put_records(A, "us-east-1", GROUP, records(A, "us-east-1", 300))
    fake_logs.put_records(A, "us-east-1", "other", records(A, "us-east-1", 300, seed=1))
    fake_logs.scan_cap = 10
    store = Store(tmp_path / "c.sqlite")
    src = LogsSource([GROUP, "other"], [None], ["us-east-1"])
    f = parse("").with_window(END - timedelta(hours=12), END)
    assert read_all(store, [src], f) == []
    calls = fake_logs.calls
    # on a loaded machine a call can reach the fake late enough to share a second with the
    # next burst; it is retried, and nothing is lost. Unpaced, nearly every burst after the first
    # would be throttled: a tenth of the calls is far from that (3 of 30 seen under load)
    assert len([c for c in calls if c.outcome == "throttled"]) <= max(2, len(calls) // 10)
    assert store.total() == sum(c.returned for c in fake_logs.ok_calls()) > 0
    times = [c.at for c in calls]
    assert len(times) > 20
    for i in range(5, len(times)):
        assert times[i] - times[i - 5] >= 1.0 - 0.05


def test_errors_are_one_clear_line(
    fake_logs: FakeLogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "c.sqlite")
    fake_logs.create_group(A, "us-east-1", "secret")
    fake_logs.denied.add((A, "us-east-1", "secret"))
    f = parse("").with_window(*WINDOW)

    def err(groups: list[str]) -> str:
        with pytest.raises(SourceError) as ei:
            LogsSource(groups, [None], ["us-east-1"]).read(store, f)
        return str(ei.value)

    assert (
        err(["nope"])
        == "no log group 'nope' in default profile / us-east-1: check --log-group and --region"
    )
    assert (
        err(["secret"])
        == "not allowed to call logs:FilterLogEvents on 'secret' in default profile / us-east-1"
    )
    fake_logs.create_group(A, "us-east-1", GROUP)
    fake_logs.fail_with[(A, "us-east-1")] = (400, "ExpiredTokenException", "expired")
    assert "aws sso login" in err([GROUP])
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert "no AWS credentials" in err([GROUP])


def test_headless_query_with_log_group(fake_logs: FakeLogs, tmp_path: Path) -> None:
    fake_logs.put_records(A, "eu-west-1", GROUP, records(A, "eu-west-1", 200))
    fake_logs.rate = 0
    r = subprocess.run(
        [sys.executable, "-m", "trailtui", "query", "name:stopinstances", "--log-group", GROUP,
         "--region", "eu-west-1", "--since", "2026-11-15", "--until", "2026-11-20T06:00", "--format", "jsonl"],
        capture_output=True, text=True, env=os.environ, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "filter pattern for name:stopinstances" in r.stderr
    got = [json.loads(line)["eventID"] for line in r.stdout.splitlines()]
    want = [x["eventID"] for x in records(A, "eu-west-1", 200) if x["eventName"] == "StopInstances"]
    assert sorted(got) == sorted(want) and got
    assert all(c.params.get("filterPattern") for c in fake_logs.calls)
    r = subprocess.run(
        [sys.executable, "-m", "trailtui", "query", "", "--log-group", "nope", "--region", "eu-west-1"],
        capture_output=True, text=True, env=os.environ, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and "no log group 'nope'" in r.stderr
