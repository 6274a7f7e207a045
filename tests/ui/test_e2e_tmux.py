"""The real program in a real terminal: tmux send-keys / capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


# a private tmux server per test run: never the user's, and it gets this test's environment
SOCKET = f"trailtui-test-{uuid.uuid4().hex[:8]}"


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=True
    ).stdout


def _wait_for(session: str, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session)
        if needle in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared; screen:\n{screen}")


@pytest.fixture
def session(demo_db: Path, tmp_path: Path) -> Iterator[str]:
    assert shutil.which("tmux"), "tmux is needed (.ci/run installs it)"
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    shutil.copy(demo_db, cache / "demo.sqlite")
    name = f"trailtui-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TRAILTUI_CACHE_DIR": str(cache),
        "TERM": "xterm-256color",
    }
    # the pane stays after the program ends, so a crash shows in the failure message
    cmd = f"{sys.executable} -m trailtui --demo; echo trailtui exited $?; sleep 120"
    subprocess.run(
        ["tmux", "-L", SOCKET, "new-session", "-d", "-s", name, "-x", "120", "-y", "40", cmd],
        check=True,
        env=env,
    )
    try:
        yield name
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def test_demo_filter_in_a_real_terminal(session: str) -> None:
    _wait_for(session, "58,002 events")
    # keys reach the app once the terminal handshake is over: press j until the cursor moves
    deadline = time.monotonic() + 20
    while "2/58,002" not in _tmux("capture-pane", "-p", "-t", session):
        assert time.monotonic() < deadline, "the app never took a key"
        _tmux("send-keys", "-t", session, "j")
        time.sleep(0.3)
    _tmux("send-keys", "-t", session, "/")
    _tmux("send-keys", "-t", session, "-l", "name:StopInstances resource:i-0badc0ffee0000001")
    _tmux("send-keys", "-t", session, "Enter")
    screen = _wait_for(session, "1 event  1/1")
    assert "2026-11-19 03:12:07" in screen
    assert "SkeddlyScheduler/skeddly-7f" in screen
    _tmux("send-keys", "-t", session, "?")
    _wait_for(session, "trailtui — keys")
    _tmux("send-keys", "-t", session, "q")
    _tmux("send-keys", "-t", session, "q")
    _wait_for(session, "trailtui exited 0", timeout=10)
