"""The explorer (no command): open the source, then the TUI; a summary when not a terminal."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING

from .common import EXIT_OK, fail
from .opening import Opened, live_targets, open_source

if TYPE_CHECKING:
    pass
from .common import bookmark_named, build_filter, parse_at


def cmd_explore(args: argparse.Namespace) -> int:
    live_args = bool(args.profile or args.region or args.endpoint_url) and not args.from_paths
    if live_args and args.demo:
        fail("--profile/--region fetch live events; don't combine them with --demo")
    if live_args:
        return _explore_live(args)
    tty = sys.stdout.isatty()
    opened = open_source(args.demo, args.from_paths, args.cache, args=args, lazy=tty)
    if not tty:
        # not a terminal (a pipe, a script): say what is there instead of drawing
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
    # read the first window while the UI toolkit imports (about half a second)
    opened.store.prefetch(initial, 0, 100, opened.scope)
    from ..ui.app import run_app

    trail = None
    window = "all"
    if opened.trails:
        from ..sources.s3 import S3Trail
        from ..ui.trail import TrailSource

        trail = TrailSource(list(opened.trails), args.profile, args.region)
        if any(isinstance(t, S3Trail) for t in opened.trails):
            window = "24h"  # a bucket can hold years: the newest day first
    return run_app(
        opened.store,
        opened.scope,
        opened.label,
        now=now,
        initial_filter=text,
        case=args.case,
        trail=trail,
        window=window,
    )


def _explore_live(args: argparse.Namespace) -> int:
    store, tgts = live_targets(args)
    scope = [store.origin_id(t.key, "lookup") for t in tgts]
    if not sys.stdout.isatty():
        fail(
            "the explorer needs a terminal; use `trailtui query ... --profile/--region` in scripts"
        )
    from ..ui.app import run_app
    from ..ui.live import LiveSource

    label = ", ".join(t.key.removeprefix("lookup:") for t in tgts)
    return run_app(
        store,
        scope,
        label,
        initial_filter=args.filter or "",
        case=args.case,
        live=LiveSource(tgts, args.endpoint_url),
        window="24h",
    )


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
