"""The bookmark picker: fuzzy search, each bookmark's match count from the cache, last used;
recall, rename or delete."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from ...evidence.bookmarks import Bookmark, Bookmarks
from ...evidence.tomlfile import BookmarkError
from ...safe import clean
from .prompt import PromptScreen


class BookmarkPicker(ModalScreen[Bookmark | None]):
    BINDINGS = [
        Binding("ctrl+r", "rename", "Rename", priority=True, id="bookmarks.rename"),
        Binding("ctrl+d", "delete", "Delete", priority=True, id="bookmarks.delete"),
        Binding("escape", "close", "Close", id="bookmarks.close"),
        Binding("down", "move(1)", "Down", show=False, id="bookmarks.down"),
        Binding("up", "move(-1)", "Up", show=False, id="bookmarks.up"),
    ]

    AUTO_FOCUS = "#bookmark-search"  # focused as the screen opens, so fast typing is not lost

    def __init__(self, bookmarks: Bookmarks, count: Callable[[Bookmark], int | None]) -> None:
        super().__init__()
        self.bookmarks = bookmarks
        self.count = count
        self.items: list[Bookmark] = []
        self.shown: list[Bookmark] = []
        self.counts: dict[str, int | None] = {}
        self.matcher = Matcher("")  # kept while the query is the same: it caches its scores

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("bookmarks — type to search, Enter recalls", style="bold"))
            yield Input(placeholder="fuzzy search", id="bookmark-search")
            yield OptionList(id="bookmark-list")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(Input).focus()

    def reload(self) -> None:
        try:
            self.items = self.bookmarks.all()
        except BookmarkError as e:
            self.notify(str(e), severity="error", markup=False, timeout=10)
            self.items = []
        self.refill()
        self._count_all(list(self.items))
        self.query_one(Input).focus()

    @work(thread=True, exclusive=True, group="bookmark-counts")
    def _count_all(self, items: list[Bookmark]) -> None:
        worker = get_current_worker()
        for b in items:
            if worker.is_cancelled:
                return
            n = self.count(b)
            self.app.call_from_thread(self._set_count, b.name, n)

    def _set_count(self, name: str, n: int | None) -> None:
        self.counts[name] = n
        self.refill()

    def refill(self) -> None:
        query = self.query_one(Input).value
        self.shown = self.ranked(query)
        ol = self.query_one(OptionList)
        keep = ol.highlighted or 0
        ol.clear_options()
        for i, b in enumerate(self.shown):
            t = Text()
            t.append(f"{i + 1} " if i < 9 and not query else "  ", style="bold yellow")
            t.append(clean(b.name, 40).ljust(24), style="bold")
            t.append(clean(b.filter, 60).ljust(40))
            t.append(f" {b.window or 'any time':>8} ", style="cyan")
            n = self.counts.get(b.name)
            t.append(
                f"{'…' if n is None else f'{n:,}':>9} {'event' if n == 1 else 'events'}",
                style="dim",
            )
            if b.last_used:
                t.append(f"  used {b.last_used[:16].replace('T', ' ')}", style="dim")
            ol.add_option(Option(t))
        if self.shown:
            ol.highlighted = min(keep, len(self.shown) - 1)
        elif not self.items:
            ol.add_option(
                Option(
                    Text("no bookmarks yet: ctrl+s saves the current filter", style="dim"),
                    disabled=True,
                )
            )

    def ranked(self, query: str) -> list[Bookmark]:
        """The bookmarks whose name and filter hold the query's letters in order, best match
        first (ties in file order); all of them for an empty query."""
        if not query.strip():
            return list(self.items)
        if self.matcher.query != query:
            self.matcher = Matcher(query)
        scored = [
            (self.matcher.match(f"{b.name} {b.filter}"), i, b) for i, b in enumerate(self.items)
        ]
        return [b for s, _, b in sorted(scored, key=lambda x: (-x[0], x[1])) if s > 0]

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one(OptionList).highlighted = 0
        self.refill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose()

    @property
    def current(self) -> Bookmark | None:
        idx = self.query_one(OptionList).highlighted
        if idx is None or idx >= len(self.shown):
            return None
        return self.shown[idx]

    def _choose(self) -> None:
        self.dismiss(self.current)

    def action_move(self, delta: int) -> None:
        ol = self.query_one(OptionList)
        if self.shown:
            ol.highlighted = ((ol.highlighted or 0) + delta) % len(self.shown)

    def action_rename(self) -> None:
        b = self.current
        if b is None:
            return

        def done(new: str | None) -> None:
            if new and new != b.name:
                try:
                    self.bookmarks.rename(b.name, new)
                except BookmarkError as e:
                    self.notify(str(e), severity="error", markup=False)
                self.reload()

        self.app.push_screen(PromptScreen(f"rename {clean(b.name, 60)}", b.name), done)

    def action_delete(self) -> None:
        b = self.current
        if b is None:
            return
        try:
            self.bookmarks.delete(b.name)
            self.notify(f"deleted {clean(b.name, 60)}", markup=False)
        except BookmarkError as e:
            self.notify(str(e), severity="error", markup=False)
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)
