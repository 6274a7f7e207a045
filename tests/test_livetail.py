"""Live tail (StartLiveTail) in the CloudWatch Logs source's follow polls, with real boto3 over
HTTP against the fake (tests/fakes/logs.py streams AWS's event-stream encoding): events put
while following land once each, whether the stream or FilterLogEvents brought them; the
source falls back to polling when the endpoint refuses, and a broken stream loses nothing.

Waits are on conditions (polls until something holds, generous deadlines), never on fixed
sleeps that a loaded machine could outrun."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trailtui.filter.language import Filter, parse
from trailtui.filter.logs import compile_filter
from trailtui.sources import livetail, logs
from trailtui.sources.base import Tails, poll
from trailtui.sources.livetail import FAILED, LIVE
from trailtui.sources.logs import LogsSource
from trailtui.sources.lookup import RateLimiter
from trailtui.store.store import Store

from .fakes.cloudtrail import records
from .fakes.logs import FakeLogs

A, REGION, GROUP = "111111111111", "us-east-1", "CloudTrail/prod"
ARN = f"arn:aws:logs:{REGION}:{A}:log-group:{GROUP}"
DEADLINE = 30.0  # seconds a condition may take on a loaded 2-core machine


@pytest.fixture
def live(fake_logs: FakeLogs, monkeypatch: pytest.MonkeyPatch) -> FakeLogs:
    """The fake with StartLiveTail reachable (boto3 would send it to stream-127.0.0.1
    otherwise), an update every 0.1 s, and a short overlap before the stream vouches."""
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    monkeypatch.setattr(livetail, "OVERLAP", 0.3)
    monkeypatch.setattr(logs, "LIMITER", RateLimiter(1000.0))  # the fake's own limit is off
    fake_logs.live_update_every = 0.1
    fake_logs.rate = 0
    fake_logs.create_group(A, REGION, GROUP)
    return fake_logs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "live.sqlite")
    yield s
    s.close()


def _events(n: int, name: str = "StopInstances") -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            **r,
            "eventName": name,
            "eventID": str(uuid.uuid4()),
            "eventTime": (now - timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for i, r in enumerate(records(A, REGION, n))
    ]


def _put(fake: FakeLogs, recs: list[dict[str, Any]]) -> set[str]:
    fake.put_records(A, REGION, GROUP, recs, delay_ms=0)
    return {r["eventID"] for r in recs}


class Follower:
    """Polls a source as follow mode does: from a little before the previous poll."""

    def __init__(self, store: Store, src: LogsSource, f: Filter) -> None:
        self.store, self.src, self.f = store, src, f
        self.since = datetime.now(UTC) - timedelta(minutes=10)

    def poll(self) -> bool:
        started = datetime.now(UTC)
        ok = poll(self.store, self.src, self.f, self.since)
        if ok:
            self.since = started - timedelta(minutes=10)
        return ok

    def until(self, cond: Callable[[], bool], what: str) -> None:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            self.poll()
            if cond():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.src.follow}")

    def until_in(self, want: set[str], what: str) -> None:
        self.until(lambda: want <= set(self.ids()), what)

    def ids(self) -> list[str]:
        rows = self.store.window(self.f, 0, 100_000, self.src.scope(self.store))
        return [r.event_id for r in rows]

    def vouched(self) -> bool:
        return self.src.live is not None and self.src.live.vouches()


def _problem(src: LogsSource) -> str:
    return src.live.problem() if src.live is not None else ""


def _wait_failed(src: LogsSource) -> None:
    """Until every session has seen its stream end (not polling: a poll reconnects)."""
    assert src.live is not None
    deadline = time.monotonic() + DEADLINE
    while not all(s.state == FAILED for s in src.live.sessions.values()):
        assert time.monotonic() < deadline, "the break was not seen"
        time.sleep(0.02)


def _source() -> LogsSource:
    src = LogsSource([GROUP], [None], [REGION])
    assert isinstance(src, Tails)
    return src


def test_live_tail_delivers_what_is_put_while_following_once(live: FakeLogs, store: Store) -> None:
    f = parse("name:StopInstances")
    before = _put(live, _events(5))  # in the group before following starts
    src = _source()
    assert src.follow is not None and "starting live tail" in src.follow.how
    fol = Follower(store, src, f)
    fol.poll()  # starts the session; FilterLogEvents reads the window meanwhile
    during = _put(live, _events(3))  # while the session starts: the gap read or the stream
    fol.until(fol.vouched, "the stream to vouch")
    assert src.follow is not None
    assert src.follow.how.startswith("live tail (StartLiveTail) · "), src.follow.how
    assert src.follow.every == livetail.LIVE_EVERY
    # the session: the group's ARN (from DescribeLogGroups) and the compiled pattern
    start = [c for c in live.live_calls if c.op == "StartLiveTail"]
    assert start and start[-1].params["logGroupIdentifiers"] == [ARN]
    assert start[-1].params["logEventFilterPattern"] == compile_filter(f).pattern
    # from now on the stream alone: no FilterLogEvents call while events keep coming
    calls = len(live.calls)
    after: set[str] = set()
    for _ in range(3):
        after |= _put(live, _events(4))
        _put(live, _events(2, name="DescribeInstances"))  # the pattern keeps these out
        fol.until_in(after, "the streamed events")
    assert len(live.calls) == calls
    ids = fol.ids()
    assert len(ids) == len(set(ids)) == 5 + 3 + 12  # each once, nothing missed
    assert set(ids) == before | during | after
    assert live.open_sessions()[0].sent >= 12  # they came down the stream
    src.close()


def test_falls_back_to_polling_when_the_endpoint_has_no_live_tail(
    live: FakeLogs, store: Store
) -> None:
    live.live_tail = False
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(lambda: src.live is not None and _problem(src) != "", "the refusal")
    assert src.follow is not None
    assert src.follow.how == (
        "polling FilterLogEvents every 3 s; no live tail (not offered by the endpoint)"
    )
    assert "live tail: the endpoint has no StartLiveTail" in src.status()
    got = _put(live, _events(6))
    fol.until_in(got, "the polled events")
    for _ in range(3):
        fol.poll()
    # refused for good: not asked again at every poll
    assert len([c for c in live.live_calls if c.op == "StartLiveTail"]) == 0
    assert len(fol.ids()) == 6


@pytest.mark.parametrize(
    ("error", "short", "line"),
    [
        (
            (400, "AccessDeniedException", "not authorized to perform logs:StartLiveTail"),
            "not allowed",
            "not allowed to call logs:StartLiveTail",
        ),
        ((400, "ThrottlingException", "Rate exceeded"), "throttled", "throttled"),
    ],
)
def test_refused_live_tail_says_why_and_polls(
    live: FakeLogs, store: Store, error: tuple[int, str, str], short: str, line: str
) -> None:
    live.live_tail_error = error
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(lambda: _problem(src) != "", "the refusal")
    assert src.follow is not None and src.follow.how.endswith(f"no live tail ({short})")
    assert line in src.status()
    got = _put(live, _events(3))
    fol.until_in(got, "the polled events")


def test_too_many_sessions_is_tried_again_later(
    live: FakeLogs, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(livetail, "RETRY_AFTER", 1.0)
    live.live_max_sessions = 0
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(lambda: "too many sessions" in (src.follow.how if src.follow else ""), "refusal")
    live.live_max_sessions = 15  # another session of the account ended
    fol.until(fol.vouched, "the retried session")


def test_unreachable_stream_host_falls_back_and_says_how_to_reach_it(
    fake_logs: FakeLogs, store: Store
) -> None:
    """boto3 puts 'stream-' before the endpoint's host: 127.0.0.1 becomes unreachable."""
    fake_logs.create_group(A, REGION, GROUP)
    fake_logs.rate = 0
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(lambda: _problem(src) != "", "the connection error")
    assert src.follow is not None and src.follow.how.endswith("no live tail (unreachable)")
    assert "AWS_DISABLE_HOST_PREFIX_INJECTION=true" in src.status()
    got = _put(fake_logs, _events(3))
    fol.until_in(got, "the polled events")


