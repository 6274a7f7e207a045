"""An instance's lifecycle, key by key: every state change in time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from ...investigate.history import Step, intervals
from ...safe import clean
from ..widgets.instance_strip import strip_text


class HistoryScreen(ModalScreen[str | None]):
    """Dismisses with the event id to open in the main list (or None)."""

    BINDINGS = [
        Binding("enter", "open", "Open in list", id="history.open"),
        Binding("q,escape,h", "close", "Close", id="history.close"),
        Binding("j", "cursor_down", "Down", show=False, id="history.down"),
        Binding("k", "cursor_up", "Up", show=False, id="history.up"),
    ]

    @dataclass
    class Opened(Message):
        event_id: str

    def __init__(self, instance: str, steps: list[Step], start: datetime, end: datetime) -> None:
        super().__init__()
        self.instance = instance
        self.steps = steps
        self.start = start
        self.end = end

    def compose(self) -> ComposeResult:
        with Vertical():
            n = len(self.steps)
            yield Static(
                Text(
                    f"{clean(self.instance, 40)} — {n} lifecycle events, oldest first", style="bold"
                ),
                id="history-title",
            )
            yield Static(id="history-strip")
            yield DataTable(cursor_type="row", zebra_stripes=True, id="history-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for col in ("time (UTC)", "event", "state", "who", "actor", "from", "agent", "error"):
            table.add_column(col)
        for s in self.steps:
            style = "red" if s.failed else ""
            table.add_row(
                Text(s.time.strftime("%Y-%m-%d %H:%M:%S"), style=style),
                Text(clean(s.name, 30), style=style),
                Text(clean(s.change, 30), style=style),
                Text(clean(s.who, 40), style=style),
                Text(s.actor, style="cyan" if s.actor != "person" else ""),
                Text(clean(s.source_ip, 40), style=style),
                Text(clean(s.user_agent, 50), style="dim"),
                Text(clean(s.error_code, 40), style="red"),
                key=s.event_id,
            )
        table.focus()
        self.call_after_refresh(self._strip)

    def _strip(self) -> None:
        spans = intervals(self.steps, self.start, self.end)
        w = self.query_one("#history-strip", Static)
        w.update(strip_text(self.instance, spans, self.start, self.end, w.content_size.width))

    @property
    def current(self) -> Step | None:
        table = self.query_one(DataTable)
        if not self.steps:
            return None
        return self.steps[min(table.cursor_row, len(self.steps) - 1)]

    def action_open(self) -> None:
        cur = self.current
        self.dismiss(cur.event_id if cur else None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()
