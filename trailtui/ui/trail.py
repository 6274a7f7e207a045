"""Trail log files in the explorer (S3 buckets): read newest first in a worker, a few objects
in parallel, and only while the list needs rows (more as the cursor nears the end); the status
bar shows objects and bytes done, the rate and the time left. V verifies the window's log
file integrity, F lists the objects that were skipped and why."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from textual import work
from textual.binding import Binding
from textual.worker import get_current_worker

from ..filter.language import Filter
from ..sources.folder import FolderTrail
from ..sources.progress import ReadStats
from ..sources.s3 import S3Trail
from .base import AHEAD, AppBase
from .screens.report import ReportScreen


@dataclass
class TrailSource:
    trails: list[S3Trail | FolderTrail]
    profile: str | None = None
    region: str | None = None
    window: tuple[datetime | None, datetime] | None = None


class TrailMixin(AppBase):
    trail: TrailSource | None

    TRAIL_BINDINGS = [
        Binding("V", "verify", "Verify", id="trail.verify"),
        Binding("F", "skipped", "Skipped files", show=False, id="trail.skipped"),
    ]

    def trail_filter_applied(self, f: Filter) -> None:
        """A new window (or filter) reads from the newest object again, skipping what is
        cached; the read in flight is cancelled."""
        if self.trail is None:
            return
        self.workers.cancel_group(self, "trail")
        self.trail.window = (f.since, f.until or datetime.now(UTC))
        self.trail_more()

    def trail_more(self) -> None:
        if self.trail is None or self.trail.window is None:
            return
        if all(t.done_for(self.trail.window) for t in self.trail.trails):
            self._trail_status()
            return
        self._trail_read(self.trail.window)

    @work(thread=True, exclusive=True, group="trail")
    def _trail_read(self, window: tuple[datetime | None, datetime]) -> None:
        assert self.trail is not None
        worker = get_current_worker()
        last = [0.0]

        def gone() -> bool:
            return worker.is_cancelled or not self.is_running

        def progress(_: ReadStats) -> None:
            now = time.monotonic()
            if now - last[0] > 0.3 and not gone():  # repaint ~3 times a second at most
                last[0] = now
                with contextlib.suppress(RuntimeError):
                    self.call_from_thread(self._trail_landed)

        def enough() -> bool:
            """AHEAD rows past the cursor are in the store (the list itself repaints only a
            few times a second, so its count lags what has landed)."""
            try:
                f, cursor = self.call_from_thread(lambda: (self.filter, self.event_list.cursor))
            except RuntimeError:  # the app is closing
                return True
            return gone() or bool(self.store.window(f, cursor + AHEAD, 1, self.scope))

        error = ""
        for trail in self.trail.trails:
            try:
                trail.ingest(self.store, window[0], window[1], progress, gone, enough)
            except Exception as e:  # S3 problems: one line in the status bar
                error = f"{trail.label}: {type(e).__name__}: {e}"
        if gone():
            return
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._trail_landed, error, True)

    def _trail_landed(self, error: str = "", stopped: bool = False) -> None:
        self.event_list.reload()
        self._trail_status(stopped)
        if error:
            self.status.set(message=error, error=True)
        self.refresh_coverage()

    def _trail_status(self, stopped: bool = True) -> None:
        if self.trail is None:
            return
        lines = [
            ("S3 " if isinstance(t, S3Trail) else "") + t.stats.progress_line()
            for t in self.trail.trails
        ]
        text = " | ".join(lines)
        if stopped and not all(t.stats.done for t in self.trail.trails):
            text += " · paused (more as you scroll)"
        self.status.set(live=text)

    def trail_refresh(self) -> None:
        """r: list the window's days again (new objects) and read what is new."""
        assert self.trail is not None
        for t in self.trail.trails:
            t.reset()
        self.apply_filter(self.filter_text)

    # ------------------------------------------------------------------ verify / skipped

    def action_verify(self) -> None:
        """Validate the log file integrity of the window (as aws cloudtrail validate-logs)."""
        if self.trail is None or not any(isinstance(t, S3Trail) for t in self.trail.trails):
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
        from datetime import timedelta

        from ..investigate.integrity import check, render

        assert self.trail is not None
        end = f.until or datetime.now(UTC)
        start = f.since or end - timedelta(days=1)
        lines: list[str] = []
        ok = True
        for t in self.trail.trails:
            if not isinstance(t, S3Trail):
                continue
            fresh = S3Trail(t.client, t.location)  # its own listing counters
            try:
                report = check(fresh, start, end, self.trail.profile, self.trail.region)
            except Exception as e:
                lines.append(f"s3://{t.location.bucket}: {type(e).__name__}: {e}")
                ok = False
                continue
            ok = ok and report.ok
            lines += [f"s3://{t.location.bucket}/{t.location.prefix}", *render(report), ""]
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
