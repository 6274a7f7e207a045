"""The detections screen (D): the Sigma rules that fired in the current window, most severe
first, then by how many events; Enter puts a rule's filter in the filter bar (so it can be
refined and bookmarked) and the histogram marks when the rules fired."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from ...detect.rules import Ruleset, load_rules
from ...detect.run import Result, by_level, run
from ...filter.language import Filter
from ...safe import clean
from ...store.store import Store

LEVEL_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}
MARKS = 20_000  # matches whose times the histogram is given, at most


@dataclass(frozen=True, slots=True)
class Detections:
    """What a run gave: the rules that fired (ordered), how many ran, what was skipped, and
    the times (ms) of the matches (for the histogram)."""

    fired: list[Result]
    evaluated: int
    skipped: list[tuple[str, str]]  # (title or file, reason)
    times: list[int]
    errors: list[str]


def detect(
    store: Store, rules_path: Path, window: Filter, scope: Sequence[int] | None, cancelled: object
) -> Detections:
    """Load the rules (pySigma) and run them over the window (``window``: its since/until)."""
    rs: Ruleset = load_rules(rules_path)
    stop = cancelled if callable(cancelled) else None
    results = run(store, rs.rules, Filter(since=window.since, until=window.until), scope, stop)
    fired = by_level([r for r in results if r.fired])
    ids = sorted({i for r in fired for i in r.rowids})[:MARKS]
    times: list[int] = []
    for k in range(0, len(ids), 5000):
        part = ",".join(map(str, ids[k : k + 5000]))
        times += [int(t) for (t,) in store.execute(f"SELECT ts FROM events WHERE id IN ({part})")]
    skipped = [(s.title or s.path, s.reason) for s in rs.skipped]
    errors = [f"{r.rule.title}: {r.error}" for r in results if r.error]
    return Detections(fired, len(results), skipped, times, errors)


class DetectionsScreen(ModalScreen[str | None]):
    """Dismisses with the chosen rule's filter text (None: closed)."""

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="detections.close"),
        Binding("s", "toggle_skipped", "Skipped rules", id="detections.skipped"),
    ]

    @dataclass
    class Ran(Message):
        detections: Detections | None
        error: str = ""

    def __init__(
        self,
        store: Store,
        rules_path: Path,
        window: Filter,
        window_label: str,
        scope: Sequence[int] | None,
    ) -> None:
        super().__init__()
        self.store = store
        self.rules_path = rules_path
        self.window = window
        self.window_label = window_label
        self.scope = scope
        self.result: Detections | None = None
        self.showing_skipped = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("detections", style="bold"), id="detections-title")
            yield Static(id="detections-summary")
            yield OptionList(id="detections-list")
        yield Footer()

    def on_mount(self) -> None:
        self._summary(f"running the Sigma rules of {self.rules_path} over {self.window_label}…")
        self.query_one(OptionList).focus()
        self._run()

    def _summary(self, text: str) -> None:
        self.query_one("#detections-summary", Static).update(Text(clean(text, 400), style="dim"))

    @work(thread=True, exclusive=True, group="detections")
    def _run(self) -> None:
        worker = get_current_worker()
        try:
            d = detect(
                self.store, self.rules_path, self.window, self.scope, lambda: worker.is_cancelled
            )
        except Exception as e:  # rules are files from anywhere: say it, never crash
            if not worker.is_cancelled:
                self.post_message(self.Ran(None, f"{type(e).__name__}: {e}"))
            return
        if not worker.is_cancelled:
            self.post_message(self.Ran(d))

    def on_detections_screen_ran(self, msg: Ran) -> None:
        if msg.detections is None:
            self._summary(f"the rules could not be run: {msg.error}")
            return
        d = self.result = msg.detections
        skipped = f" · {len(d.skipped)} skipped (s: why)" if d.skipped else ""
        errors = f" · {len(d.errors)} the cache couldn't answer" if d.errors else ""
        self._summary(
            f"{d.evaluated} rules from {self.rules_path} over {self.window_label}: "
            f"{len(d.fired)} fired{skipped}{errors} · Enter shows a rule's events"
        )
        self.app.post_message(DetectionsScreen.Marks(d.times))
        self._fill()

    @dataclass
    class Marks(Message):
        """For the app: when the rules fired (ms), for the histogram."""

        times: list[int]

    def _fill(self) -> None:
        ol = self.query_one(OptionList)
        ol.clear_options()
        d = self.result
        if d is None:
            return
        if self.showing_skipped:
            for title, reason in d.skipped:
                t = Text(clean(title, 50).ljust(52), style="bold")
                t.append(clean(reason, 120), style="dim")
                ol.add_option(Option(t, disabled=True))
            if not d.skipped:
                ol.add_option(Option(Text("no rule was skipped", style="dim"), disabled=True))
            return
        for r in d.fired:
            t = Text()
            level = r.rule.level or "-"
            t.append(f"{level:<13}", style=LEVEL_STYLE.get(level, ""))
            t.append(f"{r.count:>8,}  ", style="bold")
            t.append(clean(r.rule.title, 60).ljust(62))
            last = r.last.strftime("%Y-%m-%d %H:%M") if r.last else ""
            t.append(f"last {last}", style="dim")
            ol.add_option(Option(t))
        if not d.fired:
            ol.add_option(Option(Text("no rule fired in this window", style="dim"), disabled=True))
        else:
            ol.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        d = self.result
        if d is None or self.showing_skipped or not 0 <= event.option_index < len(d.fired):
            return
        self.dismiss(d.fired[event.option_index].rule.filter_text)

    def action_toggle_skipped(self) -> None:
        self.showing_skipped = not self.showing_skipped
        self._fill()

    def action_close(self) -> None:
        self.workers.cancel_group(self, "detections")
        self.dismiss(None)
