"""A one-line histogram of the current filter's events over the time window, with the
cursor's time marked, the window's tampering calls flagged (a red ! under their bin), the
bins holding events detection rules matched in magenta, and what the window may be missing
shaded: delivery gaps of trail files (dark red), and what LookupEvents or CloudWatch Logs has
not fetched yet (dark blue)."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"
GAP_SHADE = "#5f0000"  # an account-region delivered no log file
HOLE_SHADE = "#00005f"  # LookupEvents / CloudWatch Logs: not fetched (yet)


def _fmt(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _runs(chars: list[str], styles: list[str]) -> Text:
    """The characters with their styles, a span per run of one style (a span per character
    made each render ~9 ms: Textual converts every span's style)."""
    out = Text()
    start = 0
    for i in range(1, len(chars) + 1):
        if i == len(chars) or styles[i] != styles[start]:
            out.append("".join(chars[start:i]), style=styles[start])
            start = i
    return out


class Histogram(Widget):
    DEFAULT_CSS = """
    Histogram { height: 2; padding: 0 1; }
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.counts: list[int] = []
        self.start = 0
        self.end = 0
        self.marker: int | None = None  # ms
        self.flags: list[int] = []  # ms: tampering calls in the window
        self.gaps: list[tuple[int, int]] = []  # ms spans: an account-region delivered nothing
        self.holes: list[tuple[int, int]] = []  # ms spans: not fetched from LookupEvents/Logs
        self.marks: list[int] = []  # ms: events detection rules matched (D): magenta bins

    def set_data(self, counts: list[int], start: int, end: int) -> None:
        self.counts, self.start, self.end = counts, start, end
        self.refresh()

    def set_flags(self, flags: list[int]) -> None:
        if flags != self.flags:
            self.flags = flags
            self.refresh()

    def set_marks(self, marks: list[int]) -> None:
        if marks != self.marks:
            self.marks = marks
            self.refresh()

    def set_gaps(self, gaps: list[tuple[int, int]]) -> None:
        if gaps != self.gaps:
            self.gaps = gaps
            self.refresh()

    def set_holes(self, holes: list[tuple[int, int]]) -> None:
        if holes != self.holes:
            self.holes = holes
            self.refresh()

    def set_marker(self, ts: int | None) -> None:
        if ts != self.marker:
            self.marker = ts
            self.refresh()

    def render(self) -> Text:
        width = self.content_size.width
        if not self.counts or width <= 0:
            return Text("")
        n = len(self.counts)
        top = max(self.counts) or 1
        mark = None
        if self.marker is not None and self.end > self.start:
            mark = (self.marker - self.start) * n // (self.end - self.start + 1)
        span = self.end - self.start + 1
        silent = self._bins(self.gaps, n, span)
        unfetched = self._bins(self.holes, n, span) - silent
        marked = {(ts - self.start) * n // span for ts in self.marks} if span > 0 else set()
        chars, looks = [], []
        for i, c in enumerate(self.counts[:width]):
            chars.append(BLOCKS[0 if c == 0 else max(1, round(c * 8 / top))])
            style = "bold yellow" if i == mark else "magenta" if i in marked else "green"
            shade = GAP_SHADE if i in silent else HOLE_SHADE if i in unfetched else ""
            looks.append(style + (f" on {shade}" if shade else ""))
        bars = _runs(chars, looks)
        left, right = _fmt(self.start), _fmt(self.end)
        axis = [" "] * width
        styles = ["dim"] * width
        for i, ch in enumerate(left[:width]):
            axis[i] = ch
        for i, ch in enumerate(right):
            j = width - len(right) + i
            if j >= len(left) + 1:
                axis[j] = ch
        for ts in self.flags:
            i = (ts - self.start) * n // span if span > 0 else -1
            if 0 <= i < min(n, width):
                axis[i], styles[i] = "!", "bold white on red"
        if mark is not None and 0 <= mark < width:
            axis[mark], styles[mark] = "▲", "bold yellow"
        return Text("\n").join([bars, _runs(axis, styles)])

    def _bins(self, spans: list[tuple[int, int]], n: int, span: int) -> set[int]:
        """The bins the ms spans touch."""
        out: set[int] = set()
        for a, b in spans:
            if b < self.start or a > self.end:
                continue
            lo = max(0, (a - self.start) * n // span)
            hi = min(n - 1, (b - self.start) * n // span)
            out.update(range(lo, hi + 1))
        return out
