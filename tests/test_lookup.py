"""LookupEvents with real boto3 against the local fake (tests/fakes/cloudtrail.py)."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from trailtui.filter.language import parse
from trailtui.filter.match import matches
from trailtui.records.event import parse_record
from trailtui.sources.lookup import (
    Fetcher,
    RateLimiter,
    Target,
    build_fetchers,
    fetch_all,
    plan_for,
    targets,
)
from trailtui.store.store import Store

from .fakes.cloudtrail import END, FakeCloudTrail, records


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "live.sqlite")


def test_combined_filters_match_a_local_filter_over_everything(
    fake: FakeCloudTrail, tmp_path: Path
) -> None:
    recs = records("111111111111", "us-east-1", 300)
    fake.add("111111111111", "us-east-1", recs)
    fake.rate = 0  # this test is about answers, not pacing
    everything = [parse_record(r) for r in recs]
    for text in (
        "name:StopInstances user:ops-session",
        "name:Stop*,Start* -user:bob",
        "resource:i-3 readonly:false ip:203.0.113.0/24",
        "-name:Describe* user:alice",
        "user:Ops",
        "key:AKIABOB name:/Get/",
    ):
        f = parse(text, END).with_window(END - timedelta(days=3), END)
        store = Store(tmp_path / f"s{abs(hash(text))}.sqlite")
        plan = plan_for(f)
        assert all(len(c) <= 1 for c in plan.calls)
        fetchers = build_fetchers(store, [Target(None, "us-east-1")], plan, f.since, f.until)  # type: ignore[arg-type]
        assert fetch_all(fetchers) == []
        got = {
            r.event_id
            for r in store.window(f, 0, 10_000, store.origins_under(["lookup:default:us-east-1"]))
        }
        want = {e.event_id for e in everything if matches(f, e)}
        assert got == want, text
        assert want  # each filter finds something
        store.close()
    # every call carried at most one attribute and the same window across its pages
    assert all(len(c.params.get("LookupAttributes") or []) <= 1 for c in fake.calls)


def test_never_more_than_two_calls_per_second(fake: FakeCloudTrail, tmp_path: Path) -> None:
    fake.add("111111111111", "us-east-1", records("111111111111", "us-east-1", 400))
    store = _store(tmp_path)
    plan = plan_for(parse(""))
    fs = build_fetchers(store, [Target(None, "us-east-1")], plan, END - timedelta(days=5), END)
    # two workers on the same account-region share the limiter
    fs2 = build_fetchers(
        store,
        [Target(None, "us-east-1")],
        plan_for(parse("name:GetObject")),
        END - timedelta(days=5),
        END,
    )
    errs: list[list[str]] = []
    ts = [threading.Thread(target=lambda f=f: errs.append(fetch_all(f))) for f in (fs, fs2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    calls = fake.calls_for("111111111111", "us-east-1")
    assert [c for c in calls if c.outcome == "throttled"] == []
    times = [c.at for c in calls]
    for i in range(2, len(times)):
        assert times[i] - times[i - 2] >= 1.0 - 0.01, (i, times[i] - times[i - 2])
    assert store.total() == 400


def test_a_throttling_storm_loses_and_duplicates_nothing(
    fake: FakeCloudTrail, tmp_path: Path
) -> None:
    recs = records("111111111111", "us-east-1", 250)
    fake.add("111111111111", "us-east-1", recs)
    fake.rate = 1.0  # stricter than the client expects: throttles keep coming
    store = _store(tmp_path)
    f = Fetcher(
        store, Target(None, "us-east-1"), [], END - timedelta(days=5), END, limiter=RateLimiter(10)
    )
    assert fetch_all([f]) == []
    assert f.stats.throttled > 0
    assert store.total() == 250
    ok_tokens = [c.params.get("NextToken") for c in fake.calls if c.outcome == "ok"]
    assert len(ok_tokens) == len(set(ok_tokens)) == 5  # each page fetched exactly once


def test_restart_resumes_from_the_cache(fake: FakeCloudTrail, tmp_path: Path) -> None:
    fake.add("111111111111", "us-east-1", records("111111111111", "us-east-1", 200))
    fake.rate = 0
    start, end = END - timedelta(days=5), END
    store = _store(tmp_path)
    f = Fetcher(store, Target(None, "us-east-1"), [], start, end)
    f.next_page()
    f.next_page()  # stopped half way (the app closed)
    store.close()
    store = _store(tmp_path)
    g = Fetcher(store, Target(None, "us-east-1"), [], start, end)
    assert g.token  # resumes where it stopped
    assert fetch_all([g]) == []
    assert store.total() == 200
    assert sum(1 for c in fake.calls if not c.params.get("NextToken")) == 1
    # the same window again: served from the cache, no call
    n = len(fake.calls)
    h = Fetcher(store, Target(None, "us-east-1"), [], start, end)
    assert h.done and h.stats.skipped
    # a narrower filter inside a complete wider window: no call either
    k = Fetcher(
        store,
        Target(None, "us-east-1"),
        [{"AttributeKey": "EventName", "AttributeValue": "GetObject"}],
        start + timedelta(hours=1),
        end,
    )
    assert k.done and len(fake.calls) == n
    # later: only the gap since the last fetch is asked for
    fake.add(
        "111111111111",
        "us-east-1",
        [
            dict(
                records("111111111111", "us-east-1", 1, seed=9)[0], eventTime="2026-11-20T07:00:00Z"
            )
        ],
    )
    later = Fetcher(store, Target(None, "us-east-1"), [], start, END + timedelta(hours=2))
    assert later.start == end
    assert fetch_all([later]) == []
    assert store.total() == 201
    assert fake.calls[-1].params["StartTime"] == pytest.approx(end.timestamp())


def test_filter_change_cancels(fake: FakeCloudTrail, tmp_path: Path) -> None:
    fake.add("111111111111", "us-east-1", records("111111111111", "us-east-1", 500))
    store = _store(tmp_path)
    stop = threading.Event()
    f = Fetcher(store, Target(None, "us-east-1"), [], END - timedelta(days=5), END)
    t = threading.Thread(target=fetch_all, args=([f], stop.is_set))
    t.start()
    time.sleep(1.2)
    stop.set()
    t.join(timeout=3)
    assert not t.is_alive()
    assert not f.done and 0 < store.total() < 500
    assert store.coverage("lookup:default:us-east-1")[0].next_token  # resumable


def test_regions_and_accounts_merge_in_time_order_without_duplicates(
    fake: FakeCloudTrail, tmp_path: Path
) -> None:
    fake.rate = 0
    expected = set()
    for acct in ("111111111111", "222222222222"):
        for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
            recs = records(acct, region, 60)
            fake.add(acct, region, recs)
            expected |= {r["eventID"] for r in recs}
    # a global event (IAM) returned by every region of account A
    glob = dict(
        records("111111111111", "us-east-1", 1, seed=7)[0],
        eventID="global-1",
        eventSource="iam.amazonaws.com",
    )
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        fake.add("111111111111", region, [glob])
    expected.add("global-1")
    store = _store(tmp_path)
    tg = targets(["acct-a", "acct-b"], ["us-east-1", "eu-west-1", "ap-southeast-2"])
    fs = build_fetchers(store, tg, plan_for(parse("")), END - timedelta(days=5), END)
    assert fetch_all(fs) == []
    scope = store.origins_under([t.key for t in tg])
    rows = store.window(parse(""), 0, 10_000, scope)
    assert [r.event_id for r in rows].count("global-1") == 1
    assert {r.event_id for r in rows} == expected
    assert [r.ts for r in rows] == sorted((r.ts for r in rows), reverse=True)
    assert {r.account for r in rows} == {"111111111111", "222222222222"}


def test_errors_are_one_clear_line(
    fake: FakeCloudTrail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    fake.fail_with[("111111111111", "us-east-1")] = (400, "AccessDeniedException", "no")
    f = Fetcher(store, Target(None, "us-east-1"), [], END - timedelta(days=1), END)
    errs = fetch_all([f])
    assert errs == ["not allowed to call cloudtrail:LookupEvents in default profile / us-east-1"]
    fake.fail_with[("111111111111", "us-east-1")] = (400, "ExpiredTokenException", "expired")
    errs = fetch_all([Fetcher(store, Target(None, "us-east-1"), [], END - timedelta(days=1), END)])
    assert "aws sso login" in errs[0]
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    errs = fetch_all([Fetcher(store, Target(None, "us-east-1"), [], END - timedelta(days=1), END)])
    assert errs and "no AWS credentials" in errs[0]
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDA")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    errs = fetch_all([Fetcher(store, Target(None, "us-east-1"), [], END - timedelta(days=1), END)])
    assert errs and "can't reach CloudTrail" in errs[0]


def test_glob_on_name_expands_to_single_name_calls() -> None:
    plan = plan_for(parse("name:StopInst*"))
    names = {c[0]["AttributeValue"] for c in plan.calls}
    assert plan.pushed == "name" and "StopInstances" in names
    assert all(n.lower().startswith("stopinst") for n in names) and len(names) <= 8
    assert plan_for(parse("name:*")).full_scan


def test_headless_query(fake: FakeCloudTrail, tmp_path: Path) -> None:
    import subprocess
    import sys

    fake.add("111111111111", "us-east-1", records("111111111111", "us-east-1", 120))
    fake.add("111111111111", "eu-west-1", records("111111111111", "eu-west-1", 80))
    fake.rate = 0
    env = {**os.environ}
    r = subprocess.run(
        [sys.executable, "-m", "trailtui", "query", "name:StopInstances", "--region", "us-east-1,eu-west-1",
         "--since", "2026-11-15", "--until", "2026-11-20T06:00", "--format", "jsonl"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "EventName=StopInstances" in r.stderr
    lines = r.stdout.splitlines()
    want = [x for reg in ("us-east-1", "eu-west-1") for x in records("111111111111", reg, 120 if reg == "us-east-1" else 80)
            if x["eventName"] == "StopInstances"]  # fmt: skip
    assert len(lines) == len(want)
    # the credentials never reach the cache
    data = (Path(os.environ["TRAILTUI_CACHE_DIR"]) / "events.sqlite").read_bytes()
    assert b"AKIDA" not in data and b"aws_secret" not in data
