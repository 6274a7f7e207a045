"""Can the window be trusted, in the explorer: the tampering calls and delivery gaps of the
window (status bar and histogram), what the cache holds (status bar), the Sigma detections
screen (D) and the tampering bookmark (T)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from ..evidence.tomlfile import BookmarkError
from ..filter.language import Filter
from ..safe import clean
from .base import AppBase
from .widgets.histogram import Histogram
from .widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from ..sources.base import Source
    from .screens.detections import DetectionsScreen

GAP_MIN = timedelta(minutes=30)  # a delivery gap the explorer shows


class TrustMixin(AppBase):
    sources: list[Source]
    rules: Path  # Sigma rules (D)

    @work(thread=True, exclusive=True, group="trust")
    def _trust(self, f: Filter) -> None:
        """Can the window be trusted: tampering calls (the status bar says the first, the
        histogram flags each) and delivery gaps of the trail files read so far (shaded)."""
        from ..investigate.gaps import deliveries, find_gaps
        from ..investigate.tampering import find, summary
        from ..sources.base import LogFiles

        buckets = [b for s in self.sources if (b := getattr(s, "bucket", ""))]
        try:
            found = find(self.store, f, self.scope, buckets)
        except sqlite3.OperationalError:
            return
        names = [n for s in self.sources if isinstance(s, LogFiles) for n in s.listed()]
        gaps = find_gaps(deliveries(names), GAP_MIN, found, (f.since, f.until))
        parts = []
        if found:
            parts.append(summary(found) + " (T lists them)")
        if gaps:
            g = max(gaps, key=lambda g: g.minutes)
            more = f" (+{len(gaps) - 1} more)" if len(gaps) > 1 else ""
            parts.append(
                f"no log files from {g.account} {g.region} {g.start:%m-%d %H:%M}–{g.end:%H:%M}"
                f"{more}"
            )
        flags = [int(x.time.timestamp() * 1000) for x in found]
        spans = [(int(g.start.timestamp() * 1000), int(g.end.timestamp() * 1000)) for g in gaps]
        if self.is_running:
            self.call_from_thread(self._set_trust, "; ".join(parts), flags, spans)

    def _set_trust(self, line: str, flags: list[int], gaps: list[tuple[int, int]]) -> None:
        for bar in self.query(StatusBar):
            bar.set(trust=line)
        for hist in self.query(Histogram):
            hist.set_flags(flags)
            hist.set_gaps(gaps)

    def action_detections(self) -> None:
        """D: the Sigma rules (--rules, or the config dir's rules folder) over the window."""
        from .screens.detections import DetectionsScreen

        path = self.rules
        if not path.exists() or (path.is_dir() and not any(path.rglob("*.y*ml"))):
            self.notify(
                f"no Sigma rules in {path}: start with --rules PATH, or put .yml rules there "
                "(SigmaHQ's CloudTrail rules: rules/cloud/aws/cloudtrail of "
                "github.com/SigmaHQ/sigma)",
                severity="warning",
                markup=False,
                timeout=10,
            )
            return
        f = self.filter
        if f.since is None and f.until is None:
            label = "everything cached"
        else:
            a = f"{f.since:%Y-%m-%d %H:%M}" if f.since else "the start"
            b = f"{f.until:%Y-%m-%d %H:%M}" if f.until else "now"
            label = f"{a} → {b}"
        self.push_screen(
            DetectionsScreen(self.store, path, f, label, self.scope), self._detection_chosen
        )

    def _detection_chosen(self, text: str | None) -> None:
        if text:
            self.set_filter_text(text)

    def on_detections_screen_marks(self, msg: DetectionsScreen.Marks) -> None:
        for hist in self.query(Histogram):
            hist.set_marks(msg.times)

    def action_tampering(self) -> None:
        """T: the built-in `tampering` bookmark (yours, if you saved one by that name)."""
        try:
            b = self.bookmarks.get("tampering")
        except BookmarkError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        if self.filter_text.strip() == b.filter.strip():
            self.set_filter_text("")
        else:
            self.set_filter_text(b.filter)

    @work(thread=True, exclusive=True, group="coverage")
    def _coverage(self) -> None:
        total = self.store.count(Filter(), self.scope)
        rng = self.store.time_range(self.scope)
        text = f"{clean(self.label, 40)}: {total:,} cached"
        if rng:
            a, b = (datetime.fromtimestamp(x / 1000, tz=UTC) for x in rng)
            text += f", {a:%Y-%m-%d} → {b:%Y-%m-%d}"
        if self.is_running:
            self.call_from_thread(self._set_coverage, text)

    def _set_coverage(self, text: str) -> None:
        for bar in self.query(StatusBar):
            bar.set(coverage=text)
