from __future__ import annotations

import json
from pathlib import Path

import pytest

from trailtui.filter.language import parse
from trailtui.investigate.history import LIFECYCLE, history, instances_of, intervals
from trailtui.investigate.identity import render_text, who
from trailtui.records.event import EC2_INSTANCE
from trailtui.records.inputs import parse_file
from trailtui.sources.demo import INCIDENT_INSTANCE, INCIDENT_TIME, MALLORY_IP
from trailtui.sources.folder import ingest_paths
from trailtui.store.store import Store

from .conftest import REAL, real_files
from .test_cli import demo_cache, run  # noqa: F401


def test_demo_history_shows_the_night_stop(demo_store: Store) -> None:
    steps = history(demo_store, INCIDENT_INSTANCE)
    stop = [s for s in steps if s.name == "StopInstances"]
    assert len(stop) == 1
    s = stop[0]
    assert s.time == INCIDENT_TIME and s.time.hour == 3
    assert (s.previous, s.current) == ("running", "stopping")
    assert s.principal_type == "AssumedRole" and s.who.startswith("SkeddlyScheduler/skeddly-")
    assert s.actor == "role session" and s.source_ip == MALLORY_IP
    failed = [s for s in steps if s.failed]
    assert failed and failed[0].name == "TerminateInstances"


def test_demo_who_names_mallory_and_the_lonely_ip(demo_store: Store) -> None:
    stop = demo_store.window(parse(f"name:StopInstances resource:{INCIDENT_INSTANCE}"))[0]
    chain = who(demo_store, stop.event_id)
    assert chain is not None
    assert [link.name for link in chain.links] == ["StopInstances", "AssumeRole"]
    assert chain.links[1].who == "mallory" and chain.links[1].source_ip == MALLORY_IP
    assert chain.links[1].issued_key == chain.links[0].access_key
    assert chain.origin == "IAM user mallory" and chain.origin_kind == "iam-user"
    assert MALLORY_IP in chain.ip_note and "seen nowhere else" in chain.ip_note
    text = "\n".join(render_text(chain))
    assert "mallory" in text and MALLORY_IP in text


def test_scheduler_chain_ends_in_the_other_account(demo_store: Store) -> None:
    row = demo_store.window(parse("name:StartInstances user:skeddly-*"), 0, 1)[0]
    chain = who(demo_store, row.event_id)
    assert chain is not None and chain.origin_kind == "account"
    assert "210987654321" in chain.origin


def test_cli_history_and_who(demo_cache: Path) -> None:  # noqa: F811
    r = run("history", INCIDENT_INSTANCE, "--demo")
    assert r.returncode == 0, r.stderr
    assert "2026-11-19 03:12:07" in r.stdout and "running -> stopping" in r.stdout
    r = run("history", INCIDENT_INSTANCE, "--demo", "--format", "jsonl")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[0]["name"] == "StopInstances" and lines[0]["change"] == "running -> stopping"
    r = run("who", lines[0]["event_id"], "--demo")
    assert r.returncode == 0
    assert "origin: IAM user mallory" in r.stdout and MALLORY_IP in r.stdout
    assert "seen nowhere else" in r.stdout
    r = run("who", lines[0]["event_id"], "--demo", "--format", "json")
    data = json.loads(r.stdout)
    assert data["origin_kind"] == "iam-user" and data["links"][1]["who"] == "mallory"
    assert run("who", "no-such-event", "--demo").returncode == 1
    assert run("history", "i-00000000", "--demo").returncode == 1


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("real") / "real.sqlite")
    ingest_paths(s, [REAL])
    return s


def test_every_real_lifecycle_event_is_in_its_history(real_store: Store) -> None:
    checked = 0
    for path in real_files():
        for ev in parse_file(path).events:
            if ev.name not in LIFECYCLE:
                continue
            for kind, iid in ev.resources:
                if kind != EC2_INSTANCE:
                    continue
                steps = {s.event_id: s for s in history(real_store, iid)}
                assert ev.event_id in steps, (path.name, ev.name, iid)
                step = steps[ev.event_id]
                resp = ev.raw.get("responseElements") or {}
                items = ((resp.get("instancesSet") or {}).get("items")) or []
                mine = [i for i in items if isinstance(i, dict) and i.get("instanceId") == iid]
                if mine and "previousState" in mine[0]:
                    assert step.previous == mine[0]["previousState"]["name"]
                    assert step.current == mine[0]["currentState"]["name"]
                checked += 1
    assert checked >= 5


def test_real_chains_resolve_or_stop_cleanly(real_store: Store) -> None:
    kinds = set()
    for row in real_store.window(parse(""), 0, 5000):
        chain = who(real_store, row.event_id)
        assert chain is not None and chain.origin, row.event_id
        kinds.add(chain.origin_kind)
        assert len(chain.links) <= 13
    assert "iam-user" in kinds or "edge" in kinds


def test_intervals_and_instances_of(demo_store: Store) -> None:
    steps = history(demo_store, "i-0d15ea5e0000000a1")
    start, end = steps[0].time, steps[-1].time
    spans = intervals(steps, start, end)
    states = {s for _, _, s in spans}
    assert {"running", "stopped"} <= states
    assert instances_of("i-1, arn:aws:ec2:us-east-1:1:instance/i-2, vpc-3") == ["i-1", "i-2"]
