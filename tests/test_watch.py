"""trailtui watch end to end: the real program in a subprocess, real boto3 against the fake
CloudWatch Logs endpoint; events put while it runs appear once, a restart repeats nothing and
prints what arrived while it was stopped; --exec gets each raw event on stdin and its failure
never stops the watch; SIGTERM and Ctrl-C (SIGINT) end it cleanly."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from trailtui.cli.watch import WatchState

from .fakes.cloudtrail import records
from .fakes.logs import FakeLogs

ACCT, REGION, GROUP = "111111111111", "us-east-1", "CloudTrail/prod"


def _events(name: str, n: int, when: datetime) -> list[dict[str, Any]]:
    out = []
    for i, r in enumerate(records(ACCT, REGION, n, seed=int(time.time() * 1000) % 100000)):
        out.append(
            {
                **r,
                "eventName": name,
                "eventID": str(uuid.uuid4()),
                "eventTime": (when - timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return out


class Proc:
    def __init__(self, args: list[str]) -> None:
        self.p = subprocess.Popen(
            [sys.executable, "-m", "trailtui", "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        assert self.p.stdout is not None and self.p.stderr is not None
        threading.Thread(target=self._pump, args=(self.p.stdout, self.out), daemon=True).start()
        threading.Thread(target=self._errs, args=(self.p.stderr,), daemon=True).start()

    @staticmethod
    def _pump(stream: IO[str], q: queue.Queue[str]) -> None:
        for line in stream:
            q.put(line)

    def _errs(self, stream: IO[str]) -> None:
        for line in stream:
            self.err.append(line)

    def wait_err(self, text: str, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in line for line in self.err):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} on stderr: {''.join(self.err)}")

    def lines(self, n: int, timeout: float = 30) -> list[str]:
        got = []
        end = time.monotonic() + timeout
        while len(got) < n:
            try:
                got.append(self.out.get(timeout=max(end - time.monotonic(), 0.01)))
            except queue.Empty:
                raise AssertionError(
                    f"{len(got)} of {n} lines; stderr: {''.join(self.err)}"
                ) from None
        return got

    def quiet(self, seconds: float) -> None:
        time.sleep(seconds)
        assert self.out.empty(), self.out.get()

    def stop(self, sig: int) -> int:
        self.p.send_signal(sig)
        return self.p.wait(timeout=30)


def _ids(lines: list[str]) -> set[str]:
    return {json.loads(line)["eventID"] for line in lines}


def test_watch_prints_new_events_once_across_restarts(fake_logs: FakeLogs, tmp_path: Path) -> None:
    fake_logs.rate = 0
    now = datetime.now(UTC)
    fake_logs.put_records(
        ACCT, REGION, GROUP, _events("StopInstances", 3, now - timedelta(minutes=2)), delay_ms=0
    )
    recorder = tmp_path / "record.py"
    got = tmp_path / "exec.jsonl"
    recorder.write_text(
        f"import sys\nopen({str(got)!r}, 'a').write(sys.stdin.read().strip() + '\\n')\n"
    )
    args = [
        "name:stopinstances",
        "--log-group",
        GROUP,
        "--region",
        REGION,
        "--format",
        "jsonl",
        "--every",
        "0.3",
        "--cache",
        str(tmp_path / "cache.sqlite"),
    ]
    run1 = Proc([*args, "--exec", f"{sys.executable} {recorder}"])
    run1.wait_err("watching")
    # the first run starts from now: the three already there are not printed
    new = _events("StopInstances", 2, datetime.now(UTC))
    noise = _events("DescribeInstances", 3, datetime.now(UTC))
    fake_logs.put_records(ACCT, REGION, GROUP, new + noise, delay_ms=0)
    assert _ids(run1.lines(2)) == {e["eventID"] for e in new}
    run1.quiet(1.5)  # more polls print nothing twice
    assert run1.stop(signal.SIGTERM) == 0
    assert [json.loads(x)["eventID"] for x in got.read_text().splitlines()] == [
        e["eventID"] for e in sorted(new, key=lambda e: e["eventTime"])
    ]  # --exec: each raw event on stdin, oldest first

    # put while stopped: printed after the restart, and nothing printed before again
    missed = _events("StopInstances", 2, datetime.now(UTC))
    fake_logs.put_records(ACCT, REGION, GROUP, missed, delay_ms=0)
    run2 = Proc([*args, "--exec", "false"])
    assert _ids(run2.lines(2)) == {e["eventID"] for e in missed}
    later = _events("StopInstances", 1, datetime.now(UTC))
    fake_logs.put_records(ACCT, REGION, GROUP, later, delay_ms=0)
    assert _ids(run2.lines(1)) == {later[0]["eventID"]}
    run2.quiet(1.0)
    # the command failed for every event; the watch went on
    assert sum("--exec false for event" in x and "exited with status 1" in x for x in run2.err) == 3
    assert run2.stop(signal.SIGINT) == 0
    assert not any("Traceback" in x for x in run1.err + run2.err)


def test_watch_backlog_and_table(fake_logs: FakeLogs, tmp_path: Path) -> None:
    fake_logs.rate = 0
    old = _events("StopInstances", 2, datetime.now(UTC) - timedelta(minutes=30))
    fake_logs.put_records(ACCT, REGION, GROUP, old, delay_ms=0)
    run = Proc(
        [
            "name:StopInstances",
            "--log-group",
            GROUP,
            "--region",
            REGION,
            "--since",
            "2h",
            "--every",
            "0.3",
            "--cache",
            str(tmp_path / "cache.sqlite"),
        ]
    )
    lines = run.lines(2)
    assert all("StopInstances" in x for x in lines)
    assert run.stop(signal.SIGINT) == 0


def test_watch_refuses_what_cannot_be_watched(tmp_path: Path) -> None:
    def err(*args: str) -> str:
        p = subprocess.run(
            [sys.executable, "-m", "trailtui", "watch", *args], capture_output=True, text=True
        )
        assert p.returncode == 2
        return p.stderr

    assert "until:" in err("until:2024-01-01", "--from", str(tmp_path))
    assert "nothing new arrives in the demo" in err("--demo")
    assert "--exec" in err("--exec", "'unclosed", "--from", str(tmp_path))


def test_state_round_trip() -> None:
    s = WatchState(10_000, {"a": 9_000, "b": 1_000})
    s.prune(5_000)
    assert WatchState.load(s.dump()) == WatchState(10_000, {"a": 9_000})
    assert WatchState.load("not json") is None
