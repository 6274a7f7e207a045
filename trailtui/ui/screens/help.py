"""The help screen: every binding of the app and its widgets, with its id for remapping."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ...fields import CATALOGUE


def language_help() -> Table:
    """The filter language, one line per field (from the field catalogue)."""
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("field", style="bold cyan", width=10)
    table.add_column("meaning", ratio=1)
    table.add_column("example", style="dim", ratio=1)
    for f in CATALOGUE:
        table.add_row(Text(f.name + ":"), Text(f.help), Text(f.example))
    table.add_row(
        Text("any.path:"),
        Text("any key of the record, dotted, in any case, through arrays (Tab completes)"),
        Text('userIdentity.type:Root  requestParameters.instanceType:p3*  x.y:""'),
    )
    table.add_row(
        Text("words"),
        Text('plain words, "quoted words", -word: substring anywhere in the raw event'),
        Text("name:A,B = A or B; fields AND together; -field: negates"),
    )
    table.add_row(
        Text("OR NOT ( )"),
        Text("across fields and words: a space is AND, NOT (or -) before a term or a ( )"),
        Text("(name:Stop* OR user:bob) -(source:ec2 region:us-east-1)"),
    )
    return table


TRUST_HELP = (
    "Histogram: a red ! marks a tampering call (T lists them); dark red shading, a delivery gap "
    "(an account-region sent no log file); dark blue, what LookupEvents or CloudWatch Logs has "
    "not fetched yet. The status bar names them.\n"
    "V verifies the window's log files against CloudTrail's digests (or run trailtui verify "
    "PATH|s3://…): the detail's top line then says whether the event's file was validated "
    "(green ✓), or was MODIFIED, is IN NO DIGEST, was MISSING (red); E's case export records it "
    "per pin."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("q,question_mark,escape", "dismiss_help", "Close", id="help.close"),
    ]

    def __init__(self, groups: list[tuple[str, list[Binding]]], config_path: str) -> None:
        super().__init__()
        self.groups = groups
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("trailtui — keys", style="bold"))
            for title, bindings in self.groups:
                table = Table(box=None, show_header=False, pad_edge=False, expand=True)
                table.add_column("key", style="bold cyan", width=18)
                table.add_column("action", ratio=1)
                table.add_column("id", style="dim", width=24)
                for b in bindings:
                    keys = ", ".join(
                        self.app.get_key_display(Binding(k.strip(), b.action))
                        for k in b.key.split(",")
                    )
                    table.add_row(Text(keys), Text(b.description or b.action), Text(b.id or ""))
                yield Static(Text(f"\n{title}", style="bold underline"))
                yield Static(table)
            yield Static(Text("\nFilter language", style="bold underline"))
            yield Static(language_help())
            yield Static(Text("\nCan I trust this window?", style="bold underline"))
            yield Static(Text(TRUST_HELP))
            yield Static(
                Text(
                    f"\nRemap any key by its id in {self.config_path}:\n"
                    '  [keys]\n  "list.down" = "j,down,ctrl+n"\n'
                    "ctrl+p opens the command palette with every action.",
                    style="dim",
                )
            )
        yield Footer()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
