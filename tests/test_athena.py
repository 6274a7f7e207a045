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

from trailtui import locations
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


def test_cli_no_window_refused_unless_yes(
    athena: FakeAthena, trail: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    text = "name:StopInstances region:eu-west-1"
    with pytest.raises(SystemExit) as e:
        main(["query", text, "--athena", "trailtui.cloudtrail", "--format", "jsonl"])
    assert e.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    m = re.search(
        r"trailtui: error: no time window: the query would scan every day of "
        r"trailtui\.cloudtrail since 2025-03-01 \(([\d,]+) days × 2 accounts × 1 region = "
        r"([\d,]+) partitions\), billed at \$5 per TB scanned; add --since WHEN "
        r"\(e\.g\. --since 7d\), or --yes to run it",
        err,
    )
    assert m, err
    days = int(m.group(1).replace(",", ""))
    assert days > 600 and int(m.group(2).replace(",", "")) == 2 * days
    assert athena.selects() == []  # nothing ran
    assert (
        main(["query", text, "--athena", "trailtui.cloudtrail", "--format", "jsonl", "--yes"]) == 0
    )
    out, err = capsys.readouterr()
    got = sorted(json.loads(line)["eventID"] for line in out.splitlines())
    assert got == _expected(trail, text)  # every day, not the last 24 h
    q = athena.selects()[-1]
    assert "'2025/03/01'" in q.sql and "scanned" in err  # down to the oldest day
    assert {p[:2] for p in athena.selects()[0].partitions} <= {(a, "eu-west-1") for a in ACCOUNTS}


# --------------------------------------------------------------------------- history and who

A, B = ACCOUNTS
INSTANCE = "i-0abc1234def567890"
KEY_A = "ASIAAAAAAAAAAAAAAAA1"  # mallory's Jump session in account A (issued to alice)
KEY_B = "ASIABBBBBBBBBBBBBBB2"  # the Ops session in account B (issued to the Jump session)


def _rec(t: datetime, name: str, account: str, region: str, **kw: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventID": kw.pop("eventID", f"{name}-{account}-{region}-{t:%d%H%M}"),
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": name,
        "eventSource": "ec2.amazonaws.com",
        "awsRegion": region,
        "recipientAccountId": account,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        **kw,
    }


def _session(account: str, role: str, key: str) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/mallory",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "userName": role, "accountId": account}
        },
    }


def _lifecycle(name: str, prev: str, cur: str) -> dict[str, Any]:
    item = {"instanceId": INSTANCE, "previousState": {"name": prev}, "currentState": {"name": cur}}
    return {
        "requestParameters": {"instancesSet": {"items": [{"instanceId": INSTANCE}]}},
        "responseElements": {"instancesSet": {"items": [item]}},
    }


def _assume(t: datetime, account: str, who: dict[str, Any], issued: str) -> dict[str, Any]:
    return _rec(
        t, "AssumeRole", account, "us-east-1",
        eventSource="sts.amazonaws.com", userIdentity=who,
        responseElements={"credentials": {"accessKeyId": issued, "expiration": "x"}},
    )  # fmt: skip


