"""Run the explorer (or a bare Textual app) and note the moment its first window is painted.

    python bench/_firstpaint.py MARK trailtui [ARGS...]   the real program, unchanged, with a
                                                          hook installed as trailtui.ui.app loads
    python bench/_firstpaint.py MARK bare                 a Textual app with a Static and a Footer

TRAILTUI_BENCH_EXIT_AT_FRAME=1 ends the process as that frame is written (to count the
instructions up to it: valgrind --tool=callgrind --separate-threads=yes).

MARK gets "<epoch seconds> <peak RSS kB> <process age s> <frame epoch seconds>" once the
first frame is on screen, then the app exits. Two moments: the frame (the first frame the app
writes to the terminal that holds the list's first window; for the bare app its first frame)
and the epoch (the app idle after that window arrived: Textual then has run what it queued
after that refresh, e.g. the footer's keys, so it is the frame plus whatever came with it).
The hook lives here, not in the product: it patches TrailApp when its module is imported
(which the explorer does lazily, after its first window is prefetched), so the program runs
its own start-up path.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import resource
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any


def process_age() -> float:
    """Seconds since this process started (Linux /proc; -1 elsewhere)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return -1.0


FRAME: list[float] = []  # when the first frame with the list was written


def note(mark: Path, app: Any) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    now = time.time()
    frame = FRAME[0] if FRAME else now
    mark.write_text(f"{now} {rss} {process_age()} {frame}\n")
    app.exit(0)


def note_frames(cls: Any, shown: Any) -> None:
    """Remember when ``cls`` first writes a frame while ``shown(app)`` is true."""
    original = cls._display

    def _display(self: Any, screen: Any, renderable: Any) -> None:
        original(self, screen, renderable)
        if renderable is not None and not FRAME and shown(self):
            FRAME.append(time.time())
            if os.environ.get("TRAILTUI_BENCH_EXIT_AT_FRAME"):
                # for an instruction count to the first frame (valgrind): stop right there
                Path(sys.argv[1]).write_text(f"{FRAME[0]} 0 0 {FRAME[0]}\n")
                os._exit(0)

    cls._display = _display


def patch_trailapp(mod: ModuleType, mark: Path) -> None:
    cls = mod.TrailApp
    original = cls.on_event_list_page_loaded
    done = [False]

    def on_page_loaded(self: Any, msg: Any) -> None:
        original(self, msg)
        if not done[0] and 0 in self.event_list.pages:
            done[0] = True
            self.call_after_refresh(lambda: note(mark, self))

    cls.on_event_list_page_loaded = on_page_loaded
    # the first window may be prefetched and on screen at mount already
    original_mount = cls.on_mount

    def on_mount(self: Any) -> None:
        original_mount(self)
        if not done[0] and 0 in self.event_list.pages:
            done[0] = True
            self.call_after_refresh(lambda: note(mark, self))

    cls.on_mount = on_mount
    note_frames(cls, lambda app: 0 in app.event_list.pages)


class _Hook(importlib.abc.MetaPathFinder):
    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "trailtui.ui.app":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        mark = self.mark

        class Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                loader.exec_module(module)
                patch_trailapp(module, mark)

        spec.loader = Loader()
        return spec


def bare(mark: Path) -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("hello")
            yield Footer()

        def on_mount(self) -> None:
            self.call_after_refresh(lambda: note(mark, self))

    note_frames(Bare, lambda app: True)
    Bare().run()


def main() -> None:
    mark = Path(sys.argv[1])
    if sys.argv[2] == "bare":
        bare(mark)
        return
    sys.meta_path.insert(0, _Hook(mark))
    from trailtui.cli import main as trailtui_main

    raise SystemExit(trailtui_main(sys.argv[3:]))


if __name__ == "__main__":
    main()
