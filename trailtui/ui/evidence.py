"""Evidence in the explorer: saved filters, pins and exports."""

from __future__ import annotations

import contextlib
from pathlib import Path

from .. import locations
from ..evidence.bookmarks import Bookmark
from ..evidence.cases import Pin, stamp
from ..evidence.tomlfile import BookmarkError
from ..filter.language import FilterSyntaxError, parse
from ..safe import clean
from .base import WINDOWS, AppBase
from .widgets.pins_pane import PinsPane


class EvidenceMixin(AppBase):
    # ------------------------------------------------------------------ bookmarks

    def window_label(self) -> str:
        return WINDOWS[self.window_index][0]

    def action_save_bookmark(self) -> None:
        from .screens.prompt import PromptScreen

        window = "" if self.window_label() == "all" else self.window_label()
        info = f"filter: {self.filter_text or '(everything)'}" + (
            f"   window: last {window}" if window else ""
        )

        def done(name: str | None) -> None:
            if not name:
                return
            b = Bookmark(name, self.filter_text, window=window, source=self.label)
            try:
                self.bookmarks.save(b)
            except BookmarkError as e:
                self.notify(str(e), severity="error", markup=False, timeout=10)
                return
            self.notify(f"saved bookmark {clean(b.name, 60)}", markup=False)

        self.push_screen(PromptScreen("save the filter as", "", info, "a name"), done)

    def action_bookmarks(self) -> None:
        from .screens.bookmarks import BookmarkPicker

        self.push_screen(BookmarkPicker(self.bookmarks, self._bookmark_count), self.recall_bookmark)

    def _bookmark_count(self, b: Bookmark) -> int | None:
        try:
            return self.store.count(parse(b.filter_text(), self.now), self.scope)
        except FilterSyntaxError:
            return None

    def action_recall(self, n: int) -> None:
        try:
            items = self.bookmarks.all()
        except BookmarkError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        if n > len(items):
            self.notify(f"no bookmark {n} (b lists them, ctrl+s saves one)", severity="warning")
            return
        self.recall_bookmark(items[n - 1])

    def recall_bookmark(self, b: Bookmark | None) -> None:
        if b is None:
            return
        if b.window and b.window in [w for w, _ in WINDOWS]:
            self.window_index = [w for w, _ in WINDOWS].index(b.window)
            text = b.filter
        else:
            self.window_index = 0
            text = b.filter_text()
        self.bar.set_window_label(self.window_label())
        self.set_filter_text(text)
        with contextlib.suppress(BookmarkError, OSError):
            self.bookmarks.touch(b.name)
        self.notify(f"bookmark {clean(b.name, 60)}", markup=False)

    # ------------------------------------------------------------------ pins

    def action_pin(self) -> None:
        from .screens.prompt import PromptScreen

        row = self.event_list.current
        if row is None:
            return

        def done(note: str | None) -> None:
            if note is None or row is None:
                return
            raw = self.store.raw(row.id) or ""
            pin = Pin(
                event_id=row.event_id,
                time=row.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                name=row.name,
                who=row.principal,
                where=" ".join(x for x in (row.source_ip, row.region) if x),
                note=note.strip(),
                filter=self.filter_text,
                raw=raw,
            )
            try:
                self.case.pin(pin)
            except BookmarkError as e:
                self.notify(str(e), severity="error", markup=False, timeout=10)
                return
            self.notify(f"pinned to case {self.case.name}", markup=False)
            self._refresh_pins()

        info = f"{row.time:%Y-%m-%d %H:%M:%S}  {row.name}  {row.principal}"
        self.push_screen(
            PromptScreen(f"pin to case {self.case.name} — a note (optional)", "", info), done
        )

    def action_pins(self) -> None:
        pane = self.query_one(PinsPane)
        pane.toggle_class("-shown")
        if pane.has_class("-shown"):
            self._refresh_pins()
            pane.option_list.focus()
        else:
            self.event_list.focus()

    def _refresh_pins(self) -> None:
        try:
            pins = self.case.pins()
        except BookmarkError as e:
            self.notify(str(e), severity="error", markup=False, timeout=10)
            pins = []
        self.query_one(PinsPane).show_pins(self.case.name, pins)

    def on_pins_pane_open(self, msg: PinsPane.Open) -> None:
        self._open_event(msg.event_id)
        self.event_list.focus()

    def on_pins_pane_unpin(self, msg: PinsPane.Unpin) -> None:
        try:
            self.case.unpin(msg.event_id)
        except BookmarkError as e:
            self.notify(str(e), severity="error", markup=False)
        self._refresh_pins()

    # ------------------------------------------------------------------ export

    def exports_dir(self) -> Path:
        return locations.data_dir() / "exports"

    def action_export_view(self) -> None:
        from .screens.export import ExportJob, ExportScreen

        job = ExportJob(self.store, self.filter, self.scope, self.event_list.total)
        self.push_screen(ExportScreen(job, self.exports_dir(), f"trailtui-{stamp()}"))

    def action_export_case(self) -> None:
        from ..evidence.export import export_case

        try:
            pins = self.case.pins()
        except BookmarkError as e:
            self.notify(str(e), severity="error", markup=False, timeout=10)
            return
        if not pins:
            self.notify("nothing pinned yet: m pins the highlighted event", severity="warning")
            return
        folder = self.exports_dir() / f"{self.case.name}-{stamp()}"
        try:
            paths = export_case(self.case.name, pins, folder, self.store)
        except OSError as e:
            self.notify(f"export failed: {e.strerror or e}", severity="error", markup=False)
            return
        self.notify(
            f"case exported: {clean(str(paths[0]), 200)} (+ .jsonl, .filters.txt)",
            markup=False,
            timeout=8,
        )
