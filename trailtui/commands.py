"""The commands: query, ingest, history, who, bookmarks, case and the explorer."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .cli import EXIT_NO_MATCH, EXIT_OK, _fail
from .opening import Opened, live_targets, open_live, open_source, run_ingest

if TYPE_CHECKING:
    from datetime import datetime

    from .bookmarks import Bookmark
    from .query import Filter
    from .store import Store


def _parse_at(text: str, now: datetime) -> Filter:
    from .query import FilterSyntaxError, parse

    try:
        return parse(text, now)
    except FilterSyntaxError as e:
        _fail(f"filter: {e}")


def build_filter(text: str, since: str | None = None, until: str | None = None) -> Filter:
    from .query import FilterSyntaxError, parse

    full = text
    if since:
        full += f' since:"{since}"'
    if until:
        full += f' until:"{until}"'
    try:
        return parse(full)
    except FilterSyntaxError as e:
        _fail(f"filter: {e}")


# --------------------------------------------------------------------------- commands


def cmd_ingest(args: argparse.Namespace) -> int:
    from . import locations
    from .store import Store, StoreError

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    try:
        store = Store(args.cache or locations.default_cache_db())
    except StoreError as e:
        _fail(str(e))
    with store:
        report = run_ingest(store, args.paths, force=args.force)
    # 1 only when nothing at all could be read
    return (
        EXIT_NO_MATCH
        if report.files and len(report.rejected_files) == len(report.files)
        else EXIT_OK
    )


def cmd_query(args: argparse.Namespace) -> int:
    from .export import WRITERS, raw_texts

    if args.limit is not None and args.limit < 0:
        _fail("--limit must be 0 or more")
    text = args.filter
    if args.bookmark:
        text = (_bookmark(args.bookmark).filter_text() + " " + text).strip()
    live = bool(args.profile or args.region or args.endpoint_url) and not args.from_paths
    if live and args.demo:
        _fail("--profile/--region fetch live events; don't combine them with --demo")
    if live:
        from datetime import UTC, datetime, timedelta

        f = build_filter(text, args.since, args.until)
        if f.since is None:
            f = f.with_window(datetime.now(UTC) - timedelta(hours=24), f.until)
        opened = open_live(args, f, args.limit)
    else:
        f = build_filter(text, args.since, args.until)
        opened = open_source(
            args.demo,
            args.from_paths,
            args.cache,
            quiet=args.format != "table",
            args=args,
            window=(f.since, f.until),
        )
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

    from .safe import clean

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
    total = store.count(f, scope) if limit is not None and n >= limit else n
    err.print(
        Text(f"{n:,} events" + (f" (of {total:,} matching)" if total > n else ""), style="dim")
    )
    return n


def _bookmark(name: str) -> Bookmark:
    from .bookmarks import BookmarkError, Bookmarks

    try:
        return Bookmarks().get(name)
    except BookmarkError as e:
        _fail(str(e))


def cmd_bookmarks(args: argparse.Namespace) -> int:
    from .bookmarks import Bookmark, BookmarkError, Bookmarks
    from .query import _DURATION, FilterSyntaxError, parse
    from .safe import clean

    bm = Bookmarks()
    try:
        if args.action == "save":
            try:
                parse(args.filter)
            except FilterSyntaxError as e:
                _fail(f"filter: {e}")
            window = since = ""
            if args.since:
                if _DURATION.match(args.since.strip()):
                    window = args.since.strip()
                else:
                    since = args.since.strip()
            b = Bookmark(args.name, args.filter, window, since, args.until or "", args.source)
            parse(b.filter_text())  # the bounds are valid too
            bm.save(b)
            sys.stderr.write(f"saved {clean(b.name, 80)} in {bm.path}\n")
        elif args.action == "list":
            rows = bm.all()
            for b in rows:
                when = b.window or (f"{b.since}..{b.until}" if b.since or b.until else "any time")
                used = f"  last used {b.last_used}" if b.last_used else ""
                sys.stdout.write(clean(f"{b.name}\t{b.filter}\t{when}{used}", 1000) + "\n")
            return EXIT_OK if rows else EXIT_NO_MATCH
        elif args.action == "show":
            sys.stdout.write(bm.export_text([bm.get(args.name).name]))
        elif args.action == "delete":
            bm.delete(args.name)
        elif args.action == "export":
            sys.stdout.write(bm.export_text(args.names or None))
        elif args.action == "import":
            names = bm.import_file(args.file)
            sys.stderr.write(f"imported {len(names)} bookmarks into {bm.path}\n")
    except BookmarkError as e:
        _fail(str(e))
    except FilterSyntaxError as e:
        _fail(f"filter: {e}")
    return EXIT_OK


def cmd_case(args: argparse.Namespace) -> int:
    from .bookmarks import BookmarkError, Case
    from .export import case_markdown, export_case

    try:
        case = Case.open(args.case)
        pins = case.pins()
    except BookmarkError as e:
        _fail(str(e))
    if not pins:
        sys.stderr.write(f"case {case.name} has no pins ({case.path})\n")
        return EXIT_NO_MATCH
    if args.action == "show":
        sys.stdout.write(case_markdown(case.name, pins))
        return EXIT_OK
    paths = export_case(case.name, pins, args.to or Path.cwd())
    for p in paths:
        sys.stderr.write(f"wrote {p}\n")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from .history import history
    from .safe import clean, json_escape_unsafe

    opened = open_source(args.demo, args.from_paths, args.cache, quiet=args.format != "table")
    with opened.store:
        steps = history(opened.store, args.instance, opened.scope)
    if not steps:
        sys.stderr.write(f"no lifecycle events for {clean(args.instance, 80)} in the cache\n")
        return EXIT_NO_MATCH
    if args.format == "jsonl":
        for s in steps:
            sys.stdout.write(json_escape_unsafe(json.dumps(s.to_json(), ensure_ascii=False)) + "\n")
        return EXIT_OK
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=240, color_system=None)
    table = Table(box=None, pad_edge=False, header_style="bold", title=Text(f"{args.instance}"))
    for col in ("time (UTC)", "event", "state", "who", "actor", "from", "agent", "error"):
        table.add_column(col, overflow="fold" if col == "agent" else "ellipsis")
    for s in steps:
        table.add_row(
            s.time.strftime("%Y-%m-%d %H:%M:%S"),
            Text(clean(s.name)),
            Text(clean(s.change)),
            Text(clean(s.who, 60)),
            Text(s.actor, style="" if s.actor == "person" else "cyan"),
            Text(clean(s.source_ip, 40)),
            Text(clean(s.user_agent, 60)),
            Text(clean(s.error_code, 40), style="red"),
            style="red" if s.failed else None,
        )
    console.print(table)
    return EXIT_OK


def cmd_who(args: argparse.Namespace) -> int:
    import json

    from .identity import render_text, who
    from .safe import clean, json_escape_unsafe

    opened = open_source(args.demo, args.from_paths, args.cache, quiet=True)
    with opened.store:
        chain = who(opened.store, args.event_id)
    if chain is None:
        sys.stderr.write(f"event {clean(args.event_id, 80)} is not in the cache\n")
        return EXIT_NO_MATCH
    if args.format == "json":
        text = json.dumps(chain.to_json(), ensure_ascii=False, indent=2)
        sys.stdout.write("\n".join(json_escape_unsafe(x) for x in text.split("\n")) + "\n")
    else:
        for line in render_text(chain):
            sys.stdout.write(clean(line, 2000) + "\n")
    return EXIT_OK


def cmd_explore(args: argparse.Namespace) -> int:
    live_args = bool(args.profile or args.region or args.endpoint_url) and not args.from_paths
    if live_args and args.demo:
        _fail("--profile/--region fetch live events; don't combine them with --demo")
    if live_args:
        return _explore_live(args)
    tty = sys.stdout.isatty()
    opened = open_source(args.demo, args.from_paths, args.cache, args=args, lazy=tty)
    if not tty:
        # not a terminal (a pipe, a script): say what is there instead of drawing
        return _summary(opened)
    now = None
    if args.demo:
        from .sources.demo import DEMO_END

        now = DEMO_END
    text = args.filter or ""
    if args.bookmark:
        bm = _bookmark(args.bookmark)
        text = (bm.filter_text() + " " + text).strip()
        from .bookmarks import Bookmarks

        with contextlib.suppress(Exception):
            Bookmarks().touch(bm.name)
    initial = build_filter(text) if not now else _parse_at(text, now)
    # read the first window while the UI toolkit imports (about half a second)
    opened.store.prefetch(initial, 0, 100, opened.scope)
    from .ui.app import run_app

    trail = None
    window = "all"
    if opened.trails:
        from .sources.s3 import S3Trail
        from .ui.trail import TrailSource

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
        _fail(
            "the explorer needs a terminal; use `trailtui query ... --profile/--region` in scripts"
        )
    from .ui.app import run_app
    from .ui.live import LiveSource

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

    from .query import Filter

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


def cmd_verify(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from .integrity import check, render
    from .query import parse_when
    from .safe import clean
    from .sources.s3 import S3Location, S3Trail, make_client

    now = datetime.now(UTC)
    try:
        start = parse_when(args.since, now)
        end = parse_when(args.until, now, end_of_day=True) if args.until else now
        loc = S3Location.parse(args.location)
    except ValueError as e:
        _fail(str(e))
    try:
        trail = S3Trail(make_client(args.profile, args.region), loc)
        report = check(trail, start, end, args.profile, args.region)
    except Exception as e:
        _fail(f"{type(e).__name__}: {e}")
    for line in render(report):
        sys.stdout.write(clean(line, 2000) + "\n")
    return EXIT_OK if report.ok else EXIT_NO_MATCH
