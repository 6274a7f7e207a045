"""The explorer (no command): open the source, then the TUI; a summary when not a terminal."""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..filter.language import Filter
from .common import EXIT_OK, fail
from .opening import Opened, open_sources, read_headless, wants_live

if TYPE_CHECKING:
    pass
from .common import bookmark_named, build_filter, parse_at


def cmd_explore(args: argparse.Namespace) -> int:
    interactive = sys.stdout.isatty()
    if interactive:
        # no cyclic collection until the first window is on screen (the app then freezes what
        # the start made and collects again): the start allocates ~80k objects that all live
        # on, and the collector scanned them again and again on the way (~20 ms, measured)
        gc.disable()
    opened = open_sources(args)
    if not interactive:
        if wants_live(args):
            fail(
                "the explorer needs a terminal; use `trailtui query ... --profile/--region` "
                "in scripts"
            )
        # not a terminal (a pipe, a script): read what there is and say so instead of drawing
        read_headless(opened, Filter(), quiet=True)
        return _summary(opened)
    now = None
    if args.demo:
        from ..sources.demo import DEMO_END

        now = DEMO_END
    text = args.filter or ""
    if args.bookmark:
        bm = bookmark_named(args.bookmark)
        text = (bm.filter_text() + " " + text).strip()
        from ..evidence.bookmarks import Bookmarks

        with contextlib.suppress(Exception):
            Bookmarks().touch(bm.name)
    initial = build_filter(text) if not now else parse_at(text, now)
    # read the first window while the UI toolkit imports (about half a second); a window
    # relative to now (24h) is computed by the app as it applies it: nothing to read ahead
    if opened.window == "all":
        opened.store.prefetch(initial, 0, 100, opened.scope)
    from ..ui.app import run_app

    return run_app(
        opened.store,
        opened.scope,
        opened.label,
        now=now,
        initial_filter=text,
        case=args.case,
        sources=opened.sources,
        window=opened.window,
        follow=args.follow,
        rules=args.rules or (demo_rules() if args.demo else None),
    )


def demo_rules() -> Path:
    """The demo's own rules (the detections screen runs them with --demo)."""
    from ..detect.demo import DEMO_RULES

    return DEMO_RULES


def _summary(opened: Opened) -> int:
    from rich.console import Console
    from rich.text import Text

    from ..filter.language import Filter

    store = opened.store
    console = Console(highlight=False)
    rng = store.time_range(opened.scope)
    total = store.count(Filter(), opened.scope)
    console.print(Text(f"{total:,} events in {opened.label}", style="bold"))
    if rng:
        from datetime import UTC, datetime

        a, b = (datetime.fromtimestamp(x / 1000, tz=UTC) for x in rng)
        console.print(Text(f"from {a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC"))
    return EXIT_OK
