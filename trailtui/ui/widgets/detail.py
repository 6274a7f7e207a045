"""The detail viewer: the highlighted event as a collapsible JSON tree or as highlighted JSON.

At its top, what ``verify`` found of the log file the event was read from: a green line when
a digest validated it, a red one when the file was modified, is in no digest, was missing or
its digest is not trustworthy, a quiet one when it was never verified (nothing for events
that came from no file: LookupEvents, CloudWatch Logs, the demo).

Every label is a ``rich.text.Text`` built from cleaned strings, never markup; big values and
long arrays are cut so a 5 MB requestParameters can't stall the UI (``Y`` copies it whole).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

from ...safe import clean, json_escape_unsafe

if TYPE_CHECKING:
    from ...store.verified import EventFile

MAX_CHILDREN = 500
MAX_VALUE = 300
MAX_JSON_CHARS = 200_000

Path = tuple[str | int, ...]


@dataclass(slots=True)
class NodeData:
    path: Path
    value: Any


def _scalar(value: Any) -> Text:
    if isinstance(value, str):
        return Text(json.dumps(clean(value, MAX_VALUE), ensure_ascii=False), style="green")
    if isinstance(value, bool) or value is None:
        return Text(json.dumps(value), style="magenta")
    if isinstance(value, int | float):
        return Text(str(value), style="cyan")
    return Text(clean(str(value), MAX_VALUE))


def _label(key: str | int | None, value: Any) -> Text:
    t = Text()
    if key is not None:
        t.append(clean(str(key), 80), style="bold blue" if isinstance(key, str) else "dim")
        t.append(": ")
    if isinstance(value, dict):
        t.append(f"{{{len(value)}}}", style="dim")
    elif isinstance(value, list):
        t.append(f"[{len(value)}]", style="dim")
    else:
        t.append_text(_scalar(value))
    return t


MAX_FILES_SHOWN = 3


def integrity_text(files: list[EventFile]) -> Text | None:
    """The lines the detail view shows of the event's files (worst first), None for none."""
    order = {"bad": 0, "unverified": 1, "ok": 2}
    shown = sorted((f for f in files if f.level in order), key=lambda f: order[f.level])
    if not shown:
        return None
    lines = []
    for f in shown[:MAX_FILES_SHOWN]:
        text = clean(f.sentence(), 400)
        if f.level == "bad":
            lines.append(Text("⚠ " + text, style="bold white on dark_red"))
        elif f.level == "ok":
            lines.append(Text("✓ " + text, style="green"))
        else:
            lines.append(Text(text, style="dim"))
    if len(shown) > MAX_FILES_SHOWN:
        lines.append(Text(f"… and {len(shown) - MAX_FILES_SHOWN} more files", style="dim"))
    return Text("\n").join(lines)


