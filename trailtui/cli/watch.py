"""trailtui watch: print each new event matching a filter as it arrives (and run a command
per match), until Ctrl-C or SIGTERM.

Each source is polled as the explorer's follow mode polls it (``Source.follow``: refresh,
then a read of the window from a little before the previous poll to now, into the cache).
What was printed is remembered in the cache's meta, per filter and source: the start of the
last poll (``mark``) and the ids of the events printed since ``mark - lag`` (an event can
arrive that late after its eventTime). A restart reads from ``mark - lag`` and prints what
it has not printed: nothing twice, and what arrived while it was stopped.

The first run starts from now (what already happened is marked seen, not printed) unless
``--since`` asks for a backlog. ``--exec CMD`` runs CMD per match (split like a shell would,
never run by one; the raw event on its stdin, never in its arguments); its failure is
reported on stderr and the watch goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from .common import EXIT_OK, bookmark_named, build_filter, fail
from .opening import open_sources

if TYPE_CHECKING:
    from ..filter.language import Filter
    from ..sources.base import Source
    from ..store.store import Row, Store

EXEC_TIMEOUT = 60.0  # seconds a --exec command may run per event
PAGE = 500


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


@dataclass
class WatchState:
    """What a watch printed: ``mark`` (ms, the start of the last complete poll) and the ids
    (with their eventTime, ms) printed or skipped since ``mark - lag``."""

    mark: int
    seen: dict[str, int] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"mark": self.mark, "seen": self.seen}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str | None) -> WatchState | None:
        if not text:
            return None
        try:
            d = json.loads(text)
            return cls(int(d["mark"]), {str(k): int(v) for k, v in d.get("seen", {}).items()})
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def prune(self, lag_ms: int) -> None:
        lo = self.mark - lag_ms
        self.seen = {k: v for k, v in self.seen.items() if v >= lo}


def state_key(filter_text: str, label: str) -> str:
    digest = hashlib.sha256(f"{filter_text}\0{label}".encode()).hexdigest()[:20]
    return f"watch:{digest}"


def _line(row: Row) -> str:
    from ..safe import clean

    cells = (
        row.time.strftime("%Y-%m-%d %H:%M:%S"),
        clean(row.name, 40).ljust(24),
        clean(row.principal, 60).ljust(28),
        clean(row.source_ip, 40).ljust(15),
        clean(row.region, 20).ljust(14),
        clean(row.error_code, 40),
        clean(row.resources, 160),
    )
    return "  ".join(cells).rstrip()


class Watch:
    def __init__(
        self,
        store: Store,
        scope: list[int] | None,
        sources: list[Source],
        f: Filter,
        key: str,
        fmt: str = "jsonl",
        command: list[str] | None = None,
        every: float | None = None,
    ) -> None:
        self.store = store
        self.scope = scope
        self.sources = [s for s in sources if s.follow is not None]
        self.f = f
        self.key = key
        self.fmt = fmt
        self.command = command
        lags = [s.follow.lag for s in self.sources if s.follow is not None]
        self.lag = max(lags, default=timedelta(minutes=15))
        hint = min((s.follow.every for s in self.sources if s.follow is not None), default=5.0)
        self.every = every if every is not None else hint
        self.stop = threading.Event()
        self.polled: dict[int, datetime] = {}
        self.printed = 0
        self._errors: set[str] = set()

    # ------------------------------------------------------------------ one round

    def poll_sources(self, since: datetime) -> datetime:
        """Poll every source from a little before its previous poll (``since`` the first
        time); the time this poll started."""
        from ..safe import clean
        from ..sources.base import SourceError, poll

        started = datetime.now(UTC)
        for src in self.sources:
            assert src.follow is not None
            prev = self.polled.get(id(src))
            start = since if prev is None else min(prev, started) - src.follow.lag
            try:
                if poll(self.store, src, self.f, start, self.stop.is_set):
                    self.polled[id(src)] = started
                    self._errors.discard(src.label)
            except (SourceError, Exception) as e:
                line = str(e) if isinstance(e, SourceError) else f"{type(e).__name__}: {e}"
                if src.label not in self._errors:  # once until it works again
                    self._errors.add(src.label)
                    sys.stderr.write(f"trailtui: {clean(src.label, 60)}: {clean(line, 300)}\n")
                    sys.stderr.flush()
        return started

    def unseen(self, state: WatchState) -> list[Row]:
        """Matching events since ``mark - lag`` not printed yet, oldest first."""
        lo = datetime.fromtimestamp((state.mark - self._lag_ms()) / 1000, tz=UTC)
        f = self.f.with_window(max(self.f.since, lo) if self.f.since else lo, None)
        rows: list[Row] = []
        offset = 0
        while True:
            page = self.store.window(f, offset, PAGE, self.scope)
            rows += [r for r in page if r.event_id not in state.seen]
            offset += len(page)
            if len(page) < PAGE:
                break
        rows.sort(key=lambda r: (r.ts, r.id))
        return rows

    def _lag_ms(self) -> int:
        return int(self.lag.total_seconds() * 1000)

    def emit(self, row: Row) -> None:
        raw = self.store.raw(row.id) or "{}"
        if self.fmt == "jsonl":
            from ..safe import json_escape_unsafe

            sys.stdout.write(json_escape_unsafe(raw) + "\n")
        else:
            sys.stdout.write(_line(row) + "\n")
        sys.stdout.flush()
        self.printed += 1
        if self.command:
            self.run_command(row, raw)

    def run_command(self, row: Row, raw: str) -> None:
        """The command with the raw event on stdin; a failure is one line on stderr."""
        from ..safe import clean

        assert self.command is not None
        what = f"--exec {clean(self.command[0], 80)} for event {clean(row.event_id, 80)}"
        try:
            done = subprocess.run(
                self.command,
                input=raw.encode(),
                timeout=EXEC_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            sys.stderr.write(f"trailtui: {what}: no such command\n")
        except PermissionError:
            sys.stderr.write(f"trailtui: {what}: not executable\n")
        except subprocess.TimeoutExpired:
            sys.stderr.write(
                f"trailtui: {what}: still running after {EXEC_TIMEOUT:.0f} s, killed\n"
            )
        except OSError as e:
            sys.stderr.write(f"trailtui: {what}: {clean(str(e), 200)}\n")
        else:
            if done.returncode != 0:
                sys.stderr.write(f"trailtui: {what}: exited with status {done.returncode}\n")
        sys.stderr.flush()

    def save(self, state: WatchState) -> None:
        state.prune(self._lag_ms())
        self.store.set_meta(self.key, state.dump())

    # ------------------------------------------------------------------ the loop

    def run(self, backlog: bool) -> None:
        state = WatchState.load(self.store.get_meta(self.key))
        now = datetime.now(UTC)
        first = state is None
        if state is None:
            mark = self.f.since if backlog and self.f.since else now
            state = WatchState(_ms(mark) + (self._lag_ms() if backlog else 0))
        since = datetime.fromtimestamp(state.mark / 1000, tz=UTC) - self.lag
        if backlog and self.f.since:
            since = min(since, self.f.since)
        while not self.stop.is_set():
            started = self.poll_sources(since)
            if self.stop.is_set():
                break
            rows = self.unseen(state)
            if first and not backlog:
                # the first run starts from now: what is there already counts as seen
                for r in rows:
                    state.seen[r.event_id] = r.ts
                rows = []
            for r in rows:
                if self.stop.is_set():
                    break
                self.emit(r)
                state.seen[r.event_id] = r.ts
            if not self.stop.is_set() or not rows:
                state.mark = max(state.mark, _ms(started))
            self.save(state)
            if first:
                first = False
                self._say_watching()
            self.stop.wait(self.every)
        self.save(state)

    def _say_watching(self) -> None:
        from ..safe import clean

        hows = "; ".join(dict.fromkeys(s.follow.how for s in self.sources if s.follow))
        sys.stderr.write(f"trailtui: watching ({clean(hows, 200)}); Ctrl-C stops\n")
        sys.stderr.flush()


def cmd_watch(args: argparse.Namespace) -> int:
    text = args.filter
    if args.bookmark:
        text = (bookmark_named(args.bookmark).filter_text() + " " + text).strip()
    f = build_filter(text, args.since)
    if f.until is not None:
        fail("watch follows events as they arrive: a filter with until: never gets new ones")
    if args.every is not None and args.every <= 0:
        fail("--every must be more than 0 seconds")
    command: list[str] | None = None
    if args.exec:
        try:
            command = shlex.split(args.exec)
        except ValueError as e:
            fail(f"--exec: {e}")
        if not command:
            fail("--exec: no command")
    if getattr(args, "demo", False):
        fail("nothing new arrives in the demo: watch --log-group G, --profile/--region or --from")
    opened = open_sources(args)
    followed = [s for s in opened.sources if s.follow is not None]
    if not followed:
        fail(
            "watch needs a source new events arrive in: --log-group G, --profile/--region, "
            "or --from s3://…|FOLDER"
        )
    key = state_key(" ".join(text.split()), opened.label)
    watch = Watch(opened.store, opened.scope, followed, f, key, args.format, command, args.every)
    _on_signals(watch.stop)
    try:
        watch.run(backlog=bool(args.since))
    except BrokenPipeError:
        import os

        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    finally:
        opened.store.close()
    return EXIT_OK


def _on_signals(stop: threading.Event) -> None:
    """SIGINT (Ctrl-C) and SIGTERM end the watch cleanly after the step in progress (its
    state saved); a second Ctrl-C stops at once."""

    def handler(signum: int, frame: FrameType | None) -> Any:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
