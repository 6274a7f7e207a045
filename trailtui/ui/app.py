"""The explorer: a thin App wiring the filter bar, the histogram, the event list, the detail
viewer and the status bar. State lives here; widgets post messages."""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.widgets._footer import FooterKey
from textual.worker import get_current_worker

from ..config import config_file, load_settings
from ..evidence.bookmarks import Bookmarks
from ..evidence.cases import Case
from ..evidence.tomlfile import BookmarkError
from ..fields import PIVOTS
from ..filter.language import Filter, quote
from ..locations import config_dir
from ..safe import clean
from ..store.store import Row, Store
from .base import WINDOWS
from .evidence import EvidenceMixin
from .investigate import InvestigateMixin
from .reader import ReaderMixin
from .trust import TrustMixin
from .widgets.detail import DetailView, EventTree
from .widgets.event_list import EventList, header_line
from .widgets.filter_bar import FilterBar
from .widgets.histogram import Histogram
from .widgets.instance_strip import InstanceStrip
from .widgets.pins_pane import PinsPane
from .widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from ..sources.base import Source

DETAIL_WORK = ("who", "instance", "file-check")  # the detail's worker groups
STRIP_AFTER = 0.25  # s of rest on an event (after the detail's) before its instance strip
WARM_AFTER = 0.5  # s without a new filter before the dialogs' modules are imported

# the detail goes right of the list from this width on (below it on narrower terminals,
# so the list keeps all its columns)
WIDE = 160


# one-key presets: (binding id, key, label, filter snippet)
PRESETS: list[tuple[str, str, str, str]] = [
    ("preset.writes", "W", "Writes only", "readonly:false"),
    ("preset.errors", "x", "Errors", "error:*"),
    (
        "preset.nomfa",
        "l",
        "Console logins without MFA",
        'name:ConsoleLogin "\\"MFAUsed\\":\\"No\\""',
    ),
    ("preset.root", "R", "Root activity", "user:root"),
    ("preset.iam", "I", "IAM changes", "source:iam readonly:false"),
    (
        "preset.ec2state",
        "S",
        "EC2 state changes",
        "name:RunInstances,StartInstances,StopInstances,RebootInstances,TerminateInstances",
    ),
]


def pivot_term(path: Sequence[str | int], value: Any) -> str:
    """The filter term for a value under the detail cursor."""
    text = value if isinstance(value, str) else json.dumps(value)
    leaf = next((p for p in reversed(path) if isinstance(p, str)), "")
    fieldname = PIVOTS.get(leaf)
    if leaf in ("arn", "ARN"):
        fieldname = "user" if path and path[0] == "userIdentity" else "resource"
    if fieldname == "resource" or (fieldname is None and text.startswith(("i-", "arn:"))):
        return f"resource:{quote(text)}"
    if fieldname:
        return f"{fieldname}:{quote(text)}"
    return quote(text)


def _warm_screens() -> None:
    import importlib

    for name in ("help", "bookmarks", "history", "who", "prompt", "export", "report", "confirm"):
        importlib.import_module(f"{__package__}.screens.{name}")


