"""Command line: the explorer (default), ingest, query.

Heavy modules (boto3, textual) are imported lazily so ``trailtui --help`` is fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from .bookmarks import Bookmark
    from .query import Filter
    from .sources.files import IngestReport
    from .store import Store

EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"trailtui: error: {message}\n")
    raise SystemExit(EXIT_USAGE)


def _add_source_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--from",
        dest="from_paths",
        nargs="+",
        metavar="PATH",
        help="files or folders of CloudTrail logs (read into the cache first)",
    )
    src.add_argument("--demo", action="store_true", help="the bundled demo incident")
    p.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")


def _add_live_args(p: argparse.ArgumentParser) -> None:
    live = p.add_argument_group("live CloudTrail (LookupEvents)")
    live.add_argument(
        "--profile", metavar="NAME[,NAME]", help="AWS profile(s); several = several accounts"
    )
    live.add_argument("--region", metavar="REGION[,REGION]|all", help="region(s) to look up")
    live.add_argument(
        "--endpoint-url", metavar="URL", help="CloudTrail endpoint (default: boto3's)"
    )


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="trailtui",
        description="Explore AWS CloudTrail events from the terminal.",
        epilog="Commands: ingest, query, history, who, bookmarks, case. Without a command, "
        "opens the explorer.",
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    ing = sub.add_parser("ingest", help="load files and folders into the cache")
    ing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ing.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")
    ing.add_argument("--force", action="store_true", help="re-read files already ingested")

    q = sub.add_parser(
        "query",
        help="print the events matching a filter",
        description="Print matching events, newest first. Exit 0 with matches, 1 with none, "
        "2 on bad usage.",
    )
    q.add_argument("filter", nargs="?", default="", help="filter, e.g. 'name:Stop* user:bob'")
    _add_source_args(q)
    q.add_argument(
        "--format", choices=("table", "json", "jsonl", "csv"), default="table", help="output"
    )
    q.add_argument("--limit", type=int, default=None, metavar="N", help="at most N events")
    q.add_argument("--since", metavar="WHEN", help="like since: in the filter (24h, 2024-05-01)")
    q.add_argument("--until", metavar="WHEN", help="like until: in the filter")
    q.add_argument("--bookmark", metavar="NAME", help="run a saved filter (ANDed with FILTER)")
    _add_live_args(q)

    b = sub.add_parser(
        "bookmarks",
        help="saved filters: save, list, show, delete, export, import",
        description="Saved filters live in bookmarks.toml in the config dir "
        "(TRAILTUI_CONFIG_DIR), readable and editable by hand.",
    )
    bsub = b.add_subparsers(dest="action", required=True, parser_class=_Parser)
    bs = bsub.add_parser("save", help="save a filter under a name")
    bs.add_argument("name")
    bs.add_argument("filter")
    bs.add_argument("--since", metavar="WHEN", help="a relative window (24h, 7d) or a start time")
    bs.add_argument("--until", metavar="WHEN", help="an end time")
    bs.add_argument("--source", default="", help="where it applies (demo, a path, ...)")
    bsub.add_parser("list", help="every bookmark")
    bsh = bsub.add_parser("show", help="one bookmark as TOML")
    bsh.add_argument("name")
    bd = bsub.add_parser("delete", help="delete a bookmark")
    bd.add_argument("name")
    be = bsub.add_parser("export", help="print bookmarks as TOML (all, or the names given)")
    be.add_argument("names", nargs="*")
    bi = bsub.add_parser(
        "import", help="add the bookmarks of a TOML file (same names are replaced)"
    )
    bi.add_argument("file", type=Path)

    c = sub.add_parser("case", help="pinned evidence: show or export a case")
    csub = c.add_subparsers(dest="action", required=True, parser_class=_Parser)
    cshow = csub.add_parser("show", help="the pins of a case, oldest first")
    cshow.add_argument("--case", default="default")
    cexp = csub.add_parser("export", help="Markdown timeline + JSONL with SHA-256 + the filters")
    cexp.add_argument("--case", default="default")
    cexp.add_argument("--to", type=Path, default=None, metavar="DIR", help="folder (default: .)")

    h = sub.add_parser(
        "history",
        help="an EC2 instance's lifecycle, oldest first",
        description="Every lifecycle event of an instance with its state change, who, from "
        "where and with what. Exit 0 when there is any, 1 when none.",
    )
    h.add_argument("instance", metavar="INSTANCE_ID", help="i-…")
    _add_source_args(h)
    h.add_argument("--format", choices=("table", "jsonl"), default="table")

    w = sub.add_parser(
        "who",
        help="who really made an event: the chain of credentials back to its origin",
        description="Follow the event's temporary credentials back through the STS calls that "
        "issued them. Exit 0 when the event is cached, 1 when not.",
    )
    w.add_argument("event_id", metavar="EVENT_ID")
    _add_source_args(w)
    w.add_argument("--format", choices=("text", "json"), default="text")

    # the explorer's own options live on the main parser
    p.add_argument("--from", dest="from_paths", nargs="+", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--demo", action="store_true", help="open the bundled demo incident")
    p.add_argument("--filter", metavar="FILTER", help="open with this filter")
    p.add_argument("--bookmark", metavar="NAME", help="open with a saved filter")
    p.add_argument("--case", default="default", metavar="NAME", help="the case pins go to")
    _add_live_args(p)
    p.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")
    return p


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("trailtui")
    except Exception:
        return "unknown"


# --------------------------------------------------------------------------- helpers


@dataclass(slots=True)
class Opened:
    store: Store
    scope: list[int] | None
    label: str


def open_source(
    demo: bool, from_paths: Sequence[str] | None, cache: Path | None, quiet: bool = False
) -> Opened:
    """The store and the scope (origin ids) for --demo / --from / the whole cache."""
    from . import locations
    from .store import Store, StoreError

    try:
        if demo:
            from .sources.demo import DEMO_ORIGIN, ensure_demo_store

            path = cache or locations.demo_cache_db()
            if not path.exists() and not quiet:
                sys.stderr.write("trailtui: generating the demo incident (first run only)…\n")
            store = ensure_demo_store(path)
            return Opened(store, None, DEMO_ORIGIN)
        store = Store(cache or locations.default_cache_db())
    except StoreError as e:
        _fail(str(e))
    if from_paths:
        paths = [Path(p) for p in from_paths]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            _fail(f"no such file or folder: {', '.join(missing)}")
        report = run_ingest(store, paths, quiet=quiet, summary=False)
        for fr in report.rejected_files:
            sys.stderr.write(f"trailtui: skipped {fr.path}: {fr.error}\n")
        from .sources.files import origin_uri

        scope = store.origins_under([origin_uri(p) for p in paths])
        return Opened(store, scope, ", ".join(str(p) for p in paths))
    return Opened(store, None, "cache")


def open_live(args: argparse.Namespace, f: Filter, limit: int | None) -> Opened:
    """Fetch what LookupEvents has for the filter and window (progress on stderr), into the
    cache; the scope is those account-regions."""
    import time
    from datetime import UTC, datetime

    from . import locations
    from .sources.lookup import (
        LookupError_,
        build_fetchers,
        fetch_all,
        plan_for,
        resolve_regions,
        targets,
    )
    from .store import Store, StoreError

    profiles: list[str | None] = (
        [p.strip() for p in args.profile.split(",")] if args.profile else [None]
    )
    try:
        store = Store(args.cache or locations.default_cache_db())
        regions = resolve_regions(args.region, profiles[0])
    except StoreError as e:
        _fail(str(e))
    except Exception as e:  # boto3 configuration problems: one line
        _fail(f"{type(e).__name__}: {e}")
    if not regions:
        _fail("no region: pass --region (or set AWS_REGION / a region in your profile)")
    tgts = targets(profiles, regions)
    plan = plan_for(f)
    start = f.since or datetime.now(UTC)
    end = f.until or datetime.now(UTC)
    err = sys.stderr
    if plan.full_scan:
        err.write("trailtui: no equality to push to LookupEvents: a full scan of the window\n")
    else:
        pushed = ", ".join(c[0]["AttributeKey"] + "=" + c[0]["AttributeValue"] for c in plan.calls)
        err.write(f"trailtui: LookupEvents with {pushed}; the rest of the filter applies locally\n")
    fetchers = build_fetchers(store, tgts, plan, start, end, args.endpoint_url)
    scope_keys = [t.key for t in tgts]
    t0 = time.perf_counter()
    done = {"events": 0, "pages": 0}

    def on_page(fe: object) -> None:
        done["pages"] += 1
        done["events"] = sum(x.stats.events for x in fetchers)
        rate = done["events"] / max(time.perf_counter() - t0, 1e-6)
        err.write(
            f"\rtrailtui: {done['pages']} pages, {done['events']:,} events ({rate:,.0f}/s)   "
        )
        err.flush()

    def enough() -> bool:
        if limit is None:
            return False
        scope = store.origins_under(scope_keys)
        return store.count(f, scope) >= limit

    try:
        errors = fetch_all(fetchers, on_page=on_page, enough=enough)
    except LookupError_ as e:
        errors = [str(e)]
    if done["pages"]:
        err.write("\n")
    skipped = sum(1 for x in fetchers if x.stats.skipped)
    if skipped:
        err.write(f"trailtui: {skipped} of {len(fetchers)} lookups served from the cache\n")
    for line in dict.fromkeys(errors):
        err.write(f"trailtui: {line}\n")
    if errors and not store.origins_under(scope_keys):
        raise SystemExit(EXIT_USAGE)
    scope = store.origins_under(scope_keys)
    return Opened(store, scope, ", ".join(scope_keys))


def run_ingest(
    store: Store,
    paths: Sequence[Path],
    quiet: bool = False,
    summary: bool = True,
    force: bool = False,
) -> IngestReport:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from .sources.files import FileReport, ingest_paths

    console = Console(file=sys.stderr, highlight=False)
    counts = {"events": 0}
    import time

    t0 = time.perf_counter()
    progress = Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TextColumn("{task.fields[events]:,} events"),
        TextColumn("{task.fields[rate]:,.0f} events/s"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
        transient=not summary,
    )
    with progress:
        task = progress.add_task("ingest", total=None, events=0, rate=0.0)

        def on_progress(done: int, total: int, fr: FileReport) -> None:
            counts["events"] += fr.events
            elapsed = max(time.perf_counter() - t0, 1e-6)
            progress.update(
                task,
                completed=done,
                total=total,
                events=counts["events"],
                rate=counts["events"] / elapsed,
            )

        report = ingest_paths(store, paths, progress=on_progress, force=force)
    if summary:
        print_ingest_summary(report, console)
    return report


def print_ingest_summary(report: IngestReport, console: Console) -> None:
    from rich.text import Text

    from .safe import clean

    rate = report.events / report.seconds if report.seconds > 0 else 0.0
    n_files = len(report.files)
    console.print(
        Text(
            f"{report.added:,} events added, {report.duplicates:,} duplicates skipped, "
            f"{n_files:,} files read in {report.seconds:.1f}s ({rate:,.0f} events/s)"
            + (
                f", {report.unchanged:,} unchanged since the last ingest"
                if report.unchanged
                else ""
            )
        )
    )
    digests = sum(1 for f in report.files if f.digest)
    if digests:
        console.print(Text(f"{digests} CloudTrail digest files recognised and skipped"))
    bad = report.rejected_files
    if bad:
        console.print(Text(f"{len(bad)} files rejected:", style="bold red"))
        for fr in bad:
            console.print(Text(f"  {clean(fr.path)}: {clean(fr.error)}"))
    for fr in report.damaged_files:
        console.print(
            Text(
                f"  {clean(fr.path)}: read in part ({fr.events} events kept): {clean(fr.error)}",
                style="yellow",
            )
        )
    if report.rejected_records:
        console.print(
            Text(
                f"{report.rejected_records:,} records rejected (kept the rest of their files)",
                style="yellow",
            )
        )


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
    live = bool(args.profile or args.region or args.endpoint_url)
    if live and (args.demo or args.from_paths):
        _fail("--profile/--region fetch live events; don't combine them with --demo or --from")
    if live:
        from datetime import UTC, datetime, timedelta

        f = build_filter(text, args.since, args.until)
        if f.since is None:
            f = f.with_window(datetime.now(UTC) - timedelta(hours=24), f.until)
        opened = open_live(args, f, args.limit)
    else:
        f = build_filter(text, args.since, args.until)
        opened = open_source(args.demo, args.from_paths, args.cache, quiet=args.format != "table")
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
    err = Console(file=sys.stderr, highlight=False)
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
    live_args = bool(args.profile or args.region or args.endpoint_url)
    if live_args and (args.demo or args.from_paths):
        _fail("--profile/--region fetch live events; don't combine them with --demo or --from")
    if live_args:
        return _explore_live(args)
    opened = open_source(args.demo, args.from_paths, args.cache)
    if not sys.stdout.isatty():
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

    return run_app(
        opened.store, opened.scope, opened.label, now=now, initial_filter=text, case=args.case
    )


def _explore_live(args: argparse.Namespace) -> int:
    from . import locations
    from .sources.lookup import resolve_regions, targets
    from .store import Store, StoreError

    profiles: list[str | None] = (
        [p.strip() for p in args.profile.split(",")] if args.profile else [None]
    )
    try:
        store = Store(args.cache or locations.default_cache_db())
        regions = resolve_regions(args.region, profiles[0])
    except StoreError as e:
        _fail(str(e))
    except Exception as e:  # boto3 configuration problems: one line
        _fail(f"{type(e).__name__}: {e}")
    if not regions:
        _fail("no region: pass --region (or set AWS_REGION / a region in your profile)")
    tgts = targets(profiles, regions)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "ingest":
            return cmd_ingest(args)
        if args.command == "query":
            return cmd_query(args)
        if args.command == "history":
            return cmd_history(args)
        if args.command == "who":
            return cmd_who(args)
        if args.command == "bookmarks":
            return cmd_bookmarks(args)
        if args.command == "case":
            return cmd_case(args)
        return cmd_explore(args)
    except KeyboardInterrupt:
        return 130
