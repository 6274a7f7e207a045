"""The help screen: every binding of the app and its widgets, with its id for remapping."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

LANGUAGE = """\
name:StopInstances  name:Stop*  name:/^(Stop|Terminate)/  -name:Describe*  name:A,B
user:skeddly-*  resource:i-0abc  type:AWS::EC2::Instance  source:ec2  region:us-east-1
account:123456789012  ip:203.0.113.0/24  key:ASIA…  id:<eventID>  error:*  readonly:false
agent:*terraform*  category:Data  eventtype:AwsConsoleSignIn  since:2d  until:2024-05-01
plain words, "quoted words", -word: substring anywhere in the raw event"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("q,question_mark,escape", "dismiss_help", "Close", id="help.close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 96; max-width: 100%; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    """

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
            yield Static(Text(LANGUAGE))
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