@pytest.fixture
def incident(s3: Any, athena: FakeAthena) -> dict[str, Any]:
    """Three days of an org trail up to now (two accounts, two regions, an event an hour
    each) and an incident in it: alice's key -> (30 h ago) a Jump session in A -> (6 h ago)
    an Ops session in B that stops an instance in B/eu-west-1 (5 h ago), which was run 50 h
    ago and started again 3 h ago."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    recs = []
    for i, (a, r) in enumerate((a, r) for a in ACCOUNTS for r in REGIONS):
        for h in range(72):
            t = now - timedelta(hours=h, minutes=20 + i)
            who = {"type": "IAMUser", "userName": "bob", "accountId": a}
            recs.append(_rec(t, ("DescribeInstances", "GetObject")[h % 2], a, r, userIdentity=who))
    alice = {"type": "IAMUser", "userName": "alice", "accountId": A,
             "accessKeyId": "AKIAALICE00000000000"}  # fmt: skip
    ops, jump = _session(B, "Ops", KEY_B), _session(A, "Jump", KEY_A)
    stop = _rec(now - timedelta(hours=5), "StopInstances", B, "eu-west-1", eventID="the-stop",
                userIdentity=ops, **_lifecycle("StopInstances", "running", "stopping"))  # fmt: skip
    recs += [
        _assume(now - timedelta(hours=30), A, alice, KEY_A),
        _assume(now - timedelta(hours=6), B, jump, KEY_B),
        stop,
        _rec(now - timedelta(hours=50), "RunInstances", B, "eu-west-1", userIdentity=ops,
             **_lifecycle("RunInstances", "", "pending")),
        _rec(now - timedelta(hours=3), "StartInstances", B, "eu-west-1", userIdentity=ops,
             **_lifecycle("StartInstances", "stopped", "pending")),
    ]  # fmt: skip
    put_trail(s3, BUCKET, recs, per_file=4)
    setup(f"s3://{BUCKET}", say=lambda _: None)
    return {"records": recs, "stop": stop, "s3": s3}


def _scanned(s3: Any, parts: list[tuple[str, str, str]]) -> int:
    return sum(_sizes(s3, f"AWSLogs/{a}/CloudTrail/{r}/{d}/") for a, r, d in parts)


def test_who_asks_for_the_event_then_each_issuer(
    athena: FakeAthena, incident: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = incident["s3"]
    assert main(["who", "the-stop", "--athena", "trailtui.cloudtrail", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    chain = json.loads(out)
    assert chain["origin"] == "IAM user alice" and len(chain["links"]) == 3
    assert [link["issued_key"] for link in chain["links"][1:]] == [KEY_B, KEY_A]
    assert "looking for event the-stop in the last 24 h (--yes: in every day)" in err
    qs = athena.selects()
    # the event: its id, in the last day's partitions (every account and region)
    assert "eventid" in qs[0].sql and "'the-stop'" in qs[0].sql
    # then each issuer: the STS names and the key, in the account that used the key, the 36 h
    # before its use: that account's partitions of those days, nothing else
    chain_qs = [q for q in qs if "assumerole" in q.sql]
    by_key = {k: [q for q in chain_qs if k.lower() in q.sql] for k in (KEY_B, KEY_A)}
    for key, acct in ((KEY_B, B), (KEY_A, A)):
        assert by_key[key], key
        for q in by_key[key]:
            assert f"\"account\" IN ('{acct}')" in q.sql
            assert {p[0] for p in q.partitions} == {acct}
            assert len({p[2] for p in q.partitions}) <= 3  # 36 h: two or three days
            assert q.scanned == _scanned(s3, q.partitions)
            days = {p[2] for p in q.partitions}  # half what the same days of the trail hold
            every = [(a, r, d) for a in ACCOUNTS for r in REGIONS for d in days]
            assert q.scanned < _scanned(s3, every) * 0.7
    # again: everything is in the cache, nothing is asked
    n = len(athena.selects())
    assert main(["who", "the-stop", "--athena", "trailtui.cloudtrail"]) == 0
    assert "origin: IAM user alice" in capsys.readouterr().out
    assert len(athena.selects()) == n


def test_who_not_found_says_where_it_looked(
    athena: FakeAthena, incident: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["who", "no-such-'event", "--athena", "trailtui.cloudtrail"]) == 1
    err = capsys.readouterr().err
    assert "looking for event no-such-'event in the last 24 h" in err
    assert "event no-such-'event is not in the cache" in err
    assert all("'no-such-''event'" in q.sql for q in athena.selects())  # a plain literal


def test_history_asks_for_the_instance_only(
    athena: FakeAthena, incident: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = incident["s3"]
    args = ["history", INSTANCE, "--athena", "trailtui.cloudtrail", "--format", "jsonl"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    steps = [json.loads(line) for line in out.splitlines()]
    # the last 24 h: the stop and the start, not the run 50 h ago
    assert [s["name"] for s in steps] == ["StopInstances", "StartInstances"]
    assert f"looking for {INSTANCE} in the last 24 h (--yes: in every day)" in err
    assert f"Athena SQL for resource:{INSTANCE}" in err
    first = athena.selects()
    assert first and all(INSTANCE in q.sql for q in first)
    # only the files naming the instance were read (4 events a file), not the day's
    with Store(locations.default_cache_db()) as store:
        assert store.total() <= 2 * 4
    # --yes: every day, and the cache says where the instance lives: B, eu-west-1 only
    assert main([*args, "--yes"]) == 0
    out, err = capsys.readouterr()
    steps = [json.loads(line) for line in out.splitlines()]
    assert [s["name"] for s in steps] == ["RunInstances", "StopInstances", "StartInstances"]
    assert steps[1]["change"] == "running -> stopping" and steps[1]["who"] == "Ops/mallory"
    later = athena.selects()[len(first) :]
    assert later
    for q in later:
        assert f"\"account\" IN ('{B}')" in q.sql and "\"region\" IN ('eu-west-1')" in q.sql
        assert {p[:2] for p in q.partitions} == {(B, "eu-west-1")}
        assert q.scanned == _scanned(s3, q.partitions)
    assert f"resource:{INSTANCE} account:{B} region:eu-west-1" in err
