"""The one lazy-reader controller: whatever the sources are (LookupEvents, S3, folders, the
demo, and any source that speaks the Source protocol), the filter's window is read in a worker,
newest first, only while the list needs rows (more as the cursor nears the end); a new filter
cancels the read in flight; the status bar shows each source's progress. r reads what is new,
V verifies the window's log file integrity, F lists what was skipped and why."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

from textual import work
from textual.binding import Binding
from textual.worker import get_current_worker

from ..filter.language import Filter
from ..investigate.integrity import can_verify, verify_source
from ..sources.base import Source, SourceError, window_of
from .base import AHEAD, AppBase
from .screens.report import ReportScreen

REPAINT_EVERY = 0.3  # seconds: the list reloads ~3 times a second at most while pages land


class ReaderMixin(AppBase):
    sources: list[Source]

    READER_BINDINGS = [
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
        self.read_more()

    def read_more(self) -> None:
        if all(s.done(self.filter) for s in self.sources):
            self._reader_status(stopped=True)
            return
        self._read(self.filter)

    def reader_busy(self) -> bool:
        return any(w.group == "reader" and not w.is_finished for w in self.workers)

    @work(thread=True, exclusive=True, group="reader")
    def _read(self, f: Filter) -> None:
        worker = get_current_worker()
        last = [0.0]

        def gone() -> bool:
            return worker.is_cancelled or not self.is_running

        def progress() -> None:
            now = time.monotonic()
            if now - last[0] > REPAINT_EVERY and not gone():
                last[0] = now
                with contextlib.suppress(RuntimeError):
                    self.call_from_thread(self._landed)

        def enough() -> bool:
            """AHEAD rows past the cursor are in the store (the list itself repaints only a
            few times a second, so its count lags what has landed)."""
            try:
                cursor = self.call_from_thread(lambda: self.event_list.cursor)
            except RuntimeError:  # the app is closing
                return True
            return gone() or bool(self.store.window(f, cursor + AHEAD, 1, self.scope))

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
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._landed, errors, True)

    def _landed(self, errors: list[str] | None = None, stopped: bool = False) -> None:
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
        if not any(can_verify(s) for s in self.sources):
            self.notify(
                "verify needs trail log files in S3 (--from s3://…): the signatures of a synced"
                " folder's digests stay in S3's object metadata",
                severity="warning",
            )
            return
        self.notify("verifying the window's log files…", timeout=3)
        self._verify(self.filter)

    @work(thread=True, exclusive=True, group="verify")
    def _verify(self, f: Filter) -> None:
        start, end = window_of(f, self.now)
        start = start or end - timedelta(days=1)
        lines: list[str] = []
        ok = True
        for s in self.sources:
            result = verify_source(s, start, end)
            if result is not None:
                ok = ok and result[0]
                lines += result[1]
        title = f"Log file integrity {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC: " + (
            "valid" if ok else "PROBLEMS FOUND"
        )
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self.push_screen, ReportScreen(title, lines))

    def action_skipped(self) -> None:
        """The files and objects that were skipped (unreadable, truncated, not CloudTrail)."""
        rows = self.store.rejects()
        lines = [f"{where}: {reason}" for _, where, reason in rows]
        title = f"{len(rows)} skipped files, objects and records" if rows else "nothing skipped"
        self.push_screen(ReportScreen(title, lines or ["every file and record was read"]))
