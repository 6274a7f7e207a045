"""One line: an EC2 instance's running / stopped spans across the time window."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from ...safe import clean

STYLE = {"running": "green", "stopped": "red", "terminated": "bright_black", "unknown": "grey30"}
CHAR = {"running": "█", "stopped": "▁", "terminated": "╌", "unknown": "·"}


def strip_text(
    instance: str,
    spans: list[tuple[datetime, datetime, str]],
    start: datetime,
    end: datetime,
    width: int,
) -> Text:
    label = clean(instance, 22).ljust(22) + " "
    cols = max(width - len(label) - 18, 4)
    out = Text(label, style="bold")
    total = (end - start).total_seconds() or 1.0
    cells = ["unknown"] * cols
    for a, b, state in spans:
        i = int((a - start).total_seconds() / total * cols)
        j = int((b - start).total_seconds() / total * cols)
        for k in range(max(i, 0), min(max(j, i + 1), cols)):
            cells[k] = state
    for state in cells:
        out.append(CHAR[state], style=STYLE[state])
    out.append("  █ running ▁ stopped", style="dim")
    return out


class InstanceStrip(Widget):
    DEFAULT_CSS = """
    InstanceStrip { height: 1; padding: 0 1; display: none; }
    InstanceStrip.-shown { display: block; }
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.instance = ""
        self.spans: list[tuple[datetime, datetime, str]] = []
        self.start: datetime | None = None
        self.end: datetime | None = None

    def show(
        self,
        instance: str,
        spans: list[tuple[datetime, datetime, str]],
        start: datetime,
        end: datetime,
    ) -> None:
        self.instance, self.spans, self.start, self.end = instance, spans, start, end
        self.set_class(bool(instance), "-shown")
        self.refresh()

    def hide(self) -> None:
        self.instance = ""
        self.remove_class("-shown")

    def render(self) -> Text:
        if not self.instance or self.start is None or self.end is None:
            return Text("")
        return strip_text(self.instance, self.spans, self.start, self.end, self.content_size.width)
