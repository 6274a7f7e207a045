"""What the explorer's parts share: the state, the widgets by role, and applying a filter.
The App is split along its seams: investigations and evidence are mixins on this base."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from textual import work
from textual.app import App

from ..evidence.bookmarks import Bookmarks
from ..evidence.cases import Case
from ..filter.language import Filter, FilterSyntaxError, parse
from ..store.store import Store
from .widgets.detail import DetailView
from .widgets.event_list import EventList
from .widgets.filter_bar import FilterBar
from .widgets.status_bar import StatusBar

WINDOWS: list[tuple[str, timedelta | None]] = [
    ("all", None),
    ("1h", timedelta(hours=1)),
    ("24h", timedelta(hours=24)),
    ("7d", timedelta(days=7)),
    ("30d", timedelta(days=30)),
]


AHEAD = 300  # rows fetched ahead of the cursor before a lazy source pauses


class AppBase(App[int]):
    store: Store
    scope: Sequence[int] | None
    label: str
    fixed_now: datetime | None
    filter_text: str
    filter: Filter
    window_index: int
    bookmarks: Bookmarks
    case: Case

    @property
    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)

    def closing(self) -> bool:
        """The explorer's widgets are gone (the app is closing: messages still queued then
        reach handlers that would look for them)."""
        return not self.query(EventList)

    @property
    def event_list(self) -> EventList:
        return self.query_one(EventList)

    @property
    def bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    @property
    def detail(self) -> DetailView:
        return self.query_one(DetailView)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    # ------------------------------------------------------------------ filter

    def effective(self, text: str) -> Filter:
        f = parse(text, self.now)
        span = WINDOWS[self.window_index][1]
        if span is not None and f.since is None:
            f = f.with_window(self.now - span, f.until)
        return f

    def apply_filter(self, text: str) -> bool:
        try:
            f = self.effective(text)
        except FilterSyntaxError as e:
            self.bar.show_error(f"{e}")
            self.status.set(message=f"filter: {e}", error=True)
            return False
        self.bar.show_error(None)
        self.filter_text = text
        self.filter = f
        self.status.set(matches="counting…", busy="loading", message="")
        self.workers.cancel_group(self, "histogram")
        self.event_list.set_filter(f)
        self.filter_applied(f)
        return True

    def filter_applied(self, f: Filter) -> None:
        """A new filter is on screen (sources that fetch lazily start here)."""

    def wants_more(self) -> bool:
        """Lazy sources read on while the list has fewer rows than this ahead of the cursor."""
        lst = self.event_list
        return lst.row_count - lst.cursor < AHEAD

    def refresh_coverage(self) -> None:
        """Say again what the cache holds (after new events landed)."""

    def checks_recorded(self) -> None:
        """verify kept its results in the cache (the detail view says them)."""

    def relayout(self) -> None:
        """The column header and the histogram again (new size, new events)."""

    def on_filter_bar_applied(self, msg: FilterBar.Applied) -> None:
        if self.apply_filter(msg.text):
            self.event_list.focus()

    def set_filter_text(self, text: str) -> None:
        self.bar.set_text(text)
        self.apply_filter(text)

    # ------------------------------------------------------------------ locating events

    def _open_event(self, event_id: str | None) -> None:
        """Put the cursor on an event: in the current list if it matches, else show it alone."""
        if not event_id:
            return
        self._locate(event_id, self.filter)

    @work(thread=True, exclusive=True, group="locate")
    def _locate(self, event_id: str, f: Filter, fallback: str | None = None) -> None:
        rowid = self.store.rowid_of(event_id)
        row = self.store.row(rowid) if rowid is not None else None
        if row is None:
            return
        idx = self.store.index_of(f, row.id, row.ts, self.scope)
        if idx is None:
            text = fallback or f"id:{event_id}"
            self.call_from_thread(self._refilter_and_locate, text, event_id)
            return
        self.call_from_thread(self._jump, idx)

    def _jump(self, index: int) -> None:
        for lst in self.query(EventList):
            lst.jump_to(index)

    def _refilter_and_locate(self, text: str, event_id: str) -> None:
        self.set_filter_text(text)
        self._locate(event_id, self.filter, fallback=f"id:{event_id}")
