"""The filter bar: the filter language with completion of field names and of values from the
cache, each with its count under the rest of the filter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from ...fields import CATALOGUE, FIELDS
from ...filter.language import Filter, FilterSyntaxError, parse, quote
from ...safe import clean
from ...store.store import Store

MAX_SUGGESTIONS = 12


@dataclass(frozen=True, slots=True)
class Token:
    start: int  # where the replaced part starts in the text
    field: str  # '' while typing a field name
    prefix: str  # what is typed of the name or of the value


def current_token(text: str, cursor: int) -> Token:
    """The word being typed at the cursor: a field name (a catalogue name or a path) or a
    field's value (after : or ,)."""
    start = cursor
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:cursor]
    lead = len(word) - len(word.lstrip("(-"))  # ( and - before a term: not part of it
    word = word[lead:]
    if ":" in word:
        fname, _, rest = word.partition(":")
        vstart = start + lead + len(fname) + 1
        if "," in rest:
            vstart += rest.rindex(",") + 1
            rest = rest[rest.rindex(",") + 1 :]
        name = fname.lower() if fname.lower() in FIELDS else fname
        return Token(vstart, name, rest.strip('"'))
    return Token(start + lead, "", word)


class FilterInput(Input):
    """The text field; arrow keys and Tab drive the completion list when it is open."""

    BINDINGS = [
        Binding("tab", "accept", "Complete", show=False, priority=True, id="filter.complete"),
    ]

    def action_accept(self) -> None:
        bar = self.parent.parent if self.parent is not None else None
        if isinstance(bar, FilterBar) and bar.completing:
            bar.accept()
        else:
            self.app.action_focus_next()

    async def _on_key(self, event: events.Key) -> None:
        bar = self.parent.parent if self.parent is not None else None
        if isinstance(bar, FilterBar) and bar.completing and event.key in ("down", "up"):
            event.stop()
            event.prevent_default()
            bar.move(1 if event.key == "down" else -1)
            return
        await super()._on_key(event)


