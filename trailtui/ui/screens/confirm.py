"""A yes/no question before something that costs (a query that scans a whole Athena trail):
y or Enter says yes, n or Esc says no; the answer goes to the callback (None never)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ...safe import clean


class ConfirmScreen(ModalScreen[bool]):
    # one small reusable dialog: its layout travels with it (app.tcss styles the app's own)
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 84; max-width: 95%; height: auto;
        border: round $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen #confirm-lines { height: auto; }
    """

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes, run it", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(clean(self.title_text, 200), style="bold"))
            # the lines name tables, filters and values a user typed: cleaned, never markup
            body = "\n".join(clean(line, 600) for line in self.lines)
            yield Static(Text(body), id="confirm-lines")
            yield Static(Text("y / Enter: run it    n / Esc: don't", style="dim"))
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
