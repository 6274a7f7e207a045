"""trailtui query: the events matching a filter, as a table, JSON, JSON Lines or CSV."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from .common import EXIT_NO_MATCH, EXIT_OK, fail
from .opening import open_sources, read_headless
from .trust import warn_tampering

if TYPE_CHECKING:
    from ..filter.language import Filter
    from ..store.store import Store
from .common import bookmark_named, build_filter

COUNT_BUDGET = 0.4  # s: the total after a --limit page, when it can be said that fast


def cmd_query(args: argparse.Namespace) -> int:
    from ..evidence.export import WRITERS, raw_texts

    if args.limit is not None and args.limit < 0:
        fail("--limit must be 0 or more")
    text = args.filter
    if args.bookmark:
        text = (bookmark_named(args.bookmark).filter_text() + " " + text).strip()
    f = build_filter(text, args.since, args.until)
    opened = open_sources(args)
    read_headless(opened, f, args.limit, quiet=args.format != "table")
    warn_tampering(opened, f)
    store = opened.store
    out = sys.stdout
    try:
        if args.format == "table":
            n = print_table(store, f, opened.scope, args.limit)
        else:
            rows = store.iter_raw(f, opened.scope, args.limit)
            n = WRITERS[args.format](raw_texts(rows), out)
            if not n:
                sys.stderr.write("no events match\n")
        out.flush()
    except BrokenPipeError:
        # `| head`: the reader went away; that's fine
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    finally:
        store.close()
    return EXIT_OK if n else EXIT_NO_MATCH


def print_table(store: Store, f: Filter, scope: list[int] | None, limit: int | None) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..safe import clean

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=240, color_system=None)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for col in ("time (UTC)", "event", "who", "source IP", "region", "resources", "error"):
        table.add_column(col, overflow="fold" if col == "resources" else "ellipsis")
    n = 0
    offset = 0
    page = 500
    while limit is None or n < limit:
        want = page if limit is None else min(page, limit - n)
        rows = store.window(f, offset, want, scope)
        for r in rows:
            table.add_row(
                r.time.strftime("%Y-%m-%d %H:%M:%S"),
                Text(clean(r.name)),
                Text(clean(r.principal, 60)),
                Text(clean(r.source_ip, 40)),
                Text(clean(r.region)),
                Text(clean(r.resources, 120)),
                Text(clean(r.error_code, 40), style="red") if r.error_code else Text(""),
            )
        n += len(rows)
        offset += len(rows)
        if len(rows) < want:
            break
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    if not n:
        err.print(Text("no events match"))
        return 0
    console.print(table)
    total: int | None = n
    if limit is not None and n >= limit:
        # how many match in all, if a moment says it (a filter on the raw records counts by
        # reading every record: seconds on a million events, not worth holding the answer)
        from ..store.db import Interrupted

        deadline = time.monotonic() + COUNT_BUDGET
        try:
            total = store.count(f, scope, lambda: time.monotonic() > deadline)
        except Interrupted:
            total = None
    more = " (more match: not counted)" if total is None else ""
    if total is not None and total > n:
        more = f" (of {total:,} matching)"
    err.print(Text(f"{n:,} event{'' if n == 1 else 's'}{more}", style="dim"))
    return n
