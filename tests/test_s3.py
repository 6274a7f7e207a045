"""Trail log files in S3: moto's S3 as a real HTTP server on 127.0.0.1, real boto3."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trailtui.filter.language import parse
from trailtui.sources.s3 import S3Location, S3Trail
from trailtui.store.store import Store

from .conftest import BUCKET

DAY = datetime(2026, 11, 19, tzinfo=UTC)


def _rec(i: int, t: datetime, region: str, account: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventID": f"{account}-{region}-{t:%Y%m%d%H%M}-{i}",
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": "GetObject" if i % 2 else "StopInstances",
        "eventSource": "s3.amazonaws.com",
        "awsRegion": region,
        "recipientAccountId": account,
        "readOnly": True,
        "eventCategory": "Data" if i % 2 else "Management",
    }


def put_log(
    client: Any,
    account: str,
    region: str,
    t: datetime,
    n: int = 5,
    org: str = "",
    body: bytes | None = None,
) -> str:
    base = f"AWSLogs/{org + '/' if org else ''}{account}/CloudTrail/{region}/{t:%Y/%m/%d}/"
    key = f"{base}{account}_CloudTrail_{region}_{t:%Y%m%dT%H%MZ}_abc{t:%H%M}.json.gz"
    if body is None:
        body = gzip.compress(
            json.dumps({"Records": [_rec(i, t, region, account) for i in range(n)]}).encode()
        )
    client.put_object(Bucket=BUCKET, Key=key, Body=body)
    return key


def counting(client: Any) -> dict[str, int]:
    calls: dict[str, int] = {}

    def count(event_name: str, **_: Any) -> None:
        op = event_name.split(".")[-1]
        calls[op] = calls.get(op, 0) + 1

    client.meta.events.register("before-call.s3", count)
    return calls


def test_layout_discovery_regions_and_org_trail(s3: Any, tmp_path: Path) -> None:
    put_log(s3, "111111111111", "us-east-1", DAY + timedelta(hours=1))
    put_log(s3, "111111111111", "eu-west-1", DAY + timedelta(hours=2))
    put_log(s3, "222222222222", "us-east-1", DAY + timedelta(hours=3), org="o-abcdefghij")
    trail = S3Trail(s3, S3Location.parse(f"s3://{BUCKET}"))
    found = {(t.account, t.region, t.org) for t in trail.discover()}
    assert found == {("111111111111", "us-east-1", ""), ("111111111111", "eu-west-1", ""),
                     ("222222222222", "us-east-1", "o-abcdefghij")}  # fmt: skip
    store = Store(tmp_path / "c.sqlite")
    st = trail.read_window(store, DAY, DAY + timedelta(hours=23))
    assert st.events == 15 and st.added == 15 and not st.rejected
    assert {r.account for r in store.window(parse(""), 0, 100)} == {"111111111111", "222222222222"}
    # data events are there too (LookupEvents doesn't return them)
    assert store.count(parse("category:Data")) > 0


def test_window_pruning_newest_first_and_ingested_once(s3: Any, tmp_path: Path) -> None:
    for d in range(10):
        put_log(s3, "111111111111", "us-east-1", DAY - timedelta(days=d, hours=-3))
    trail = S3Trail(s3, S3Location.parse(f"s3://{BUCKET}"))
    calls = counting(s3)
    store = Store(tmp_path / "c.sqlite")
    order: list[int] = []
    st = trail.read_window(
        store,
        DAY - timedelta(days=2),
        DAY + timedelta(hours=23),
        progress=lambda s: order.append(s.objects),
    )
    assert st.objects == 3  # only the three days of the window were read
    lists = calls.get("ListObjectsV2", 0)
    assert (
        lists == 2 + 3
    )  # discovery (AWSLogs/, ACCOUNT/CloudTrail/) + one listing per day in the window
    times = [r.ts for r in store.window(parse(""), 0, 100)]
    assert times == sorted(times, reverse=True)
    # lazily: stop when enough
    store2 = Store(tmp_path / "lazy.sqlite")
    st2 = S3Trail(s3, S3Location.parse(f"s3://{BUCKET}")).read_window(
        store2,
        DAY - timedelta(days=9),
        DAY + timedelta(hours=23),
        enough=lambda: store2.total() >= 5,
    )
    assert st2.objects < 10
    newest = store2.window(parse(""), 0, 1)[0]
    assert newest.time.date() == DAY.date()  # newest first
    # re-opening ingests nothing twice
    gets_before = calls.get("GetObject", 0)
    again = S3Trail(s3, S3Location.parse(f"s3://{BUCKET}")).read_window(
        store, DAY - timedelta(days=2), DAY + timedelta(hours=23)
    )
    assert again.objects == 0 and again.skipped == 3
    assert calls.get("GetObject", 0) == gets_before


def test_bad_objects_are_listed_and_good_events_kept(s3: Any, tmp_path: Path) -> None:
    good = put_log(s3, "111111111111", "us-east-1", DAY + timedelta(hours=5))
    data = gzip.compress(
        json.dumps(
            {
                "Records": [
                    _rec(i, DAY + timedelta(hours=4), "us-east-1", "111111111111")
                    for i in range(20)
                ]
            }
        ).encode()
    )
    put_log(s3, "111111111111", "us-east-1", DAY + timedelta(hours=4), body=data[: len(data) // 2])
    put_log(s3, "111111111111", "us-east-1", DAY + timedelta(hours=3), body=b"")
    put_log(s3, "111111111111", "us-east-1", DAY + timedelta(hours=2), body=b"{not json")
    put_log(s3, "111111111111", "us-east-1", DAY + timedelta(hours=1), body=b"\x89PNG unrelated")
    store = Store(tmp_path / "c.sqlite")
    st = S3Trail(s3, S3Location.parse(f"s3://{BUCKET}")).read_window(
        store, DAY, DAY + timedelta(hours=23)
    )
    bad = dict(st.rejected)
    assert len(bad) == 4 and good not in bad
    assert (
        store.count(parse(f"id:111111111111-us-east-1-{DAY + timedelta(hours=5):%Y%m%d%H%M}-*"))
        == 5
    )
    assert any("empty" in reason for reason in bad.values())
    assert {k for k, _, _ in store.rejects()} >= {f"s3://{BUCKET}/{k}" for k in bad}


def test_query_from_s3(s3: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    put_log(s3, "111111111111", "us-east-1", DAY + timedelta(hours=6), n=4)
    put_log(s3, "111111111111", "us-east-1", DAY - timedelta(days=5), n=4)  # outside the window
    r = subprocess.run(
        [sys.executable, "-m", "trailtui", "query", "name:StopInstances", "--from", f"s3://{BUCKET}",
         "--since", "2026-11-19", "--until", "2026-11-19T23:59", "--format", "jsonl"],
        capture_output=True, text=True, env=os.environ, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2
    assert "objects" in r.stderr or r.stderr == ""


def test_long_windows_list_the_days_that_exist_not_every_day(s3: Any, tmp_path: Path) -> None:
    """--since 5000d over a trail whose objects span a few days: delimiter listings find the
    days (years, months, days), not one ListObjectsV2 per day of the window."""
    days = [DAY - timedelta(days=40), DAY - timedelta(days=1), DAY]
    for d in days:
        for region in ("us-east-1", "eu-west-1"):
            put_log(s3, "111111111111", region, d + timedelta(hours=3))
    calls = counting(s3)
    trail = S3Trail(s3, S3Location.parse(f"s3://{BUCKET}"))
    store = Store(tmp_path / "c.sqlite")
    st = trail.read_window(store, DAY - timedelta(days=5000), DAY + timedelta(hours=23))
    assert st.objects == 6 and st.days_total == 3 and st.done
    months = {(d.year, d.month) for d in days}
    years = {d.year for d in days}
    # discovery (AWSLogs/, ACCOUNT/CloudTrail/), then per region: years + each year's months
    # + each month's days, and one listing per day that holds objects
    want = 2 + 2 * (1 + len(years) + len(months)) + 2 * len(days)
    assert calls.get("ListObjectsV2", 0) == want
    # no start ("all"): the same, back to the oldest day
    calls.clear()
    again = S3Trail(s3, S3Location.parse(f"s3://{BUCKET}")).read_window(store, None, DAY)
    assert again.skipped == 6 and again.days_total == 3
    assert calls.get("ListObjectsV2", 0) == want
