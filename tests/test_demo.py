from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from trailtui.filter.language import parse
from trailtui.records.event import parse_record
from trailtui.sources.demo import (
    INCIDENT_INSTANCE,
    MALLORY_IP,
    REGIONS,
    ensure_demo_store,
    generate,
)
from trailtui.store.store import Store


def test_deterministic_and_realistic() -> None:
    a, b = generate(), generate()
    assert a == b
    assert 50_000 <= len(a) <= 70_000
    evs = [parse_record(r) for r in a]
    assert {e.region for e in evs} >= set(REGIONS)
    span = (evs[-1].time - evs[0].time).days
    assert 13 <= span <= 14
    names = Counter(e.name for e in evs)
    for n in (
        "ConsoleLogin",
        "AssumeRole",
        "StopInstances",
        "StartInstances",
        "Decrypt",
        "TerminateInstances",
    ):
        assert names[n] > 0, n
    errors = Counter(e.error_code for e in evs if e.error_code)
    assert errors["AccessDenied"] > 0 and errors["ThrottlingException"] > 0
    for r in a[:50]:
        assert {
            "eventVersion",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "eventID",
            "eventType",
            "recipientAccountId",
        } <= set(r)


def test_the_incident(demo_store: Store) -> None:
    stops = demo_store.window(parse(f"name:StopInstances resource:{INCIDENT_INSTANCE}"))
    assert len(stops) == 1
    stop = stops[0]
    assert stop.time.hour == 3 and stop.principal.startswith("SkeddlyScheduler/skeddly-")
    assert demo_store.count(parse(f"ip:{MALLORY_IP}")) == demo_store.count(
        parse(f"ip:{MALLORY_IP} user:mallory,skeddly-7f3a2c1e")
    )
    assume = demo_store.window(parse(f"name:AssumeRole user:mallory ip:{MALLORY_IP}"))
    assert len(assume) == 1
    # the scheduler has many sessions
    assert len(demo_store.facet("user", parse("name:StopInstances"), "skeddly-", 100)) > 10


def test_generated_fast(tmp_path: Path) -> None:
    t = time.perf_counter()
    ensure_demo_store(tmp_path / "d.sqlite").close()
    assert time.perf_counter() - t < 10
    t = time.perf_counter()
    s = ensure_demo_store(tmp_path / "d.sqlite")
    assert time.perf_counter() - t < 1
    assert s.total() == len(generate())


def test_an_old_demo_cache_is_rebuilt(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "demo.sqlite"
    ensure_demo_store(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    con.commit()
    con.close()
    s = ensure_demo_store(path)
    assert s.total() == len(generate())
