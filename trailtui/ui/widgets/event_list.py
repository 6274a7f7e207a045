"""The event list: a line-by-line ScrollView that reads only the rows on screen.

Rows come from the store in pages of ``PAGE`` (newest first). A page that is not loaded
yet renders as a dim placeholder and is fetched by a thread worker; the widget never holds
more than the pages near the viewport. Every field is untrusted: cells go through
``safe.clean`` and become plain Segments (never markup).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from ...filter.language import Filter
from ...safe import clean
from ...store.store import Row, Store

PAGE = 100
KEEP_PAGES = 40


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int  # 0 = takes the rest


ALL_COLUMNS = [
    Column("time (UTC)", 19),
    Column("event", 22),
    Column("who", 28),
    Column("source IP", 15),
    Column("region", 14),
    Column("error", 16),
    Column("resources", 0),
]
# dropped first when the width is short
DROP_ORDER = ("region", "source IP", "error")
MIN_REST = 12


PLAIN, DIM, RED = Style(), Style(dim=True), Style(color="red")
CURSOR, CURSOR_FOCUSED = Style(reverse=True, bold=False), Style(reverse=True, bold=True)


@lru_cache(maxsize=8)
def layout(width: int) -> tuple[Column, ...]:
    """Columns that fit the width; the resources column takes what is left."""
    cols = list(ALL_COLUMNS)
    for title in DROP_ORDER:
        if sum(c.width + 1 for c in cols if c.width) + MIN_REST <= width:
            break
        cols = [c for c in cols if c.title != title]
    return tuple(cols)


def cells(row: Row) -> dict[str, str]:
    return {
        "time (UTC)": row.time.strftime("%Y-%m-%d %H:%M:%S"),
        "event": row.name,
        "who": row.principal,
        "source IP": row.source_ip,
        "region": row.region,
        "error": row.error_code,
        "resources": row.resources,
    }


def fit(text: str, width: int) -> str:
    text = clean(text, 400)
    if cell_len(text) > width:
        return set_cell_size(text, max(width - 1, 0)) + "…"
    return set_cell_size(text, width)


def header_line(width: int) -> str:
    parts = []
    rest = width
    for c in layout(width):
        w = c.width or max(rest, 0)
        parts.append(fit(c.title, w))
        rest -= w + 1
    return " ".join(parts)


class EventList(ScrollView, can_focus=True):
    """Events matching the current filter, newest first."""

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="list.up"),
        Binding("pagedown,ctrl+f", "page_down", "PgDn", show=False, id="list.page_down"),
        Binding("pageup,ctrl+b", "page_up", "PgUp", show=False, id="list.page_up"),
        Binding("g,home", "first", "First", show=False, id="list.first"),
        Binding("G,end", "last", "Last", show=False, id="list.last"),
    ]

    DEFAULT_CSS = """
    EventList { scrollbar-size-vertical: 1; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another event (row is None when the list is empty)."""

        row: Row | None
        index: int

    @dataclass
    class PageLoaded(Message):
        generation: int
        page: int
        rows: list[Row]

    @dataclass
    class Counted(Message):
        generation: int
        count: int

    def __init__(self, store: Store, scope: Sequence[int] | None = None, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.store = store
        self.scope = scope
        self.filter = Filter()
        self.generation = 0
        self.pages: dict[int, list[Row]] = {}
        self.pending: set[int] = set()
        self.total: int | None = None  # None while counting
        self.known = 0  # rows known to exist (before the count arrives)
        self.want_cursor: int | None = None  # a jump waiting for its rows
        self._base: Style | None = None  # the widget's style, as the last render found it

    # ------------------------------------------------------------------ data

    @property
    def row_count(self) -> int:
        return self.total if self.total is not None else self.known

    def set_filter(self, f: Filter) -> None:
        """Show a new filter: drop the pages, fetch the first one and the count."""
        self.filter = f
        self.generation += 1
        # stop the old filter's count now: its query would compete with the new first window
        self.workers.cancel_group(self, "list-count")
        self.pages.clear()
        self.pending.clear()
        self.total = None
        self.known = 0
        self.want_cursor = None
        self.cursor = 0
        self.scroll_to(0, 0, animate=False)
        self.virtual_size = Size(self.size.width, 0)
        ready = self.store.take_prefetched(f, 0, PAGE, self.scope)
        if ready is not None:
            # read while the app was starting: on screen with the first paint
            self._apply_page(0, ready)
            self.post_message(self.PageLoaded(self.generation, 0, ready))
        else:
            self._fetch(0)  # the count starts once the first window is on screen
        self.refresh()

    def reload(self) -> None:
        """The data under the same filter changed (a live fetch landed): re-read it, keep
        the cursor where it is."""
        self.generation += 1
        self.workers.cancel_group(self, "list-count")
        self.pages.clear()
        self.pending.clear()
        # the rows only grow under a lazy fetch: what was counted is there still
        self.known = max(self.known, self.total or 0, self.cursor + 1)
        self.total = None
        self._fetch(0)
        if self.cursor >= PAGE:
            self._fetch(self.cursor // PAGE)
        self.refresh()

    def rows_added(self, index: int, added: int) -> None:
        """``added`` rows landed under the same filter (follow mode) and the cursor's event
        is now at ``index``: re-read and keep the cursor on that event. A view at the top
        stays at the top, so the new rows show; one scrolled down moves with its rows, so
        nothing on screen jumps."""
        shift = max(index - self.cursor, 0)
        top = int(self.scroll_offset.y)
        old = self.row_count
        self.reload()
        self.known = max(old + added, index + 1)
        self._resize()
        self.set_reactive(EventList.cursor, index)  # the same event: no Highlighted to send
        h = max(self.size.height, 1)
        if top == 0 and index < h:
            pass
        elif top == 0:
            self.scroll_to(y=index - h + 1, animate=False)
        else:
            self.scroll_to(y=top + shift, animate=False)
        self._fetch(index // PAGE)
        self.refresh()

    def row_at(self, index: int) -> Row | None:
        page = self.pages.get(index // PAGE)
        if page is None:
            return None
        i = index % PAGE
        return page[i] if i < len(page) else None

    @property
    def current(self) -> Row | None:
        return self.row_at(self.cursor)

    def settling(self) -> bool:
        """The cursor's page is being (re-)read: ``current`` is not known for now."""
        return self.cursor // PAGE in self.pending

    def _fetch(self, page: int) -> None:
        if page in self.pending or page in self.pages:
            return
        self.pending.add(page)
        self._load_page(self.generation, self.filter, page)

    @work(thread=True, group="list-page")
    def _load_page(self, generation: int, f: Filter, page: int) -> None:
        worker = get_current_worker()
        rows = self.store.window(f, page * PAGE, PAGE, self.scope)
        if not worker.is_cancelled:
            self.post_message(self.PageLoaded(generation, page, rows))

    def _start_count(self, generation: int) -> None:
        if generation == self.generation and self.total is None:
            self._count(generation, self.filter)

    @work(thread=True, exclusive=True, group="list-count")
    def _count(self, generation: int, f: Filter) -> None:
        worker = get_current_worker()
        try:
            n = self.store.count(f, self.scope, cancelled=lambda: worker.is_cancelled)
        except sqlite3.OperationalError:
            return  # superseded by a newer filter
        if not worker.is_cancelled:
            self.post_message(self.Counted(generation, n))

    def on_event_list_page_loaded(self, msg: PageLoaded) -> None:
        if msg.generation != self.generation or msg.page in self.pages:
            return
        self._apply_page(msg.page, msg.rows)

    def _apply_page(self, page: int, rows: list[Row]) -> None:
        self.pending.discard(page)
        self.pages[page] = rows
        if self.total is None:
            end = page * PAGE + len(rows)
            self.known = max(self.known, end)
            if len(rows) < PAGE:
                self.total = end
                self.post_message(self.Counted(self.generation, end))
            elif page == 0:
                # counted once the first window is on screen (at start the window is read
                # ahead: counting 1M rows then competed with the first frame)
                self.call_after_refresh(self._start_count, self.generation)
            self._resize()
        self._evict()
        if page * PAGE <= self.cursor < (page + 1) * PAGE:
            self._announce()
        self._settle_jump()
        self.refresh()

    def on_event_list_counted(self, msg: Counted) -> None:
        msg.stop()
        if msg.generation != self.generation:
            return
        self.total = msg.count
        self._resize()
        self.cursor = min(self.cursor, max(self.total - 1, 0))
        self._announce()
        self._settle_jump()
        self.refresh()

    def jump_to(self, index: int) -> None:
        """Put the cursor on a row that may not be loaded (or counted) yet."""
        self.want_cursor = index
        self._fetch(index // PAGE)
        self._settle_jump()

    def _settle_jump(self) -> None:
        want = self.want_cursor
        if want is not None and (want < self.row_count or (self.pages.get(want // PAGE))):
            self.known = max(self.known, want + 1)
            self._resize()
            self.want_cursor = None
            self.cursor = want
            self.scroll_to(y=max(want - self.size.height // 2, 0), animate=False)

    def _resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.row_count)

    def _evict(self) -> None:
        if len(self.pages) <= KEEP_PAGES:
            return
        here = self.cursor // PAGE
        for p in sorted(self.pages, key=lambda p: abs(p - here), reverse=True):
            if len(self.pages) <= KEEP_PAGES:
                break
            del self.pages[p]

    # ------------------------------------------------------------------ rendering

    def on_resize(self) -> None:
        self._resize()

    def render_lines(self, crop: Region) -> list[Strip]:
        # the widget's style, once a render (Textual works it out from every ancestor's CSS
        # on each call: ~0.15 ms, a line of its own)
        self._base = self.rich_style
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.size.width
        base = self._base if self._base is not None else self.rich_style
        if index >= self.row_count:
            if index == 0 and self.total == 0:
                return Strip([Segment(fit("  no events match", width), DIM)])
            return Strip.blank(width, base)
        row = self.row_at(index)
        if row is None:
            self._fetch(index // PAGE)
            return Strip([Segment(fit("  …", width), DIM)])
        # prefetch the next page when the viewport nears its end
        nxt = (index + self.size.height) // PAGE
        if nxt not in self.pages and nxt * PAGE < self.row_count:
            self._fetch(nxt)
        selected = index == self.cursor
        style = RED if row.error_code else PLAIN
        if selected:
            style += CURSOR_FOCUSED if self.has_focus else CURSOR
        segs: list[Segment] = []
        data = cells(row)
        rest = width
        for c in layout(width):
            w = c.width or max(rest, 0)
            if w <= 0:
                break
            text = fit(data[c.title], w)
            cstyle = style
            if c.title == "time (UTC)" and not selected:
                cstyle += DIM
            segs.append(Segment(text, base + cstyle))
            rest -= w + 1
            if rest > 0:
                segs.append(Segment(" ", base + style))
        return Strip(segs, width).crop_extend(0, width, base + style)

    # ------------------------------------------------------------------ cursor

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_cursor()
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        self.post_message(self.Highlighted(self.current, self.cursor))

    def scroll_to_cursor(self) -> None:
        top = int(self.scroll_offset.y)
        h = max(self.size.height, 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + h:
            self.scroll_to(y=self.cursor - h + 1, animate=False)

    def move(self, delta: int) -> None:
        n = self.row_count
        if n:
            self.cursor = max(0, min(n - 1, self.cursor + delta))

    def action_cursor_down(self) -> None:
        self.move(1)

    def action_cursor_up(self) -> None:
        self.move(-1)

    def action_page_down(self) -> None:
        self.move(max(self.size.height - 1, 1))

    def action_page_up(self) -> None:
        self.move(-max(self.size.height - 1, 1))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        if self.row_count:
            self.cursor = self.row_count - 1

    def on_click(self, event: object) -> None:
        y = getattr(event, "y", None)
        if isinstance(y, int):
            self.cursor = min(int(self.scroll_offset.y) + y, max(self.row_count - 1, 0))