class FilterBar(Vertical):
    DEFAULT_CSS = """
    FilterBar { height: auto; }
    FilterBar > Horizontal { height: 3; }
    FilterBar #filter-window { width: auto; min-width: 8; height: 3; content-align: center middle; padding: 0 1; }
    FilterBar FilterInput { width: 1fr; }
    FilterBar #filter-error { height: auto; color: $error; padding: 0 1; display: none; }
    FilterBar.-error #filter-error { display: block; }
    FilterBar #filter-suggestions { display: none; height: auto; max-height: 14; border: round $accent; }
    FilterBar.-completing #filter-suggestions { display: block; }
    """

    @dataclass
    class Applied(Message):
        text: str

    @dataclass
    class Suggestions(Message):
        request: int
        options: list[tuple[str, str, str]]  # (insert, label, count/description)

    def __init__(self, store: Store, scope: Any = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.store = store
        self.scope = scope
        self.request = 0
        self.options: list[tuple[str, str, str]] = []
        self.token: Token | None = None
        self.navigated = False  # arrows moved in the list: Enter takes the suggestion

    def compose(self) -> ComposeResult:
        # the error line and the completion list (both hidden at start) join as they are
        # first needed: fewer widgets to mount and style before the first frame
        with Horizontal():
            yield Static("all", id="filter-window")
            yield FilterInput(
                placeholder="filter: name:Stop* user:bob -error:* ip:10.0.0.0/8 …  (Enter applies)",
                id="filter-input",
            )

    def _suggestion_list(self) -> OptionList:
        try:
            return self.query_one("#filter-suggestions", OptionList)
        except NoMatches:
            ol = OptionList(id="filter-suggestions")
            self.mount(ol)
            return ol

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    @property
    def completing(self) -> bool:
        return self.has_class("-completing") and bool(self.options)

    def set_window_label(self, label: str) -> None:
        self.query_one("#filter-window", Static).update(Text(label, style="bold"))

    def set_text(self, text: str) -> None:
        self.input.value = text
        self.input.cursor_position = len(text)
        self.close()

    def show_error(self, message: str | None) -> None:
        self.set_class(bool(message), "-error")
        text = Text(clean(message or "", 300))
        try:
            self.query_one("#filter-error", Static).update(text)
        except NoMatches:
            if message:
                self.mount(Static(text, id="filter-error"), after=self.query_one(Horizontal))

    # ------------------------------------------------------------------ completion

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is not self.input:
            return
        event.stop()
        self.show_error(None)
        if not self.input.has_focus:
            return
        text = self.input.value
        if event.value != text:
            return  # a newer change is on its way
        tok = current_token(text, min(self.input.cursor_position, len(text)))
        self.token = tok
        self.request += 1
        if not tok.field:
            if not tok.prefix or tok.prefix.lower() in ("or", "and", "not"):
                self.close()
                return
            opts = [
                (f.name + ":", f.name + ":", f.help)
                for f in CATALOGUE
                if f.name.startswith(tok.prefix.lower())
            ]
            self._show(opts)
            if "." in tok.prefix or not opts:  # a path, not one of the catalogue's names
                self._paths(self.request, tok.prefix, opts, self._rest(text, tok))
            return
        fld = FIELDS.get(tok.field)
        if fld is not None and fld.kind == "time":
            opts = [(v, v, "") for v in ("1h", "24h", "7d", "30d")]
            self._show([o for o in opts if o[0].startswith(tok.prefix)])
            return
        self._facet(self.request, tok.field, tok.prefix, self._rest(text, tok))

    def _rest(self, text: str, tok: Token) -> str:
        """The filter without the token being typed (what completion counts under): its
        conjuncts before and after, when it reads."""
        before = text[: tok.start].rsplit(None, 1)[0] if " " in text[: tok.start] else ""
        return before + " " + text[self.input.cursor_position :]

    def _filter(self, rest: str) -> Filter:
        try:
            return parse(rest)
        except FilterSyntaxError:
            return Filter()

    @work(thread=True, exclusive=True, group="facets")
    def _paths(
        self, request: int, prefix: str, named: list[tuple[str, str, str]], rest: str
    ) -> None:
        """The record's paths that start with the prefix, in the newest events under the
        rest of the filter (after the catalogue's names)."""
        worker = get_current_worker()
        try:
            paths, read = self.store.paths(self._filter(rest), prefix, MAX_SUGGESTIONS, self.scope)
        except Exception:  # a hint; never let it take the bar down
            return
        if worker.is_cancelled or not paths:
            return
        opts = named + [(p + ":", p + ":", f"{n:,} of the newest {read:,}") for p, n in paths]
        self.post_message(self.Suggestions(request, opts[:MAX_SUGGESTIONS]))

    @work(thread=True, exclusive=True, group="facets")
    def _facet(self, request: int, fieldname: str, prefix: str, rest: str) -> None:
        worker = get_current_worker()
        try:
            values = self.store.facet(
                fieldname, self._filter(rest), prefix, MAX_SUGGESTIONS, self.scope
            )
        except Exception:  # a facet is a hint; never let it take the bar down
            values = []
        if not worker.is_cancelled:
            opts = [(quote(v), v, f"{n:,}") for v, n in values]
            self.post_message(self.Suggestions(request, opts))

    def on_filter_bar_suggestions(self, msg: Suggestions) -> None:
        msg.stop()
        if msg.request == self.request and self.input.has_focus:
            self._show(msg.options)

    def _show(self, options: list[tuple[str, str, str]]) -> None:
        self.options = options
        ol = self._suggestion_list()
        ol.clear_options()
        if not options:
            self.close()
            return
        width = max(len(clean(lbl, 60)) for _, lbl, _ in options) + 2
        for _, label, extra in options:
            t = Text(clean(label, 60).ljust(width))
            t.append(clean(extra, 80), style="dim")
            ol.add_option(Option(t))
        ol.highlighted = 0
        self.add_class("-completing")

    def close(self) -> None:
        self.remove_class("-completing")
        self.options = []
        self.navigated = False

    def move(self, delta: int) -> None:
        self.navigated = True
        ol = self._suggestion_list()
        n = len(self.options)
        if n:
            ol.highlighted = ((ol.highlighted or 0) + delta) % n

    def accept(self) -> None:
        ol = self._suggestion_list()
        if not self.options or self.token is None:
            return
        insert = self.options[ol.highlighted or 0][0]
        text = self.input.value
        cur = self.input.cursor_position
        new = text[: self.token.start] + insert + text[cur:]
        self.input.value = new
        self.input.cursor_position = self.token.start + len(insert)
        if not insert.endswith(":"):
            self.close()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.accept()
        self.input.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is not self.input:
            return
        event.stop()
        if self.completing and self.navigated:
            self.accept()
            return
        self.close()
        self.post_message(self.Applied(event.value))

    def on_descendant_blur(self) -> None:
        self.close()
