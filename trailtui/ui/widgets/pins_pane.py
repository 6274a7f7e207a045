"""The pins pane: the case's pinned events in time order, with their notes."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...evidence.cases import Pin
from ...safe import clean


class PinsPane(Vertical):
    BINDINGS = [
        Binding("enter", "open", "Open pin", id="pins.open"),
        Binding("d", "unpin", "Unpin", id="pins.unpin"),
    ]

    DEFAULT_CSS = """
    PinsPane { height: 10; display: none; border-top: hkey $accent; }
    PinsPane.-shown { display: block; }
    PinsPane > #pins-title { height: 1; padding: 0 1; background: $boost; }
    PinsPane > OptionList { height: 1fr; border: none; }
    """

    @dataclass
    class Open(Message):
        event_id: str

    @dataclass
    class Unpin(Message):
        event_id: str

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.pins: list[Pin] = []
        self.case = "default"

    @property
    def option_list(self) -> OptionList:
        """The list of pins: mounted the first time it is wanted (hidden at start, it and
        its styles were work before the first frame)."""
        found = self.query("#pins-list")
        if found:
            return found.first(OptionList)
        ol = OptionList(id="pins-list")
        self.mount(Static(id="pins-title"), ol)
        return ol

    def show_pins(self, case: str, pins: list[Pin]) -> None:
        self.case, self.pins = case, pins
        title = Text(f"case {clean(case, 40)}: {len(pins)} pinned", style="bold")
        title.append("   m pins · d unpins · Enter opens · E exports the case", style="dim")
        ol = self.option_list
        self.query_one("#pins-title", Static).update(title)
        keep = ol.highlighted or 0
        ol.clear_options()
        for p in pins:
            t = Text()
            t.append(clean(p.time.replace("T", " ").rstrip("Z"), 20) + "  ", style="dim")
            t.append(clean(p.name, 28).ljust(28) + " ")
            t.append(clean(p.who, 40).ljust(32) + " ", style="cyan")
            t.append(clean(p.where, 20).ljust(16) + " ")
            if p.note:
                t.append("— " + clean(p.note, 120), style="bold yellow")
            ol.add_option(Option(t))
        if not pins:
            ol.add_option(
                Option(
                    Text("nothing pinned yet: m pins the highlighted event", style="dim"),
                    disabled=True,
                )
            )
        elif pins:
            ol.highlighted = min(keep, len(pins) - 1)

    @property
    def current(self) -> Pin | None:
        found = self.query("#pins-list")
        idx = found.first(OptionList).highlighted if found else None
        return self.pins[idx] if idx is not None and idx < len(self.pins) else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Open(self.current.event_id))

    def action_unpin(self) -> None:
        if self.current is not None:
            self.post_message(self.Unpin(self.current.event_id))