class KeyFooter(Footer):
    """Textual's Footer, its binding keys made in the footer's style: such a key starts
    compact and is then bound to the footer's style (not compact), so each was styled three
    times as it mounted (15 keys: 40-80 ms on the way to the first frame, and again at each
    focus change that changes the bindings). Looks the same (the palette key, not bound,
    stays compact as Textual makes it)."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget


class _Explorer(Screen[Any]):
    AUTO_FOCUS = "#event-list"


# the dialogs' layout: read once the first window is on screen (parsing it before the first
# frame, and matching its rules against every widget then, was ~8 ms of the start)
SCREENS_CSS = Path(__file__).with_name("screens.tcss")


class TrailApp(ReaderMixin, InvestigateMixin, EvidenceMixin, TrustMixin):
    CSS_PATH = "app.tcss"
    TITLE = "trailtui"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        # priority: runs as the key arrives, so what is typed right after / lands in the bar
        Binding("slash", "focus_filter", "Filter", priority=True, id="app.filter"),
        Binding("enter", "open_detail", "Detail", show=False, id="app.detail"),
        Binding("w", "cycle_window", "Window", id="app.window"),
        Binding("L", "toggle_layout", "Layout", id="app.layout"),
        Binding("c", "clear_filter", "Clear", show=False, id="app.clear"),
        Binding("T", "tampering", "Tampering", id="preset.tampering"),
        Binding("D", "detections", "Detections", id="detect.open"),
        *[
            Binding(k, f"preset('{pid}')", label, show=False, id=pid)
            for pid, k, label, _ in PRESETS
        ],
        Binding("escape", "to_list", "Back", show=False, id="app.back"),
        Binding("h", "history", "History", id="inv.history"),
        Binding("i", "who", "Who", id="inv.who"),
        Binding(
            "right_square_bracket", "lifecycle(1)", "Next lifecycle", show=False, id="inv.next"
        ),
        Binding(
            "left_square_bracket", "lifecycle(-1)", "Prev lifecycle", show=False, id="inv.prev"
        ),
        Binding("U", "pivot('session')", "Pivot: this session", show=False, id="pivot.session"),
        Binding("K", "pivot('key')", "Pivot: this access key", show=False, id="pivot.key"),
        Binding("O", "pivot('ip')", "Pivot: this source IP", show=False, id="pivot.ip"),
        Binding("ctrl+s", "save_bookmark", "Save filter", id="bookmarks.save"),
        Binding("b", "bookmarks", "Bookmarks", id="bookmarks.open"),
        *[
            Binding(str(n), f"recall({n})", f"Bookmark {n}", show=False, id=f"bookmarks.recall{n}")
            for n in range(1, 10)
        ],
        Binding("m", "pin", "Pin", id="pins.pin"),
        Binding("P", "pins", "Pins", id="pins.pane"),
        Binding("e", "export_view", "Export", id="export.view"),
        Binding("E", "export_case", "Export case", show=False, id="export.case"),
        *ReaderMixin.READER_BINDINGS,
    ]

    def __init__(
        self,
        store: Store,
        scope: Sequence[int] | None = None,
        label: str = "cache",
        now: datetime | None = None,
        initial_filter: str = "",
        case: str = "default",
        sources: Sequence[Source] = (),
        window: str = "all",
        follow: bool = False,
        rules: Path | None = None,
    ) -> None:
        super().__init__()
        self.rules = rules or config_dir() / "rules"  # Sigma rules (D)
        self.sources = list(sources)
        self.bookmarks = Bookmarks()
        self.case = Case.open(case)
        self.store = store
        self.scope = scope
        self.label = label
        self.fixed_now = now
        self.filter_text = initial_filter
        self.window_index = [w for w, _ in WINDOWS].index(window)
        self.filter = Filter()
        self._detail_timer: Timer | None = None
        self._warm_timer: Timer | None = None
        self._strip_timer: Timer | None = None
        self._detail_row: int | None = None  # the event the detail shows
        self.follow_at_start = follow
        self.layout_choice: str | None = None  # None: by terminal width
        self._trust_window: tuple[datetime | None, ...] | None = None
        self._covered = False
        self._coverage_started = False
        self._header_line = ""
        self.settings = load_settings()
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    # ------------------------------------------------------------------ layout

    def get_default_screen(self) -> Screen[Any]:
        """The explorer's screen focuses the list as it opens (Textual's default would focus
        the filter bar first, then on_mount the list: the bar, the list and the footer each
        restyled twice before the first frame)."""
        return _Explorer(id="_default")

    def compose(self) -> ComposeResult:
        yield FilterBar(self.store, self.scope, id="filter-bar")
        yield Histogram(id="histogram")
        yield InstanceStrip(id="instance-strip")
        # the layout for the terminal's width from the start (on_resize keeps it): set on the
        # first resize instead, the whole pane was styled twice before the first frame
        below = self.layout_choice == "below" or (
            self.layout_choice is None and self.size.width < WIDE
        )
        with Container(id="main", classes="-below" if below else ""):
            with Vertical(id="list-pane"):
                yield Static(id="list-header")
                yield EventList(self.store, self.scope, id="event-list")
            yield DetailView(id="detail")
        yield PinsPane(id="pins")
        yield StatusBar(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.bar.set_window_label(WINDOWS[self.window_index][0])
        self.bar.input.value = self.filter_text
        for problem in self.settings.problems:
            self.notify(problem, severity="error", timeout=10, markup=False)
        for check in (self.bookmarks.all, self.case.pins):
            try:
                check()
            except BookmarkError as e:  # reported, kept, never overwritten
                self.notify(str(e), severity="error", timeout=15, markup=False)
        self.apply_filter(self.filter_text)
        self.event_list.focus()
        # the collector is back with the first window (_window_shown); should that never come
        self.set_timer(10, gc.enable)
        if self.follow_at_start:
            self.action_follow()

    def on_resize(self) -> None:
        if self.layout_choice is None:
            # narrow terminals read better with the detail below the list
            self.query_one("#main").set_class(self.size.width < WIDE, "-below")
        self.call_after_refresh(self.relayout)

    def relayout(self) -> None:
        """Column header and histogram for the current size and data (called after a
        refresh, so the screen may already be closing)."""
        try:
            self._header()
            width = self.query_one(Histogram).content_size.width
        except NoMatches:
            return
        self._histogram(self.filter, max(width, 10))

    def _header(self) -> None:
        w = self.event_list.size.width or self.size.width
        line = header_line(w)
        if line != self._header_line:
            self._header_line = line
            # one line of a fixed height: its size never changes (no layout pass for it)
            self.query_one("#list-header", Static).update(Text(line, style="bold"), layout=False)

    # ------------------------------------------------------------------ list events

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """r, V and follow only where they mean something (the footer then shows them)."""
        if action == "follow":
            return bool(self.followed_sources())
        if action == "refresh_sources":
            return any(s.refreshable for s in self.sources)
        if action == "verify":
            return any(s.verifiable for s in self.sources)
        return True

    def filter_applied(self, f: Filter) -> None:
        if self._warm_timer is not None:
            self._warm_timer.reset()  # not beside a new filter's first window
        # the detail's look-ups for the old cursor's event stop: an instance's history parsed
        # in a thread (~250 ms of Python) made the new window's query wait for the interpreter
        # past its index budget (1M events: 17 ms alone, ~240 ms beside it); the new first
        # window's cursor asks again
        for timer in (self._detail_timer, self._strip_timer):
            if timer is not None:
                timer.stop()
        busy = [w for w in self.workers if w.group in DETAIL_WORK and not w.is_finished]
        if busy:
            for w in busy:
                w.cancel()
            self._detail_row = None  # the same event under the new filter is looked up again
        self.reader_filter_applied(f)

    def on_event_list_page_loaded(self, msg: EventList.PageLoaded) -> None:
        if self.closing() or msg.page != 0 or msg.generation != self.event_list.generation:
            return
        # the slower whole-filter work starts once the first window is on screen
        self.call_after_refresh(self._window_shown, msg.generation)

    def _window_shown(self, generation: int) -> None:
        """A filter's first window is on screen: the histogram, what can be trusted and, the
        first time, the warm-up start now (threads: before, they competed with the first
        frame for the two cores and the interpreter)."""
        if self.closing() or generation != self.event_list.generation:
            return  # a newer filter: its own first window starts them
        self.relayout()
        self.show_fetch_holes(self.filter)  # LookupEvents / CloudWatch Logs: what is not fetched
        # what can be trusted depends on the window, not on the rest of the filter: a new filter
        # over the same window (to the minute: "the last 24 h" moves by seconds) asks nothing again
        window = tuple(None if x is None else x.replace(second=0, microsecond=0)
                       for x in (self.filter.since, self.filter.until))  # fmt: skip
        if window != self._trust_window:
            self._trust_window = window
            self._trust(self.filter)
        if not self._covered:
            self._covered = True
            self._read_screens_css()
            # what exists now (Textual, the widgets, the modules) lives as long as the app: out
            # of the collector's sight, so a full collection doesn't rescan it between keys
            # (the explorer's command runs the start with the collector off: the few cycles
            # the start left, ~0.6 MB measured, stay with it)
            gc.freeze()
            gc.enable()
            # the screens a first key opens, imported while the user reads the first window
            # (not on the first ?, b or h: without cached bytecode that is a visible wait);
            # once no new filter came for a moment: ~55 ms of imports holding the interpreter
            # made the next filter's window wait for it (its query asks the interpreter for
            # leave to go on every few thousand steps: 14 -> 220 ms measured on 1M events)
            self._warm_timer = self.set_timer(WARM_AFTER, self._start_warm)

    def _start_warm(self) -> None:
        self._warm_timer = None
        threading.Thread(target=_warm_screens, name="trailtui-warm", daemon=True).start()

    def on_event_list_highlighted(self, msg: EventList.Highlighted) -> None:
        if self.closing():
            return
        self.near_the_end()
        self.follow_looked(msg.index)
        row = msg.row
        lst = self.event_list
        if lst.total is not None and not self._coverage_started:
            # what the cache covers waits for the first count: at start the two would compete
            # (2 cores) with the first filter a fast typist applies
            self._coverage_started = True
            self._coverage()
        if lst.total is not None:
            pos = f"{msg.index + 1:,}/{lst.total:,}" if lst.total else "0"
            noun = "event" if lst.total == 1 else "events"
            self.status.set(matches=f"{lst.total:,} {noun}  {pos}", busy="")
        self.query_one(Histogram).set_marker(row.ts if row else None)
        for timer in (self._detail_timer, self._strip_timer):
            if timer is not None:
                timer.stop()
        self._detail_timer = self.set_timer(0.06, lambda: self._show_detail(row))

    def _show_detail(self, row: Row | None) -> None:
        if not self.is_running or not self.query(InstanceStrip):
            return  # the timer fired while the app was closing
        shown, self._detail_row = self._detail_row, (row.id if row else None)
        if row is not None and row.id == shown:
            return  # the same event (rows landed above it while following): keep the view
        if row is None:
            self.show_file_check(None)
            self.detail.show(None)
            self.detail.set_who(Text(""))
            self.query_one(InstanceStrip).hide()
            return
        raw = self.store.raw(row.id)
        title = f"{row.time:%Y-%m-%d %H:%M:%S}  {row.name}  {row.principal}"
        self.detail.show(raw, title)
        self.show_file_check(row.id)  # was its log file validated (verify, V)
        self._who_line(row.event_id)
        from ..investigate.history import instances_of

        instances = instances_of(row.resources)
        if instances:
            # after a longer rest: reading an instance's history (its events' records, ~300 ms
            # on 1M events) beside the next filter's first window made that window wait
            instance = instances[0]
            self._strip_timer = self.set_timer(STRIP_AFTER, lambda: self._instance_strip(instance))
        else:
            self.query_one(InstanceStrip).hide()

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="histogram")
    def _histogram(self, f: Filter, bins: int) -> None:
        worker = get_current_worker()
        if f.since is not None:
            start = int(f.since.timestamp() * 1000)
            end = int((f.until or self.now).timestamp() * 1000)
        else:
            # (the store's time_range reads the whole ts index: ~90 ms on 1M events, for every
            # filter; the facets' reads its two ends)
            rng = self.store.time_range(self.scope)
            if rng is None:
                return
            start, end = rng
            if f.until is not None:
                end = int(f.until.timestamp() * 1000)
        try:
            counts = self.store.histogram(
                f, start, end, bins, self.scope, cancelled=lambda: worker.is_cancelled
            )
        except sqlite3.OperationalError:
            return  # superseded
        if not worker.is_cancelled and self.is_running:
            self.call_from_thread(self._set_histogram, counts, start, end)

    def _set_histogram(self, counts: list[int], start: int, end: int) -> None:
        for hist in self.query(Histogram):
            hist.set_data(counts, start, end)

    def refresh_coverage(self) -> None:
        self._coverage()
        self._trust(self.filter)
        self.show_fetch_holes(self.filter)

    # ------------------------------------------------------------------ detail events

    def _read_screens_css(self) -> None:
        """The dialogs' rules join the stylesheet (no widget on screen matches them: nothing
        is styled again)."""
        if not self.stylesheet.has_source(str(SCREENS_CSS), ""):
            self.stylesheet.read(SCREENS_CSS)
            self.stylesheet.parse()  # the new source only (the others' rules are cached)

    def _load_screen_css(self, screen: Screen[Any]) -> None:
        # a dialog opened before the first window was on screen (a key typed ahead) gets its
        # layout too: Textual calls this as it installs each screen (and styles the screen
        # again as it resumes, its widgets as they mount)
        if self.screen_stack and screen is not self.screen_stack[0]:
            self._read_screens_css()
        super()._load_screen_css(screen)

    def on_event_tree_copy(self, msg: EventTree.Copy) -> None:
        self.copy_to_clipboard(msg.text)
        self.notify(f"copied {clean(msg.what, 60)} ({len(msg.text):,} chars)", markup=False)

    def on_event_tree_pivot(self, msg: EventTree.Pivot) -> None:
        term = pivot_term(msg.path, msg.value)
        text = (self.filter_text + " " + term).strip()
        self.set_filter_text(text)
        self.event_list.focus()
        self.notify(f"pivot: {clean(term, 80)}", markup=False)

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self.binding_groups(), str(config_file())))

    def binding_groups(self) -> list[tuple[str, list[Binding]]]:
        def of(bs: Iterable[BindingType]) -> list[Binding]:
            return [b for b in bs if isinstance(b, Binding)]

        from .screens.bookmarks import BookmarkPicker
        from .screens.history import HistoryScreen
        from .screens.who import WhoScreen
        from .widgets.detail import DetailView as D
        from .widgets.filter_bar import FilterInput
        from .widgets.pins_pane import PinsPane as Pins

        return [
            ("Anywhere", of(self.BINDINGS)),
            ("History screen", of(HistoryScreen.BINDINGS)),
            ("Who screen", of(WhoScreen.BINDINGS)),
            ("Bookmark picker", of(BookmarkPicker.BINDINGS)),
            ("Pins pane", of(Pins.BINDINGS)),
            ("Event list", of(EventList.BINDINGS)),
            ("Detail", of(D.BINDINGS) + of(EventTree.BINDINGS)),
            ("Filter bar", of(FilterInput.BINDINGS)),
        ]

    def action_focus_filter(self) -> None:
        focused = self.focused
        if isinstance(focused, Input):
            # a / typed in a text field (a regex, a CIDR): a character, in its place among the
            # keys typed before it, which may still be queued at the field (a fast typist, a
            # paste): it joins that queue, as any other key does
            focused.post_message(events.Key("slash", "/"))
            return
        if self.screen is not self.screen_stack[0]:
            return  # a dialog is open
        # at once, not on the next loop turn (Widget.focus): keys typed right after / must land
        # in the filter bar, not trigger the list's bindings
        self.screen.set_focus(self.bar.input)

    def action_open_detail(self) -> None:
        if self.focused is self.event_list:
            self.detail.event_tree.focus()

    def action_to_list(self) -> None:
        """Esc is a convenience only: back to the list (never the only way to anything)."""
        if self.detail.has_class("-finding"):
            self.detail.close_find()
            return
        self.bar.close()
        self.event_list.focus()

    def action_cycle_window(self) -> None:
        self.window_index = (self.window_index + 1) % len(WINDOWS)
        self.bar.set_window_label(WINDOWS[self.window_index][0])
        self.apply_filter(self.filter_text)

    def action_toggle_layout(self) -> None:
        main = self.query_one("#main")
        main.toggle_class("-below")
        self.layout_choice = "below" if main.has_class("-below") else "right"
        self.call_after_refresh(self.relayout)

    def action_clear_filter(self) -> None:
        self.set_filter_text("")

    def action_preset(self, pid: str) -> None:
        snippet = next(s for p, _, _, s in PRESETS if p == pid)
        text = self.filter_text
        if snippet in text:
            text = " ".join(text.replace(snippet, " ").split())
        else:
            text = (text + " " + snippet).strip()
        self.set_filter_text(text)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, bindings in self.binding_groups():
            if title in ("History screen", "Who screen", "Bookmark picker", "Pins pane"):
                continue  # those act inside their own screens
            for b in bindings:
                if b.action in ("quit",) or not b.description:
                    continue
                target = self._command_target(title)
                yield SystemCommand(
                    b.description,
                    f"{title}: key {b.key}",
                    lambda a=b.action, t=target: self.run_action(a, t),  # type: ignore[misc]
                )

    def _command_target(self, group: str) -> Any:
        if group == "Event list":
            return self.event_list
        if group == "Detail":
            return self.detail.event_tree
        if group == "Filter bar":
            return self.bar.input
        return self


def run_app(
    store: Store,
    scope: Sequence[int] | None,
    label: str,
    now: datetime | None = None,
    initial_filter: str = "",
    case: str = "default",
    sources: Sequence[Source] = (),
    window: str = "all",
    follow: bool = False,
    rules: Path | None = None,
) -> int:
    app = TrailApp(
        store,
        scope,
        label,
        now=now,
        initial_filter=initial_filter,
        case=case,
        sources=sources,
        window=window,
        follow=follow,
        rules=rules,
    )
    app.run()
    return 0