@pytest.mark.parametrize("kind", ["SessionStreamingException", ""])
def test_broken_stream_reconnects_and_loses_nothing(
    live: FakeLogs, store: Store, kind: str
) -> None:
    """A stream error (or a connection dropped with no word) mid-session: what was put while
    no session was open is read with FilterLogEvents, then a new session takes over."""
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(fol.vouched, "the stream to vouch")
    first = _put(live, _events(3))
    fol.until_in(first, "the streamed events")
    calls = len(live.calls)
    assert live.break_sessions(kind) == 1
    _wait_failed(src)
    reason = "stream error" if kind else "connection lost"
    assert src.follow is not None and src.follow.how.endswith(f"no live tail ({reason})")
    lost = _put(live, _events(4))  # nobody streams these
    fol.until_in(lost, "the events put while the stream was down")
    assert len(live.calls) > calls  # FilterLogEvents read them
    fol.until(fol.vouched, "the new session to vouch")
    more = _put(live, _events(2))
    fol.until_in(more, "events on the new stream")
    ids = fol.ids()
    assert len(ids) == len(set(ids)) == 9
    assert len([c for c in live.live_calls if c.op == "StartLiveTail"]) == 2
    src.close()


def test_a_silent_stream_stops_vouching(
    live: FakeLogs, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection stays up but no update comes (AWS sends one a second): after STALE the
    polls read with FilterLogEvents again, long before the read timeout ends the session."""
    monkeypatch.setattr(livetail, "STALE", 0.5)
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(fol.vouched, "the stream to vouch")
    live.stall_sessions()
    got = _put(live, _events(3))  # the silent session never sends these
    fol.until_in(got, "the events, by FilterLogEvents")
    assert src.live is not None
    assert all(s.state == LIVE for s in src.live.sessions.values())
    src.close()


def test_repeated_breaks_back_off_to_polling(
    live: FakeLogs, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _source()
    fol = Follower(store, src, parse(""))
    for _ in range(livetail.BREAKS):
        fol.until(lambda: src.live is not None and src.live.vouches(), "a live session")
        live.break_sessions()
        _wait_failed(src)
    assert src.follow is not None and src.follow.how.endswith("no live tail (stream error)")
    starts = len([c for c in live.live_calls if c.op == "StartLiveTail"])
    for _ in range(5):
        fol.poll()
    assert len([c for c in live.live_calls if c.op == "StartLiveTail"]) == starts
    got = _put(live, _events(2))
    fol.until_in(got, "the polled events")


def test_session_timeout_starts_a_new_session(live: FakeLogs, store: Store) -> None:
    live.live_session_limit = 0.5  # AWS: 3 hours
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(lambda: len([c for c in live.live_calls if c.op == "StartLiveTail"]) >= 3, "3")
    got = _put(live, _events(5))
    fol.until_in(got, "the events")
    assert len(fol.ids()) == 5


def test_sampled_updates_are_read_again_with_filterlogevents(live: FakeLogs, store: Store) -> None:
    """Over 500 events in one second are sampled down to 500 by AWS: the source reads the
    window again rather than miss the rest."""
    live.live_update_every = 0.5
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(fol.vouched, "the stream to vouch")
    calls = len(live.calls)
    burst = _put(live, _events(700))
    fol.until_in(burst, "all 700 events")
    assert len(live.calls) > calls
    assert len(fol.ids()) == 700


def test_what_is_not_a_cloudtrail_record_is_counted_and_skipped(
    live: FakeLogs, store: Store
) -> None:
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(fol.vouched, "the stream to vouch")
    now = int(time.time() * 1000)
    good = _events(2)
    bad = ["not json", "[1, 2]", "[" * 100_000 + "]" * 100_000, json.dumps({"eventName": 1})]
    live.put(A, REGION, GROUP, [(now, m) for m in bad])
    ids = _put(live, good)
    fol.until_in(ids, "the good neighbours")
    assert len(fol.ids()) == 2
    skipped = dict(src.skipped())
    assert "live tail events that are not CloudTrail records" in next(iter(skipped.values()))


def test_deeply_nested_message_is_skipped_by_filterlogevents_too(
    fake_logs: FakeLogs, store: Store
) -> None:
    fake_logs.rate = 0
    now = datetime.now(UTC)
    fake_logs.put(A, REGION, GROUP, [(int(now.timestamp() * 1000), "[" * 100_000 + "]" * 100_000)])
    good = _put(fake_logs, _events(2))
    src = LogsSource([GROUP], [None], [REGION])
    f = parse("").with_window(now - timedelta(hours=1), None)
    src.read(store, f)
    assert {r.event_id for r in store.window(f, 0, 10, src.scope(store))} == good
    assert src.skipped() and "1 log events" in src.skipped()[0][1]


def test_a_new_pattern_replaces_the_session(live: FakeLogs, store: Store) -> None:
    src = _source()
    fol = Follower(store, src, parse("name:StopInstances"))
    fol.until(fol.vouched, "the first session")
    fol.f = parse("name:StartInstances")
    fol.until(fol.vouched, "the second session")
    deadline = time.monotonic() + DEADLINE
    while len(live.open_sessions()) != 1:  # the old one ends at its next update
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pattern = compile_filter(fol.f).pattern
    assert live.open_sessions()[0].params["logEventFilterPattern"] == pattern
    src.close()
    deadline = time.monotonic() + DEADLINE
    while live.open_sessions():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_idle_session_closes_itself(
    live: FakeLogs, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Follow paused (nobody polls): the session ends, and a later poll starts another."""
    monkeypatch.setattr(livetail, "IDLE", 0.5)
    src = _source()
    fol = Follower(store, src, parse(""))
    fol.until(lambda: bool(live.open_sessions()), "a session")
    deadline = time.monotonic() + DEADLINE
    while live.open_sessions():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    fol.until(lambda: bool(live.open_sessions()), "a new session")


def test_eleven_groups_take_two_sessions(live: FakeLogs, store: Store) -> None:
    names = [f"CloudTrail/g{i:02d}" for i in range(11)]
    for n in names:
        live.create_group(A, REGION, n)
    src = LogsSource(names, [None], [REGION])
    fol = Follower(store, src, parse(""))
    fol.until(fol.vouched, "both sessions")
    sessions = live.open_sessions()
    assert sorted(len(s.groups) for s in sessions) == [1, 10]
    assert src.live is not None
    assert all(s.state == LIVE for s in src.live.sessions.values())
    recs = _events(2)
    live.put_records(A, REGION, names[10], recs, delay_ms=0)
    fol.until_in({r["eventID"] for r in recs}, "the 11th group's events")
    src.close()
