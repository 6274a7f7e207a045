"""The explorer: a thin App wiring the filter bar, the histogram, the event list, the detail
viewer and the status bar. State lives here; widgets post messages."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from ..config import config_file, load_settings
from ..events import parse_record
from ..history import history, instances_of, intervals
from ..identity import who
from ..query import Filter, FilterSyntaxError, parse
from ..safe import clean
from ..store import Row, Store
from .widgets.detail import DetailView, EventTree
from .widgets.event_list import EventList, header_line
from .widgets.filter_bar import FilterBar, _quote
from .widgets.histogram import Histogram
from .widgets.instance_strip import InstanceStrip
from .widgets.status_bar import StatusBar

# the detail goes right of the list from this width on (below it on narrower terminals,
# so the list keeps all its columns)
WIDE = 160

WINDOWS: list[tuple[str, timedelta | None]] = [
    ("all", None),
    ("1h", timedelta(hours=1)),
    ("24h", timedelta(hours=24)),
    ("7d", timedelta(days=7)),
    ("30d", timedelta(days=30)),
]

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

# detail path leaf -> filter field for pivots
PIVOT_FIELDS = {
    "sourceIPAddress": "ip",
    "accessKeyId": "key",
    "instanceId": "resource",
    "eventName": "name",
    "awsRegion": "region",
    "eventSource": "source",
    "recipientAccountId": "account",
    "accountId": "account",
    "userName": "user",
    "eventID": "id",
    "errorCode": "error",
    "userAgent": "agent",
    "roleSessionName": "user",
    "sourceIdentity": "user",
    "invokedBy": "user",
}


def pivot_term(path: Sequence[str | int], value: Any) -> str:
    """The filter term for a value under the detail cursor."""
    text = value if isinstance(value, str) else json.dumps(value)
    leaf = next((p for p in reversed(path) if isinstance(p, str)), "")
    fieldname = PIVOT_FIELDS.get(leaf)
    if leaf in ("arn", "ARN"):
        fieldname = "user" if path and path[0] == "userIdentity" else "resource"
    if fieldname == "resource" or (fieldname is None and text.startswith(("i-", "arn:"))):
        return f"resource:{_quote(text)}"
    if fieldname:
        return f"{fieldname}:{_quote(text)}"
    return _quote(text)


def _process_age() -> float:
    """Seconds since this process started (Linux /proc; -1 elsewhere)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return -1.0


class TrailApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "trailtui"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("slash", "focus_filter", "Filter", id="app.filter"),
        Binding("enter", "open_detail", "Detail", show=False, id="app.detail"),
        Binding("w", "cycle_window", "Window", id="app.window"),
        Binding("L", "toggle_layout", "Layout", id="app.layout"),
        Binding("c", "clear_filter", "Clear", show=False, id="app.clear"),
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
    ]

    def __init__(
        self,
        store: Store,
        scope: Sequence[int] | None = None,
        label: str = "cache",
        now: datetime | None = None,
        initial_filter: str = "",
    ) -> None:
        super().__init__()
        self.store = store
        self.scope = scope
        self.label = label
        self.fixed_now = now
        self.filter_text = initial_filter
        self.window_index = 0
        self.filter = Filter()
        self._detail_timer: Timer | None = None
        self.layout_choice: str | None = None  # None: by terminal width
        self._covered = False
        self._bench_done = False
        self.settings = load_settings()
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    @property
    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield FilterBar(self.store, self.scope, id="filter-bar")
        yield Histogram(id="histogram")
        yield InstanceStrip(id="instance-strip")
        with Container(id="main"):
            with Vertical(id="list-pane"):
                yield Static(id="list-header")
                yield EventList(self.store, self.scope, id="event-list")
            yield DetailView(id="detail")
        yield StatusBar(id="status")
        yield Footer()

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

    def on_mount(self) -> None:
        self.bar.set_window_label(WINDOWS[self.window_index][0])
        self.bar.input.value = self.filter_text
        for problem in self.settings.problems:
            self.notify(problem, severity="error", timeout=10, markup=False)
        self.apply_filter(self.filter_text)
        self.event_list.focus()
        self._bench_first_paint()  # the first window may already be here (prefetched)

    def on_resize(self) -> None:
        if self.layout_choice is None:
            # narrow terminals read better with the detail below the list
            self.query_one("#main").set_class(self.size.width < WIDE, "-below")
        self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        """Column header and histogram for the current size (called after a refresh, so
        the screen may already be closing)."""
        try:
            self._header()
            width = self.query_one(Histogram).content_size.width
        except NoMatches:
            return
        self._histogram(self.filter, max(width, 10))

    def _header(self) -> None:
        w = self.event_list.size.width or self.size.width
        self.query_one("#list-header", Static).update(Text(header_line(w), style="bold"))

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
        return True

    def on_filter_bar_applied(self, msg: FilterBar.Applied) -> None:
        if self.apply_filter(msg.text):
            self.event_list.focus()

    def set_filter_text(self, text: str) -> None:
        self.bar.set_text(text)
        self.apply_filter(text)

    # ------------------------------------------------------------------ list events

    def on_event_list_page_loaded(self, msg: EventList.PageLoaded) -> None:
        if msg.page != 0 or msg.generation != self.event_list.generation:
            return
        # the slower whole-filter work starts once the first window is on screen
        self.call_after_refresh(self._relayout)
        if not self._covered:
            self._covered = True
            self._coverage()
        self._bench_first_paint()

    def _bench_first_paint(self) -> None:
        """bench/tui.py: note when the first window is on screen, then quit."""
        out = os.environ.get("TRAILTUI_BENCH_FIRST_PAINT")
        if not out or self._bench_done or 0 not in self.event_list.pages:
            return
        self._bench_done = True

        def painted() -> None:
            import resource

            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            Path(out).write_text(f"{time.time()} {rss} {_process_age()}\n")
            self.exit(0)

        self.call_after_refresh(painted)

    def on_event_list_highlighted(self, msg: EventList.Highlighted) -> None:
        row = msg.row
        lst = self.event_list
        if lst.total is not None:
            pos = f"{msg.index + 1:,}/{lst.total:,}" if lst.total else "0"
            noun = "event" if lst.total == 1 else "events"
            self.status.set(matches=f"{lst.total:,} {noun}  {pos}", busy="")
        self.query_one(Histogram).set_marker(row.ts if row else None)
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(0.06, lambda: self._show_detail(row))

    def _show_detail(self, row: Row | None) -> None:
        if not self.is_running or not self.query(InstanceStrip):
            return  # the timer fired while the app was closing
        if row is None:
            self.detail.show(None)
            self.detail.set_who(Text(""))
            self.query_one(InstanceStrip).hide()
            return
        raw = self.store.raw(row.id)
        title = f"{row.time:%Y-%m-%d %H:%M:%S}  {row.name}  {row.principal}"
        self.detail.show(raw, title)
        self._who_line(row.event_id)
        instances = instances_of(row.resources)
        if instances:
            self._instance_strip(instances[0])
        else:
            self.query_one(InstanceStrip).hide()

    # ------------------------------------------------------------------ investigations

    @work(thread=True, exclusive=True, group="who")
    def _who_line(self, event_id: str) -> None:
        worker = get_current_worker()
        chain = who(self.store, event_id)
        if chain is None or worker.is_cancelled or not self.is_running:
            return
        t = Text("who: ", style="bold")
        t.append(clean(chain.links[0].who or "?", 60), style="cyan")
        for link in chain.links[1:]:
            t.append(" ← ", style="dim")
            t.append(clean(link.who or "?", 40), style="cyan")
        t.append(f"  ·  origin: {clean(chain.origin, 80)}")
        if chain.ip_note and "nowhere else" in chain.ip_note:
            t.append(
                f"  ·  {clean(chain.links[-1].source_ip, 40)} seen nowhere else",
                style="bold yellow",
            )
        t.append("  (i: chain)", style="dim")
        self.call_from_thread(self._set_who, t)

    def _set_who(self, text: Text) -> None:
        for d in self.query(DetailView):
            d.set_who(text)

    def _window_bounds(self) -> tuple[datetime, datetime]:
        for hist in self.query(Histogram):
            if hist.end <= hist.start:
                break
            return (
                datetime.fromtimestamp(hist.start / 1000, tz=UTC),
                datetime.fromtimestamp(hist.end / 1000, tz=UTC),
            )
        return self.now - timedelta(days=14), self.now

    @work(thread=True, exclusive=True, group="instance")
    def _instance_strip(self, instance: str) -> None:
        worker = get_current_worker()
        start, end = self.call_from_thread(self._window_bounds)
        steps = history(self.store, instance, self.scope)
        if worker.is_cancelled or not self.is_running:
            return
        spans = intervals(steps, start, end)
        self.call_from_thread(self._show_strip, instance, spans, start, end)

    def _show_strip(
        self,
        instance: str,
        spans: list[tuple[datetime, datetime, str]],
        start: datetime,
        end: datetime,
    ) -> None:
        for strip in self.query(InstanceStrip):
            strip.show(instance, spans, start, end)

    def _current_instance(self) -> str | None:
        row = self.event_list.current
        instances = instances_of(row.resources) if row else []
        if not instances:
            self.notify("this event touches no EC2 instance", severity="warning")
            return None
        return instances[0]

    def action_history(self) -> None:
        instance = self._current_instance()
        if instance is not None:
            self._open_history(instance)

    @work(thread=True, exclusive=True, group="history")
    def _open_history(self, instance: str) -> None:
        from .screens.history import HistoryScreen

        steps = history(self.store, instance, self.scope)
        start, end = self.call_from_thread(self._window_bounds)
        if steps:
            start = min(start, steps[0].time)
        screen = HistoryScreen(instance, steps, start, end)
        self.call_from_thread(self.push_screen, screen, self._open_event)

    def action_who(self) -> None:
        row = self.event_list.current
        if row is not None:
            self._open_who(row.event_id)

    @work(thread=True, exclusive=True, group="who-screen")
    def _open_who(self, event_id: str) -> None:
        from .screens.who import WhoScreen

        chain = who(self.store, event_id)
        if chain is not None:
            self.call_from_thread(self.push_screen, WhoScreen(chain), self._open_event)

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

    def action_lifecycle(self, direction: int) -> None:
        row = self.event_list.current
        instance = self._current_instance()
        if row is None or instance is None:
            return
        self._step_lifecycle(instance, row.ts, row.id, direction)

    @work(thread=True, exclusive=True, group="lifecycle")
    def _step_lifecycle(self, instance: str, ts: int, rowid: int, direction: int) -> None:
        steps = history(self.store, instance, self.scope)
        keyed = [(int(s.time.timestamp() * 1000), s.rowid, s) for s in steps]
        if direction > 0:
            nxt = [k for k in keyed if (k[0], k[1]) > (ts, rowid)]
            target = nxt[0][2] if nxt else None
        else:
            prv = [k for k in keyed if (k[0], k[1]) < (ts, rowid)]
            target = prv[-1][2] if prv else None
        if target is None:
            word = "next" if direction > 0 else "previous"
            self.call_from_thread(self.notify, f"no {word} lifecycle event of {instance}")
            return
        idx = self.store.index_of(
            self.filter, target.rowid, int(target.time.timestamp() * 1000), self.scope
        )
        if idx is None:
            # not under the current filter: show the instance's events and go there
            self.call_from_thread(
                self._refilter_and_locate, f"resource:{instance}", target.event_id
            )
            return
        self.call_from_thread(self._jump, idx)

    def action_pivot(self, what: str) -> None:
        row = self.event_list.current
        if row is None:
            return
        raw = self.store.raw(row.id)
        if raw is None:
            return
        ev = parse_record(json.loads(raw))
        p = ev.principal
        if what == "session":
            value = p.display
            term = f"user:{_quote(value)}" if value else ""
        elif what == "key":
            term = f"key:{_quote(p.access_key)}" if p.access_key else ""
        else:
            term = f"ip:{_quote(ev.source_ip)}" if ev.source_ip else ""
        if not term:
            self.notify(f"this event has no {what}", severity="warning")
            return
        self.set_filter_text(term)
        self.notify(f"pivot: {clean(term, 80)}", markup=False)

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="histogram")
    def _histogram(self, f: Filter, bins: int) -> None:
        worker = get_current_worker()
        if f.since is not None:
            start = int(f.since.timestamp() * 1000)
            end = int((f.until or self.now).timestamp() * 1000)
        else:
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

    @work(thread=True, group="coverage")
    def _coverage(self) -> None:
        total = self.store.count(Filter(), self.scope)
        rng = self.store.time_range(self.scope)
        text = f"{clean(self.label, 40)}: {total:,} events cached"
        if rng:
            a, b = (datetime.fromtimestamp(x / 1000, tz=UTC) for x in rng)
            text += f", {a:%Y-%m-%d} → {b:%Y-%m-%d}"
        if self.is_running:
            self.call_from_thread(self._set_coverage, text)

    def _set_coverage(self, text: str) -> None:
        for bar in self.query(StatusBar):
            bar.set(coverage=text)

    # ------------------------------------------------------------------ detail events

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

        from .screens.history import HistoryScreen
        from .screens.who import WhoScreen
        from .widgets.detail import DetailView as D
        from .widgets.filter_bar import FilterInput

        return [
            ("Anywhere", of(self.BINDINGS)),
            ("History screen", of(HistoryScreen.BINDINGS)),
            ("Who screen", of(WhoScreen.BINDINGS)),
            ("Event list", of(EventList.BINDINGS)),
            ("Detail", of(D.BINDINGS) + of(EventTree.BINDINGS)),
            ("Filter bar", of(FilterInput.BINDINGS)),
        ]

    def action_focus_filter(self) -> None:
        self.bar.input.focus()

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
        self.call_after_refresh(self._relayout)

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
            if title in ("History screen", "Who screen"):
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
) -> int:
    app = TrailApp(store, scope, label, now=now, initial_filter=initial_filter)
    app.run()
    return 0
