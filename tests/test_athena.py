"""Athena end to end: real boto3 over HTTP to the fake Athena (tests/fakes/athena.py, which
runs the SQL in DuckDB over the trail's files in moto's S3), `athena setup`, the source, the
CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trailtui.cli.main import main
from trailtui.filter.language import parse
from trailtui.filter.match import matches
from trailtui.records.event import parse_record
from trailtui.sources.athena import AthenaSource
from trailtui.sources.athena_query import load_settings
from trailtui.sources.athena_setup import setup
from trailtui.sources.base import SourceError, read_all
from trailtui.store.store import Store

from .conftest import BUCKET
from .fakes.athena import FakeAthena, put_trail

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")
START = datetime(2025, 3, 1, tzinfo=UTC)
NAMES = ("StopInstances", "DescribeInstances", "AssumeRole", "GetObject")


def trail_records(days: int = 3, accounts: tuple[str, ...] = ACCOUNTS) -> list[dict[str, Any]]:
    out = []
    for a in accounts:
        for r in REGIONS:
            for i in range(days * 24):
                t = START + timedelta(hours=i, minutes=7)
                out.append(
                    {
                        "eventVersion": "1.09",
                        "eventID": f"{a[:3]}-{r}-{i}",
                        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "eventName": NAMES[i % len(NAMES)],
                        "eventSource": "ec2.amazonaws.com",
                        "awsRegion": r,
                        "recipientAccountId": a,
                        "sourceIPAddress": f"10.0.{i % 4}.{i % 250}",
                        "userAgent": "aws-cli/2.15",
                        "userIdentity": {
                            "type": "AssumedRole",
                            "arn": f"arn:aws:sts::{a}:assumed-role/Ops/alice",
                            "accountId": a,
                        },
                        "requestParameters": {
                            "instancesSet": {"items": [{"instanceId": f"i-{i:04x}"}]}
                        },
                        "readOnly": i % 4 == 1,
                    }
                )
    return out


@pytest.fixture
def athena(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAthena]:
    fa = FakeAthena(s3)
    fa.workgroups["primary"]["output"] = "s3://results/"
    url = fa.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", url)  # boto3 resolves it; we don't override
    yield fa
    fa.stop()


@pytest.fixture
def trail(s3: Any, athena: FakeAthena) -> list[dict[str, Any]]:
    recs = trail_records()
    put_trail(s3, BUCKET, recs, per_file=6)
    setup(f"s3://{BUCKET}", say=lambda _: None)
    return recs


def _sizes(s3: Any, prefix: str) -> int:
    objs = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sum(int(o["Size"]) for o in objs)


def _expected(recs: list[dict[str, Any]], text: str) -> list[str]:
    f = parse(text)
    evs = [parse_record(json.loads(json.dumps(r))) for r in recs]
    return sorted(e.event_id for e in evs if matches(f, e))


def _read(src: AthenaSource, store: Store, text: str) -> list[str]:
    f = parse(text)
    assert read_all(store, [src], f) == []
    return sorted(r.event_id for r in store.window(f, 0, 10_000, src.scope(store)))


def test_setup_is_idempotent(s3: Any, athena: FakeAthena) -> None:
    put_trail(s3, BUCKET, trail_records(days=1, accounts=ACCOUNTS[:1]))
    said: list[str] = []
    setup(f"s3://{BUCKET}", say=said.append)
    assert said[0].startswith("created table trailtui.cloudtrail over s3://trail-bucket/AWSLogs/")
    assert "1 account, 2 regions, days from 2025-03-01" in said[0]
    t = athena.tables[("trailtui", "cloudtrail")]
    assert t.props["projection.account.values"] == ACCOUNTS[0]
    assert t.props["projection.region.values"] == "eu-west-1,us-east-1"
    assert t.props["projection.day.range"] == "2025/03/01,NOW"
    assert t.props["storage.location.template"] == (
        "s3://trail-bucket/AWSLogs/${account}/CloudTrail/${region}/${day}"
    )
    said.clear()
    setup(f"s3://{BUCKET}", say=said.append)
    assert (
        said[0]
        == "table trailtui.cloudtrail is up to date (1 account, 2 regions, days from 2025-03-01)"
    )
    # a new account (and an older day) in the bucket: the projection follows
    older = [
        dict(r, eventTime="2025-02-27T10:00:00Z", eventID="old")
        for r in trail_records(1, ACCOUNTS[1:])[:1]
    ]
    put_trail(s3, BUCKET, older)
    said.clear()
    setup(f"s3://{BUCKET}", say=said.append)
    assert said[0].startswith(
        "updated table trailtui.cloudtrail: partition projection now 2 accounts"
    )
    assert t.props["projection.day.range"] == "2025/02/27,NOW"
    s = load_settings("trailtui.cloudtrail")
    assert s is not None and s.workgroup == "primary" and s.location == f"s3://{BUCKET}"


def test_setup_org_trail_and_workgroup(s3: Any, athena: FakeAthena) -> None:
    put_trail(s3, BUCKET, trail_records(days=1), prefix="logs", org="o-abcdefghij")
    said: list[str] = []
    setup(f"s3://{BUCKET}/logs", workgroup="tt", output="s3://results/tt/", say=said.append)
    assert said[0] == "created workgroup 'tt' with results in s3://results/tt/"
    t = athena.tables[("trailtui", "cloudtrail")]
    assert t.location == "s3://trail-bucket/logs/AWSLogs/o-abcdefghij/"
    assert t.props["projection.account.values"] == ",".join(ACCOUNTS)
    athena.workgroups["bare"] = {"output": ""}
    with pytest.raises(SourceError, match="'bare' has no query result location"):
        setup(f"s3://{BUCKET}/logs", workgroup="bare", say=said.append)


def test_one_day_one_region_scans_that_partition(
    s3: Any, athena: FakeAthena, trail: list[dict[str, Any]], tmp_path: Any
) -> None:
    text = "name:StopInstances region:eu-west-1 since:2025-03-02T00:00 until:2025-03-02T20:00"
    with Store(tmp_path / "c.sqlite") as store:
        src = AthenaSource("trailtui.cloudtrail")
        assert _read(src, store, text) == _expected(trail, text)
        q = athena.last()
        assert {p[1:] for p in q.partitions} == {("eu-west-1", "2025/03/02")}
        day = sum(_sizes(s3, f"AWSLogs/{a}/CloudTrail/eu-west-1/2025/03/02/") for a in ACCOUNTS)
        assert q.scanned == day
        assert day * 5 < sum(_sizes(s3, f"AWSLogs/{a}/") for a in ACCOUNTS)  # of 6 partitions
        assert f"scanned {day / 1e3:,.1f} kB" in src.status()
        # the exact originals: the cache holds the records as the files have them
        rid = store.rowid_of(_expected(trail, text)[0])
        assert rid is not None
        raw = json.loads(store.raw(rid) or "")
        assert raw == next(r for r in trail if r["eventID"] == raw["eventID"])
        # reopening: the window is covered, nothing is asked
        n = len(athena.selects())
        src2 = AthenaSource("trailtui.cloudtrail")
        assert _read(src2, store, text) == _expected(trail, text)
        assert len(athena.selects()) == n and "from the cache" in src2.status()
        # another filter over the same files: they are listed again but not fetched again
        wider = "region:eu-west-1 since:2025-03-02T00:00 until:2025-03-02T20:00"
        src3 = AthenaSource("trailtui.cloudtrail")
        assert _read(src3, store, wider) == _expected(trail, wider)
        st = src3._trails[BUCKET].stats
        assert st.skipped > 0 and st.gets < st.listed


def test_newest_slice_first_and_every_field(
    athena: FakeAthena, trail: list[dict[str, Any]], tmp_path: Any
) -> None:
    texts = [
        "since:2025-03-01 until:2025-03-03T23:00 -name:Describe* user:Ops/alice ip:10.0.2.0/24",
        "since:2025-03-01 until:2025-03-04 resource:i-0011 readonly:true account:222222222222",
        'since:2025-03-01 until:2025-03-04 name:/^(stop|assume)/ "aws-cli" -error:*',
    ]
    with Store(tmp_path / "c.sqlite") as store:
        for text in texts:
            src = AthenaSource("trailtui.cloudtrail")
            assert _read(src, store, text) == _expected(trail, text), text
    first = [q for q in athena.selects() if "Describe" in q.sql]  # the first filter's queries
    tops = [max(re.findall(r"'(\d{4}/\d\d/\d\d)'", q.sql)) for q in first]
    assert len(tops) > 1 and tops == sorted(tops, reverse=True)  # newest day partitions first


def test_a_new_filter_stops_the_running_query(
    athena: FakeAthena, trail: list[dict[str, Any]], tmp_path: Any
) -> None:
    athena.delay = 3.0
    calls = [0]

    def cancelled() -> bool:
        calls[0] += 1
        return calls[0] > 2

    with Store(tmp_path / "c.sqlite") as store:
        src = AthenaSource("trailtui.cloudtrail")
        src.read(store, parse("since:2025-03-01 until:2025-03-02"), cancelled=cancelled)
        assert athena.last().state == "CANCELLED"
        assert not src.done(parse("since:2025-03-01 until:2025-03-02"))


def test_clear_errors(
    s3: Any, athena: FakeAthena, trail: list[dict[str, Any]], tmp_path: Any
) -> None:
    f = parse("since:2025-03-01 until:2025-03-02")
    with Store(tmp_path / "c.sqlite") as store:
        with pytest.raises(
            SourceError,
            match=re.escape("no Athena table trailtui.nope: run `trailtui athena setup"),
        ):
            AthenaSource("trailtui.nope").read(store, f)
        with pytest.raises(SourceError, match="no time window: the query would scan every day of"):
            AthenaSource("trailtui.cloudtrail").read(store, parse("name:x"))
        athena.workgroups["bare"] = {"output": ""}
        with pytest.raises(SourceError, match="'bare' has no query result location"):
            AthenaSource("trailtui.cloudtrail", workgroup="bare").read(store, f)
        athena.denied.add("testing")
        with pytest.raises(SourceError, match="not allowed to query Athena"):
            AthenaSource("trailtui.cloudtrail").read(store, f)


def test_cli_query(
    athena: FakeAthena, trail: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    text = "name:StopInstances region:eu-west-1"
    args = ["query", text, "--athena", "trailtui.cloudtrail", "--since", "2025-03-02",
            "--until", "2025-03-02T12:00", "--format", "jsonl"]  # fmt: skip
    assert main(args) == 0
    out, err = capsys.readouterr()
    got = sorted(json.loads(line)["eventID"] for line in out.splitlines())
    assert got == _expected(trail, text + " since:2025-03-02 until:2025-03-02T12:00")
    assert "Athena SQL for name:StopInstances region:eu-west-1" in err
    assert (
        "trailtui: athena: trailtui.cloudtrail 2025-03-02: scanned " in err and "($0.0001)" in err
    )  # billed for 10 MB at least
    with pytest.raises(SystemExit) as e:
        main(["query", "--athena", "a.b.c"])
    assert e.value.code == 2


def test_cli_setup(s3: Any, athena: FakeAthena, capsys: pytest.CaptureFixture[str]) -> None:
    put_trail(s3, BUCKET, trail_records(days=1))
    assert main(["athena", "setup", f"s3://{BUCKET}"]) == 0
    out = capsys.readouterr().out
    assert "created table trailtui.cloudtrail" in out and "--athena trailtui.cloudtrail" in out
    with pytest.raises(SystemExit) as e:
        main(["athena", "setup", "s3://empty-bucket-x"])
    assert e.value.code == 2
