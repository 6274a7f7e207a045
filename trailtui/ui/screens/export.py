"""Export the current view: a format, a path, and a progress bar while it streams."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, ProgressBar, RadioButton, RadioSet, Static

from ...evidence.export import export_view
from ...filter.language import Filter
from ...safe import clean
from ...store.store import Store

FORMATS = ("csv", "json", "jsonl")


@dataclass
class ExportJob:
    store: Store
    filter: Filter
    scope: Sequence[int] | None
    total: int | None


class ExportScreen(ModalScreen[Path | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    AUTO_FOCUS = "#export-path"  # focused as the screen opens, so fast typing is not lost

    def __init__(self, job: ExportJob, default_dir: Path, stem: str) -> None:
        super().__init__()
        self.job = job
        self.default_dir = default_dir
        self.stem = stem
        self.fmt = "csv"
        self.running = False

    def compose(self) -> ComposeResult:
        total = "…" if self.job.total is None else f"{self.job.total:,}"
        with Vertical():
            yield Static(Text(f"export the current view ({total} events)", style="bold"))
            with RadioSet(id="export-format"):
                for i, f in enumerate(FORMATS):
                    yield RadioButton(f, value=i == 0)
            yield Input(value=str(self.default_dir / f"{self.stem}.csv"), id="export-path")
            yield ProgressBar(total=self.job.total, show_eta=True, id="export-progress")
            yield Static(
                Text("Enter in the path exports   Esc: cancel", style="dim"), id="export-status"
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.fmt = FORMATS[event.index]
        inp = self.query_one(Input)
        p = Path(inp.value)
        inp.value = str(p.with_suffix("." + self.fmt))
        inp.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.running:
            return
        self.running = True
        path = Path(event.value).expanduser()
        self._export(path, self.fmt, self.query_one(ProgressBar))

    @work(thread=True, exclusive=True, group="export")
    def _export(self, path: Path, fmt: str, bar: ProgressBar) -> None:
        def progress(n: int) -> None:
            self.app.call_from_thread(bar.update, progress=n)

        rows = (raw for _, raw in self.job.store.iter_raw(self.job.filter, self.job.scope))
        try:
            n = export_view(rows, fmt, path, progress)
        except OSError as e:
            msg = f"export failed: {e.strerror or e}"
            self.app.call_from_thread(self._failed, msg)
            return
        self.app.call_from_thread(self._done, path, n)

    def _failed(self, msg: str) -> None:
        self.running = False
        self.query_one("#export-status", Static).update(Text(clean(msg, 200), style="red"))

    def _done(self, path: Path, n: int) -> None:
        self.notify(f"exported {n:,} events to {clean(str(path), 200)}", markup=False)
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "export")
        self.dismiss(None)
