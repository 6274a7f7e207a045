"""Who really did it: the chain of credentials behind one event, each link openable."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from ...investigate.identity import Chain, Link
from ...safe import clean


def link_text(i: int, link: Link) -> Text:
    t = Text()
    t.append("the event  " if i == 0 else "issued by  ", style="dim")
    t.append(link.time.strftime("%Y-%m-%d %H:%M:%S  "), style="dim")
    t.append(clean(link.name, 40), style="bold")
    t.append("\n           by ")
    t.append(clean(link.who or "?", 80), style="bold cyan")
    bits = [link.principal_type or "unknown type"]
    if link.access_key:
        bits.append(f"key {link.access_key}")
    if link.session_name:
        bits.append(f"session {link.session_name}")
    if link.source_identity:
        bits.append(f"sourceIdentity {link.source_identity}")
    t.append(clean(f" ({', '.join(bits)})", 160))
    t.append(f"\n           from {clean(link.source_ip or '?', 60)}  ", style="")
    t.append(clean(link.user_agent, 90), style="dim")
    if link.error_code:
        t.append(f"\n           failed: {clean(link.error_code, 60)}", style="red")
    return t


def origin_text(chain: Chain) -> Text:
    t = Text("origin: ", style="bold")
    t.append(
        clean(chain.origin, 200), style="bold yellow" if chain.origin_kind != "edge" else "yellow"
    )
    if chain.ip_note:
        t.append("\n" + clean(chain.ip_note, 200))
    return t


class WhoScreen(ModalScreen[str | None]):
    """Dismisses with the event id of the link to open (or None)."""

    BINDINGS = [
        Binding("enter", "open", "Open link", id="who.open"),
        Binding("q,escape,i", "close", "Close", id="who.close"),
    ]

    def __init__(self, chain: Chain) -> None:
        super().__init__()
        self.chain = chain

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("who really did it", style="bold underline"))
            yield OptionList(
                *[
                    Option(link_text(i, link), id=link.event_id)
                    for i, link in enumerate(self.chain.links)
                ],
                id="who-links",
            )
            yield Static(origin_text(self.chain), id="who-origin")
        yield Footer()

    def action_open(self) -> None:
        ol = self.query_one(OptionList)
        idx = ol.highlighted
        self.dismiss(self.chain.links[idx].event_id if idx is not None else None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)
