"""The one lazy-reader controller: whatever the sources are (LookupEvents, S3, folders, the
demo, and any source that speaks the Source protocol), the filter's window is read in a worker,
newest first, only while the list needs rows (more as the cursor nears the end); a new filter
cancels the read in flight; the status bar shows each source's progress. r reads what is new,
V verifies the window's log file integrity, F lists what was skipped and why.

Follow (ctrl+t, or --follow) keeps the window's end at now, for any source that says how it is
followed (``Source.follow``): every few seconds each source refreshes and reads the window
from a little before its previous poll to now; the list re-reads and keeps the cursor on the
event it was on while new rows land above it, and the status bar counts the new events until
you go back to the top. The same key pauses."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding
from textual.timer import Timer
from textual.worker import get_current_worker

from ..filter.language import Filter
from ..store.store import Row

if TYPE_CHECKING:
    from ..sources.base import Source
from .base import AHEAD, AppBase

REPAINT_EVERY = 0.3  # seconds: the list reloads ~3 times a second at most while pages land
FOLLOW_TICK = 0.25  # seconds: how often follow mode looks whether a source is due


class ReaderMixin(AppBase):
    sources: list[Source]
    following = False
    follow_new = 0  # events that landed since you last went to the top of the list
    _follow_due: dict[int, float]  # id(source) -> when it is polled next (monotonic)
    _polled: dict[int, datetime]  # id(source) -> when its last poll started
    _follow_ticker: Timer | None = None
    _last_index = 0
    _declined: Filter | None = None  # a costly read the user said no to (not asked again)

    def __init__(self) -> None:
        super().__init__()
        self._follow_due = {}
        self._polled = {}

    READER_BINDINGS = [
        Binding("ctrl+t", "follow", "Follow", id="live.follow"),
        Binding("r", "refresh_sources", "Refresh", id="live.refresh"),
        Binding("V", "verify", "Verify", id="trail.verify"),
        Binding("F", "skipped", "Skipped files", show=False, id="trail.skipped"),
    ]

    def reader_filter_applied(self, f: Filter) -> None:
        """A new filter: the read in flight is cancelled and a new one starts (sources skip
        what the cache already holds)."""
        if not self.sources:
            return
        self.workers.cancel_group(self, "reader")
        self._declined = None
        self.follow_new = 0
        if self.following and f.until is not None:
            self.following = False
            self.notify("follow paused: the filter ends at until:", severity="warning")
        self._follow_status()
        self.read_more()

    def read_more(self) -> None:
        if all(s.done(self.filter) for s in self.sources):
            self._reader_status(stopped=True)
            return
        if self.filter == self._declined:
            return  # not asked again as the cursor moves
        self._read(self.filter)

    def reader_busy(self) -> bool:
        return any(w.group == "reader" and not w.is_finished for w in self.workers)

    @work(thread=True, exclusive=True, group="reader")
    def _read(self, f: Filter) -> None:
        # (the sources' protocol module: imported with the first read, not before the first frame)
        from ..sources.base import SourceError, needs_confirmation

        worker = get_current_worker()
        last = [0.0]

        def gone() -> bool:
            return worker.is_cancelled or not self.is_running

        def landed(errors: list[str] | None = None, stopped: bool = False) -> None:
            # following, events may land above the cursor: where its event is now
            place = self._place(f) if self.following else None
            with contextlib.suppress(RuntimeError):
                self.call_from_thread(self._landed, errors, stopped, place)

        def progress() -> None:
            now = time.monotonic()
            if now - last[0] > REPAINT_EVERY and not gone():
                last[0] = now
                landed()

        def enough() -> bool:
            """AHEAD rows past the cursor are in the store (the list itself repaints only a
            few times a second, so its count lags what has landed)."""
            try:
                cursor = self.call_from_thread(lambda: self.event_list.cursor)
            except RuntimeError:  # the app is closing
                return True
            return gone() or bool(self.store.window(f, cursor + AHEAD, 1, self.scope))

        # a read that costs (Athena with no time window) asks first (the source may look its
        # table up to say what it would scan: here, off the UI thread)
        asks = [a for a in (needs_confirmation(s, f) for s in self.sources) if a]
        if asks:
            with contextlib.suppress(RuntimeError):
                self.call_from_thread(self._ask_to_read, f, asks)
            return
        errors: list[str] = []
        for src in self.sources:
            try:
                src.read(self.store, f, progress, gone, enough)
            except SourceError as e:
                errors.append(str(e))
            except Exception as e:  # a backend's own error: one line, the rest goes on
                errors.append(f"{src.label}: {type(e).__name__}: {e}")
            if gone():
                return
        landed(errors, True)

    def _place(self, f: Filter) -> tuple[Row, int, int] | None:
        """(In a worker) the cursor's event, its row, and its row now (None: not known)."""
        try:
            lst = self.event_list
            row, at = self.call_from_thread(lambda: (lst.current, lst.cursor))
        except RuntimeError:  # the app is closing
            return None
        index = None if row is None else self.store.index_of(f, row.id, row.ts, self.scope)
        return None if row is None or index is None else (row, at, index)

    def _ask_to_read(self, f: Filter, asks: list[str]) -> None:
        from .screens.confirm import ConfirmScreen

        if (
            f != self.filter
            or f == self._declined  # said no while another read of it was on its way
            or self.closing()
            or isinstance(self.screen, ConfirmScreen)
        ):
            return
        key = next(
            (k for k, b in self.active_bindings.items() if b.binding.action == "cycle_window"),
            "w",
        )

        from ..sources.base import confirm

        def answered(yes: bool | None) -> None:
            if f != self.filter or self.closing():
                return
            if yes:
                for src in self.sources:
                    confirm(src, f)
                self._read(f)
                return
            self._declined = f
            # where the sources' progress goes (a message would be cut off the bar's end)
            self.status.set(
                busy="",
                live=f"nothing was scanned: no time window · press {key} for one, "
                "or type since: (since:7d)",
            )

        self.status.set(live="asking before a query with no time window…")
        self.push_screen(ConfirmScreen("Run this query?", asks), answered)

    def _landed(
        self,
        errors: list[str] | None = None,
        stopped: bool = False,
        place: tuple[Row, int, int] | None = None,
    ) -> None:
        if self.closing():
            return
        if place is not None:  # following: what landed above the cursor is new
            row, at, index = place
            self._reload_keeping(row, at, index, max(index - at, 0))
            if index > at and self.following:
                self.follow_new += index - at
                self._follow_status()
        else:
            self.event_list.reload()
        self._reader_status(stopped)
        if errors:
            self.status.set(message=errors[0], error=True)
        self.refresh_coverage()

    def _reader_status(self, stopped: bool = False) -> None:
        text = " | ".join(t for t in (s.status() for s in self.sources) if t)
        if stopped and not all(s.done(self.filter) for s in self.sources):
            text += " · paused (more as you scroll)"
        self.status.set(live=text)

    def near_the_end(self) -> None:
        """The cursor moved: read on when the list runs short of rows ahead."""
        if self.sources and self.wants_more() and not self.reader_busy():
            self.read_more()

    def action_refresh_sources(self) -> None:
        """r: look again for what is new (new objects, files, events since the last fetch)."""
        if not self.sources:
            self.notify(
                "nothing to refresh: open a source (--profile/--region, --from PATH|s3://…)",
                severity="warning",
            )
            return
        for s in self.sources:
            s.refresh()
        self.apply_filter(self.filter_text)

    # ------------------------------------------------------------------ verify / skipped

    def action_verify(self) -> None:
        """Validate the log file integrity of the window (as aws cloudtrail validate-logs)."""
        if not any(s.verifiable for s in self.sources):
            self.notify(
                "verify needs trail log files with their digests (--from s3://… or a synced"
                " AWSLogs folder)",
                severity="warning",
            )
            return
        self.notify("verifying the window's log files…", timeout=3)
        self._verify(self.filter)

    @work(thread=True, exclusive=True, group="verify")
    def _verify(self, f: Filter) -> None:
        from ..investigate.integrity import verify_source
        from ..sources.base import window_of

        start, end = window_of(f, self.now)
        start = start or end - timedelta(days=1)
        lines: list[str] = []
        ok = True
        for s in self.sources:
            result = verify_source(s, start, end, self.store)  # results kept: detail says
            if result is not None:
                ok = ok and result[0]
                lines += result[1]
        from .screens.report import ReportScreen

        title = f"Log file integrity {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC: " + (
            "valid" if ok else "PROBLEMS FOUND"
        )
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self.checks_recorded)
            self.call_from_thread(self.push_screen, ReportScreen(title, lines))

    def action_skipped(self) -> None:
        """The files and objects that were skipped (unreadable, truncated, not CloudTrail)."""
        from .screens.report import ReportScreen

        rows = self.store.rejects()
        lines = [f"{where}: {reason}" for _, where, reason in rows]
        title = f"{len(rows)} skipped files, objects and records" if rows else "nothing skipped"
        self.push_screen(ReportScreen(title, lines or ["every file and record was read"]))

    # ------------------------------------------------------------------ follow

    def followed_sources(self) -> list[Source]:
        return [s for s in self.sources if s.follow is not None]

    def action_follow(self) -> None:
        """ctrl+t: keep the window's end at now (again: pause)."""
        if self.following:
            self.following = False
            self._follow_status()
            return
        if not self.followed_sources():
            self.notify(
                "nothing to follow: open a source new events arrive in (--log-group, "
                "--profile/--region, --from s3://… or a folder)",
                severity="warning",
            )
            return
        if self.filter.until is not None:
            self.notify(
                "follow keeps the window's end at now: take until: out of the filter",
                severity="warning",
            )
            return
        self.following = True
        if self._follow_ticker is None:
            self._follow_ticker = self.set_interval(FOLLOW_TICK, self._follow_tick)
        self._follow_status()
        self._follow_tick()

    def _follow_tick(self) -> None:
        if not self.following or self.reader_busy() or self.filter.until is not None:
            return
        now = time.monotonic()
        due = [s for s in self.followed_sources() if self._follow_due.get(id(s), 0.0) <= now]
        if not due:
            return
        lst = self.event_list
        if lst.settling():
            return  # the cursor's row is being re-read: the poll must know which event it is on
        self._poll(self.filter, due, lst.current, lst.cursor)

    @work(thread=True, exclusive=True, group="reader")
    def _poll(self, f: Filter, due: list[Source], row: Row | None, at: int) -> None:
        from ..sources.base import SourceError, poll, poll_filter

        """One poll: each due source refreshes and reads from a little before its previous
        poll to now (the store drops what it holds); then how many events landed, and where
        the cursor's event is now."""
        worker = get_current_worker()

        def gone() -> bool:
            return worker.is_cancelled or not self.is_running

        started = datetime.now(UTC)
        plans = []
        for src in due:
            assert src.follow is not None
            since = min(self._polled.get(id(src), started), started) - src.follow.lag
            plans.append((src, poll_filter(f, since)))
        counted = poll_filter(f, min(p.since or started for _, p in plans))
        before = self.store.count(counted, self.scope)
        errors: list[str] = []
        for src, pf in plans:
            try:
                assert pf.since is not None
                if poll(self.store, src, f, pf.since, gone):
                    self._polled[id(src)] = started
            except SourceError as e:
                errors.append(str(e))
            except Exception as e:  # a backend's own error: one line, the rest goes on
                errors.append(f"{src.label}: {type(e).__name__}: {e}")
            if gone():
                return
        added = self.store.count(counted, self.scope) - before
        index = None
        if added and row is not None:
            index = self.store.index_of(f, row.id, row.ts, self.scope)
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._followed, f, due, added, row, at, index, errors)

    def _followed(
        self,
        f: Filter,
        due: list[Source],
        added: int,
        row: Row | None,
        at: int,
        index: int | None,
        errors: list[str],
    ) -> None:
        now = time.monotonic()
        for src in due:
            assert src.follow is not None
            self._follow_due[id(src)] = now + src.follow.every
        if f != self.filter or self.closing():
            return  # a new filter while polling: its own list
        if added > 0:
            self._reload_keeping(row, at, index, added)
            self.follow_new += added
            self._reader_status()
            self.refresh_coverage()
            self.call_after_refresh(self.relayout)
        self._follow_status(errors[0] if errors else "")

    def _reload_keeping(self, row: Row | None, at: int, index: int | None, added: int) -> None:
        """The list re-read after ``added`` events landed; the cursor kept on the event it was
        on at ``at`` (now at ``index``) if it is still there: not moved since (its row may be
        being re-read, or hold another event already if the list was re-read with the new
        ones), or moved and back on it."""
        lst = self.event_list
        current = lst.current
        same = row is not None and (
            lst.cursor == at or (current is not None and current.id == row.id)
        )
        if same and index is not None:
            lst.rows_added(index, added)
        else:
            lst.reload()

    def follow_looked(self, index: int) -> None:
        """The cursor moved (index): back at the top, the new events have been seen."""
        if index == 0 and self._last_index != 0 and self.follow_new:
            self.follow_new = 0
            self._follow_status()
        self._last_index = index

    def _follow_status(self, error: str = "") -> None:
        new = f" · {self.follow_new:,} new (g: newest)" if self.follow_new else ""
        if self.following:
            hows = [s.follow.how for s in self.followed_sources() if s.follow is not None]
            how = "; ".join(dict.fromkeys(hows))
            text = f"▶ following: {how}{new} · ctrl+t pauses"
        elif self.follow_new:
            text = f"⏸ follow paused{new} · ctrl+t resumes"
        else:
            text = ""
        self.status.set(follow=text)
        if error:
            self.status.set(message=error, error=True)
