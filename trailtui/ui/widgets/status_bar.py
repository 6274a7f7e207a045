"""The status bar: matches, tampering, what the window is missing (not fetched yet), what the
cache covers, work in progress, the last message."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ...safe import clean


class StatusBar(Widget):
    """Repaints without a layout pass (a Static's update reflows the screen)."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.matches = "…"
        self.coverage = ""
        self.busy = ""
        self.live = ""
        self.follow = ""  # follow mode: how, and the events new since you last looked
        self.trust = ""  # tampering in the window: shown before anything else
        self.holes = ""  # what LookupEvents / CloudWatch Logs has not fetched of the window
        self.message = ""
        self.error = False
        self.text = Text()

    def set(
        self,
        matches: str | None = None,
        coverage: str | None = None,
        busy: str | None = None,
        live: str | None = None,
        follow: str | None = None,
        trust: str | None = None,
        holes: str | None = None,
        message: str | None = None,
        error: bool = False,
    ) -> None:
        if matches is not None:
            self.matches = matches
        if coverage is not None:
            self.coverage = coverage
        if busy is not None:
            self.busy = busy
        if live is not None:
            self.live = live
        if follow is not None:
            self.follow = follow
        if trust is not None:
            self.trust = trust
        if holes is not None:
            self.holes = holes
        if message is not None:
            self.message, self.error = message, error
        t = Text()
        t.append(self.matches, style="bold")
        if self.follow:
            t.append("  │  ", style="dim")
            t.append(clean(self.follow, 160), style="bold green")
        if self.trust:
            t.append("  │  ", style="dim")
            t.append("⚠ " + clean(self.trust, 240), style="bold red")
        if self.holes:
            t.append("  │  ", style="dim")
            t.append("◌ " + clean(self.holes, 160), style="bold yellow")
        # work in progress before the coverage: on a narrow terminal the coverage is cut first
        for part in (self.busy, self.live):
            if part:
                t.append("  │  ", style="dim")
                t.append(clean(part, 100), style="yellow")
        if self.coverage:
            t.append("  │  ", style="dim")
            t.append(clean(self.coverage, 120))
        if self.message:
            t.append("  │  ", style="dim")
            t.append(clean(self.message, 200), style="bold red" if self.error else "")
        self.text = t
        self.refresh()

    def render(self) -> Text:
        return self.text
