"""trailtui history, who and verify."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..filter.language import Filter
from .common import EXIT_NO_MATCH, EXIT_OK, fail
from .opening import Opened, open_sources, read_headless

if TYPE_CHECKING:
    from ..investigate.identity import Chain

BILLED_WINDOW = timedelta(hours=24)  # what history/who search a billed source for, unless --yes


def _billed(opened: Opened) -> str:
    """The label of a source billed by what it scans (Athena): history and who ask it for
    just what they need, in a window, instead of reading the whole window ('' = none)."""
    from ..sources.base import Billed

    return next((s.label for s in opened.sources if isinstance(s, Billed)), "")


def _window(args: argparse.Namespace, f: Filter, what: str, label: str) -> Filter:
    """The last 24 h, or (--yes) every day the source holds; said on stderr."""
    from ..safe import clean

    if getattr(args, "yes", False):
        sys.stderr.write(f"trailtui: {clean(label, 60)}: {what} in every day it holds (--yes)\n")
        return f
    sys.stderr.write(
        f"trailtui: {clean(label, 60)}: {what} in the last 24 h (--yes: in every day)\n"
    )
    return f.with_window(datetime.now(UTC) - BILLED_WINDOW, None)


def cmd_history(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..investigate.history import history, reading_filter
    from ..safe import clean, json_escape_unsafe

    opened = open_sources(args)
    label = _billed(opened)
    if label:  # the instance's events only (where the cache saw it live, when it has)
        f = reading_filter(opened.store, args.instance, opened.scope)
        f = _window(args, f, f"looking for {clean(args.instance, 80)}", label)
        read_headless(opened, f, quiet=args.format != "table")
    else:
        read_headless(opened, Filter(), quiet=args.format != "table")
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

    from ..investigate.identity import render_text, who
    from ..safe import clean, json_escape_unsafe

    opened = open_sources(args)
    if _billed(opened):
        chain = _who_asking(opened, args)
    else:
        read_headless(opened, Filter(), quiet=True)
        chain = who(opened.store, args.event_id)
    opened.store.close()
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


def _who_asking(opened: Opened, args: argparse.Namespace) -> Chain | None:
    """who over a billed source: the event (when the cache lacks it), then, while the chain
    stops at a key the cache holds no issuer of, the STS call that issued it (its account,
    the 36 h before the key's use), each its own small query."""
    from ..investigate.identity import MAX_DEPTH, event_filter, issuer_filter, who
    from ..safe import clean

    store = opened.store
    if store.rowid_of(args.event_id) is None:
        f = _window(
            args, event_filter(args.event_id), f"looking for event {clean(args.event_id, 80)}",
            _billed(opened),
        )  # fmt: skip
        read_headless(opened, f, quiet=True)
    chain = who(store, args.event_id)
    for _ in range(MAX_DEPTH):
        f2 = issuer_filter(store, chain) if chain is not None else None
        if chain is None or f2 is None:
            break
        read_headless(opened, f2, quiet=True)
        longer = who(store, args.event_id)
        if longer is None or len(longer.links) <= len(chain.links):
            break  # the issuer isn't in the trail: the chain ends at the edge it had
        chain = longer
    return chain


def cmd_verify(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from ..filter.language import parse_when
    from ..investigate.integrity import FolderReader, LogReader, check, render
    from ..safe import clean
    from ..sources.s3 import S3Location, S3Trail, make_client

    now = datetime.now(UTC)
    s3 = args.location.startswith("s3://")
    trail: S3Trail | LogReader
    try:
        # a bucket: the last 24 h unless told; a synced folder: everything it holds
        since = args.since or ("24h" if s3 else None)
        start = parse_when(since, now) if since else None
        end = parse_when(args.until, now, end_of_day=True) if args.until else now
        if s3:
            trail = S3Trail(make_client(args.profile, args.region), S3Location.parse(args.location))
        else:
            path = Path(args.location)
            if not path.is_dir():
                fail(f"no such folder: {args.location}")
            trail = FolderReader(path)
    except ValueError as e:
        fail(str(e))
    keys_file = Path(args.public_keys) if args.public_keys else None
    try:
        report = check(trail, start, end, args.profile, args.region, keys_file)
    except Exception as e:
        fail(f"{type(e).__name__}: {e}")
    if not report.regions:
        fail(
            f"no CloudTrail log files under {args.location} (expected AWSLogs/ACCOUNT/CloudTrail/...)"
        )
    for line in render(report):
        sys.stdout.write(clean(line, 2000) + "\n")
    from .trust import keep_checks

    keep_checks(args, report)  # the detail view and the case export say what was found
    return EXIT_OK if report.ok else EXIT_NO_MATCH
