"""Investigations in the explorer: an instance's history and lifecycle jumps, who really
did it, whether the event's log file was validated (verify's result, kept in the cache), what
LookupEvents and CloudWatch Logs have not fetched of the window, and one-key pivots."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from rich.text import Text
from textual import work
from textual.worker import get_current_worker

from ..filter.language import Filter, quote
from ..records.event import parse_record
from ..safe import clean
from ..store.store import Store
from .base import AppBase
from .widgets.detail import DetailView, integrity_text
from .widgets.histogram import Histogram
from .widgets.instance_strip import InstanceStrip
from .widgets.status_bar import StatusBar


class _Until:
    """The store as history() reads it for the instance strip: its raw records stop coming
    once ``gone()`` (the cursor moved on). history() parses each record in Python (an
    instance with 700 events: ~250 ms holding the interpreter, beside the next event's
    window); what it read so far is dropped."""

    def __init__(self, store: Store, gone: Callable[[], bool]) -> None:
        self._store = store
        self._gone = gone

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def iter_raw(self, *args: Any, **kw: Any) -> Iterator[tuple[int, str]]:
        for item in self._store.iter_raw(*args, **kw):
            if self._gone():
                return
            yield item


class InvestigateMixin(AppBase):
    # ------------------------------------------------------------------ investigations

    @work(thread=True, exclusive=True, group="who")
    def _who_line(self, event_id: str) -> None:
        from ..investigate.identity import only_here, who

        worker = get_current_worker()

        def gone() -> bool:
            return worker.is_cancelled or not self.is_running

        # the chain without its IP's counts (two counts over the whole cache, ~250 ms on a
        # million events, for every event the cursor rested on): the line says only whether
        # the IP is seen anywhere else, one event looked for, and stops when the cursor moves
        chain = who(self.store, event_id, ip_counts=False)
        if chain is None or gone():
            return
        try:
            alone = only_here(self.store, chain, gone)
        except sqlite3.OperationalError:  # cancelled (the cursor moved on), a closing cache
            return
        if gone():
            return
        t = Text("who: ", style="bold")
        t.append(clean(chain.links[0].who or "?", 60), style="cyan")
        for link in chain.links[1:]:
            t.append(" ← ", style="dim")
            t.append(clean(link.who or "?", 40), style="cyan")
        t.append(f"  ·  origin: {clean(chain.origin, 80)}")
        if alone:
            t.append(
                f"  ·  {clean(chain.links[-1].source_ip, 40)} seen nowhere else",
                style="bold yellow",
            )
        t.append("  (i: chain)", style="dim")
        self.call_from_thread(self._set_who, t)

    def _set_who(self, text: Text) -> None:
        for d in self.query(DetailView):
            d.set_who(text)

    _file_row: int | None = None  # the event whose file the detail view says something of

    def show_file_check(self, rowid: int | None) -> None:
        """Look up what verify found of the event's log file(s), for the top of the detail."""
        self._file_row = rowid
        if rowid is not None:
            self._file_line(rowid)

    def checks_recorded(self) -> None:
        """verify kept new results: the event on screen is looked up again."""
        self.show_file_check(self._file_row)

    @work(thread=True, exclusive=True, group="file-check")
    def _file_line(self, rowid: int) -> None:
        worker = get_current_worker()
        try:
            files = self.store.file_check(rowid)
        except Exception:  # the cache closing under it, a locked cache: say nothing
            return
        text = integrity_text(files)
        if worker.is_cancelled or not self.is_running:
            return
        self.call_from_thread(self._set_file_line, rowid, text)

    def _set_file_line(self, rowid: int, text: Text | None) -> None:
        if rowid != self._file_row:
            return  # the cursor moved on meanwhile
        for d in self.query(DetailView):
            d.set_integrity(text)

    # ------------------------------------------------------------------ what is not fetched

    def show_fetch_holes(self, f: Filter) -> None:
        """What LookupEvents / CloudWatch Logs have not fetched of the window, shaded on the
        histogram and named in the status bar (like delivery gaps of trail files)."""
        if self.scope:
            self._fetch_holes(f)

    @work(thread=True, exclusive=True, group="holes")
    def _fetch_holes(self, f: Filter) -> None:
        from ..investigate.gaps import coverage_holes, holes_line

        worker = get_current_worker()
        try:
            holes = coverage_holes(self.store, self.scope, f, self.now)
        except Exception:  # a cache closing under it, a superseded read: said next time
            return
        if worker.is_cancelled or not self.is_running:
            return
        spans = [(int(h.start.timestamp() * 1000), int(h.end.timestamp() * 1000)) for h in holes]
        self.call_from_thread(self._set_holes, f, holes_line(holes), spans)

    def _set_holes(self, f: Filter, line: str, spans: list[tuple[int, int]]) -> None:
        if f != self.filter:
            return  # another filter since: its own holes follow
        for bar in self.query(StatusBar):
            bar.set(holes=line)
        for hist in self.query(Histogram):
            hist.set_holes(spans)

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
        from ..investigate.history import history, intervals

        worker = get_current_worker()

        def gone() -> bool:
            return worker.is_cancelled or not self.is_running

        start, end = self.call_from_thread(self._window_bounds)
        steps = history(cast(Store, _Until(self.store, gone)), instance, self.scope)
        if gone():
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
        from ..investigate.history import instances_of

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
        from ..investigate.history import history
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
        from ..investigate.identity import who
        from .screens.who import WhoScreen

        chain = who(self.store, event_id)
        if chain is not None:
            self.call_from_thread(self.push_screen, WhoScreen(chain), self._open_event)

    def action_lifecycle(self, direction: int) -> None:
        row = self.event_list.current
        instance = self._current_instance()
        if row is None or instance is None:
            return
        self._step_lifecycle(instance, row.ts, row.id, direction)

    @work(thread=True, exclusive=True, group="lifecycle")
    def _step_lifecycle(self, instance: str, ts: int, rowid: int, direction: int) -> None:
        from ..investigate.history import history

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
            term = f"user:{quote(value)}" if value else ""
        elif what == "key":
            term = f"key:{quote(p.access_key)}" if p.access_key else ""
        else:
            term = f"ip:{quote(ev.source_ip)}" if ev.source_ip else ""
        if not term:
            self.notify(f"this event has no {what}", severity="warning")
            return
        self.set_filter_text(term)
        self.notify(f"pivot: {clean(term, 80)}", markup=False)
