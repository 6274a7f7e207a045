"""Live LookupEvents in the explorer: the filter's window is fetched page by page in a
worker, more as the list nears its end; a new filter cancels the fetch in flight."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from textual import work
from textual.binding import Binding
from textual.worker import get_current_worker

from ..filter.language import Filter
from ..sources.lookup import Fetcher, Target, build_fetchers, fetch_all, plan_for
from .base import AppBase


@dataclass
class LiveSource:
    targets: Sequence[Target]
    endpoint_url: str | None = None
    fetchers: list[Fetcher] = field(default_factory=list)
    filter: Filter | None = None
    full_scan: bool = False


class LiveMixin(AppBase):
    live: LiveSource | None

    LIVE_BINDINGS = [Binding("r", "refresh_live", "Refresh", id="live.refresh")]

    def live_filter_applied(self, f: Filter) -> None:
        """Plan the fetch for a new filter (the old one is cancelled) and start it."""
        if self.live is None:
            return
        self.workers.cancel_group(self, "live")
        end = f.until or datetime.now(UTC)
        start = f.since or end
        plan = plan_for(f)
        self.live.filter = f
        self.live.full_scan = plan.full_scan
        self.live.fetchers = build_fetchers(
            self.store, self.live.targets, plan, start, end, self.live.endpoint_url
        )
        self.live_more()

    def live_more(self) -> None:
        if self.live is None or all(fe.done for fe in self.live.fetchers):
            self._live_status()
            return
        self._live_fetch(self.live.fetchers)

    @work(thread=True, exclusive=True, group="live")
    def _live_fetch(self, fetchers: list[Fetcher]) -> None:
        worker = get_current_worker()
        last = [0.0]

        def on_page(_: Fetcher) -> None:
            now = time.monotonic()
            if now - last[0] > 0.3 and self.is_running:  # repaint ~3 times a second at most
                last[0] = now
                with contextlib.suppress(RuntimeError):
                    self.call_from_thread(self._live_landed)

        def enough() -> bool:
            try:
                return not self.call_from_thread(self.wants_more)
            except RuntimeError:  # the app is closing
                return True

        errors = fetch_all(
            fetchers,
            cancelled=lambda: worker.is_cancelled or not self.is_running,
            on_page=on_page,
            enough=enough,
        )
        if worker.is_cancelled or not self.is_running:
            return
        self.call_from_thread(self._live_landed, errors)

    def _live_landed(self, errors: list[str] | None = None) -> None:
        self.event_list.reload()
        self._live_status(errors)
        self.refresh_coverage()

    def _live_status(self, errors: list[str] | None = None) -> None:
        if self.live is None:
            return
        fs = self.live.fetchers
        busy = [fe.target.region for fe in fs if not fe.done]
        pages = sum(fe.stats.pages for fe in fs)
        if errors:
            self.status.set(message=errors[0], error=True)
        text = ""
        if busy:
            regions = ", ".join(sorted(set(busy)))
            text = f"fetching {regions}: {pages} pages so far"
        elif fs:
            cached = sum(1 for fe in fs if fe.stats.skipped)
            text = "window complete" + (
                f" ({cached} of {len(fs)} from the cache)" if cached else ""
            )
        if self.live.full_scan:
            text += " · full scan (no equality to push to the API)"
        self.status.set(live=text)