def pretty_json(value: Any) -> str:
    """Indented JSON with terminal-unsafe characters escaped (structure newlines kept)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    lines = text.split("\n")
    return "\n".join(json_escape_unsafe(line) for line in lines)


class EventTree(Tree[NodeData]):
    BINDINGS = [
        Binding("y", "copy_value", "Copy value", id="detail.copy_value"),
        Binding("Y", "copy_event", "Copy event", id="detail.copy_event"),
        Binding("p", "pivot", "Pivot", id="detail.pivot"),
    ]

    @dataclass
    class Pivot(Message):
        path: Path
        value: Any

    @dataclass
    class Copy(Message):
        text: str
        what: str

    def __init__(self, **kw: Any) -> None:
        super().__init__(Text("event"), **kw)
        self.show_root = False
        self.guide_depth = 2
        self.raw: dict[str, Any] = {}

    def show(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.clear()
        self._fill(self.root, raw, ())
        self.root.expand()
        for child in self.root.children:
            if child.data is not None and child.data.path[-1] in ("userIdentity",):
                child.expand()

    def _fill(self, node: TreeNode[NodeData], value: Any, path: Path) -> None:
        items: list[tuple[str | int, Any]]
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            return
        for key, v in items[:MAX_CHILDREN]:
            p = (*path, key)
            if isinstance(v, dict | list) and v:
                child = node.add(_label(key, v), NodeData(p, v))
                self._fill(child, v, p)
            else:
                node.add_leaf(_label(key, v), NodeData(p, v))
        if len(items) > MAX_CHILDREN:
            node.add_leaf(Text(f"… {len(items) - MAX_CHILDREN} more (Y copies all)", style="dim"))

    @property
    def current(self) -> NodeData | None:
        node = self.cursor_node
        return None if node is None else node.data

    def action_copy_value(self) -> None:
        cur = self.current
        if cur is None:
            return
        v = cur.value
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        self.post_message(self.Copy(text, ".".join(str(p) for p in cur.path)))

    def action_copy_event(self) -> None:
        self.post_message(self.Copy(json.dumps(self.raw, ensure_ascii=False), "event"))

    def action_pivot(self) -> None:
        cur = self.current
        if cur is not None and not isinstance(cur.value, dict | list):
            self.post_message(self.Pivot(cur.path, cur.value))

    def search(self, needle: str, forward_from: int | None = None) -> bool:
        """Move the cursor to the next node whose label contains needle (expands it)."""
        low = needle.lower()
        if not low:
            return False
        nodes: list[TreeNode[NodeData]] = []

        def walk(n: TreeNode[NodeData]) -> None:
            for c in n.children:
                nodes.append(c)
                walk(c)

        walk(self.root)
        start = self.cursor_node
        idx = nodes.index(start) if start in nodes else -1
        order = nodes[idx + 1 :] + nodes[: idx + 1]
        for n in order:
            label = n.label
            plain = label if isinstance(label, str) else label.plain
            if low in plain.lower():
                p = n.parent
                while p is not None:
                    p.expand()
                    p = p.parent
                self.call_after_refresh(self.move_cursor, n)
                return True
        return False


class DetailView(Vertical):
    """Tree (default) or highlighted JSON of one event, with search."""

    BINDINGS = [
        Binding("t", "toggle_mode", "Tree/JSON", id="detail.toggle_mode"),
        Binding("f", "find", "Find", id="detail.find"),
        Binding("n", "find_next", "Next match", show=False, id="detail.find_next"),
    ]

    DEFAULT_CSS = """
    DetailView { height: 1fr; }
    DetailView > #detail-integrity { height: auto; max-height: 6; padding: 0 1; display: none; }
    DetailView.-integrity > #detail-integrity { display: block; }
    DetailView > #detail-title { height: 1; background: $boost; padding: 0 1; }
    DetailView > #detail-who { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    DetailView > EventTree { height: 1fr; }
    DetailView > #detail-tree-space { height: 1fr; background: $surface; }
    DetailView > #detail-json { height: 1fr; display: none; }
    DetailView.-json > EventTree { display: none; }
    DetailView.-json > #detail-json { display: block; }
    DetailView > #detail-find { display: none; dock: bottom; }
    DetailView.-finding > #detail-find { display: block; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.raw: dict[str, Any] | None = None
        self.needle = ""
        self.integrity: Text | None = None

    def compose(self) -> ComposeResult:
        # the JSON view and the find bar, hidden at start, are mounted when first wanted
        # (composed with the rest, they and their styles were ~18 M instructions of the
        # start: measured with callgrind)
        yield Static(id="detail-integrity")
        yield Static(Text("no event", style="dim"), id="detail-title")
        yield Static(id="detail-who")
        # where the tree goes, in its colours, until it is wanted (the first frame has no event
        # to show: a Tree's styles were ~40 M instructions of the work before it, callgrind)
        yield Static(id="detail-tree-space")

    def _json_body(self) -> Static:
        """The highlighted JSON view's body (the view is mounted the first time)."""
        found = self.query("#detail-json-body")
        if found:
            return found.first(Static)
        body = Static(id="detail-json-body")
        self.mount(VerticalScroll(body, id="detail-json"), after=self.event_tree)
        return body

    def _find_input(self) -> Input:
        found = self.query("#detail-find")
        if found:
            return found.first(Input)
        field = Input(placeholder="find in event (Enter: next)", id="detail-find")
        self.mount(field)
        return field

    @property
    def event_tree(self) -> EventTree:
        """The tree (mounted when first wanted, in the place kept for it)."""
        found = self.query("#detail-tree")
        if found:
            return found.first(EventTree)
        tree = EventTree(id="detail-tree")
        space = self.query_one("#detail-tree-space")
        self.mount(tree, after=space)
        space.remove()
        return tree

    def show(self, raw_text: str | None, title: str = "") -> None:
        title_w = self.query_one("#detail-title", Static)
        self.set_integrity(None)  # the new event's file is looked up after
        if raw_text is None:
            self.raw = None
            title_w.update(Text("no event", style="dim"))
            self.event_tree.clear()
            for body in self.query("#detail-json-body").results(Static):
                body.update("")
            return
        try:
            raw = json.loads(raw_text)
        except ValueError:
            raw = {"_unreadable": raw_text[:MAX_VALUE]}
        self.raw = raw if isinstance(raw, dict) else {"_value": raw}
        title_w.update(Text(clean(title, 200), style="bold"))
        self.event_tree.show(self.raw)
        if self.has_class("-json"):
            self._render_json()

    def set_who(self, text: Text) -> None:
        self.query_one("#detail-who", Static).update(text)

    def set_integrity(self, text: Text | None) -> None:
        """What verify found of the event's log file (None: nothing to say)."""
        self.integrity = text
        self.query_one("#detail-integrity", Static).update(text or "")
        self.set_class(text is not None, "-integrity")

    def _render_json(self) -> None:
        body = self._json_body()
        if self.raw is None:
            body.update("")
            return
        text = pretty_json(self.raw)
        if len(text) > MAX_JSON_CHARS:
            text = text[:MAX_JSON_CHARS] + "\n… (cut; Y copies the whole event)"
        from rich.syntax import Syntax  # pygments: loaded on first use, not at start-up

        body.update(Syntax(text, "json", theme="ansi_dark", word_wrap=True))

    def action_toggle_mode(self) -> None:
        self.toggle_class("-json")
        if self.has_class("-json"):
            self._render_json()
            self.query_one("#detail-json").focus()
        else:
            self.event_tree.focus()

    def action_find(self) -> None:
        self.remove_class("-json")
        self.add_class("-finding")
        self._find_input().focus()

    def action_find_next(self) -> None:
        if self.needle and not self.event_tree.search(self.needle):
            self.notify(f"not found: {clean(self.needle, 40)}", severity="warning", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "detail-find":
            return
        event.stop()
        self.needle = event.value
        self.action_find_next()

    def close_find(self) -> None:
        self.remove_class("-finding")
        self.event_tree.focus()
