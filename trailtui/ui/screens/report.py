"""A read-only screen of lines: the verify report, the files and objects skipped."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ...safe import clean


class ReportScreen(ModalScreen[None]):
    BINDINGS = [Binding("q,escape", "dismiss_report", "Close", id="report.close")]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(clean(self.title_text, 200), style="bold"))
            # every line may hold text from a bucket (keys, reasons): cleaned, never markup
            yield Static(Text("\n".join(clean(line, 2000) for line in self.lines)))
        yield Footer()

    def action_dismiss_report(self) -> None:
        self.dismiss(None)
