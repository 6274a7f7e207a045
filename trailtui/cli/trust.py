"""Can I trust this window? ``trailtui gaps`` (delivery gaps of trail files; what LookupEvents
and CloudWatch Logs could not fetch), the tampering warning the headless commands print on
stderr, and keeping what ``verify`` found of each log file in the cache."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .common import EXIT_NO_MATCH, EXIT_OK, build_filter, fail
from .opening import Opened, open_sources, read_headless, wants_live

if TYPE_CHECKING:
    from ..filter.language import Filter
    from ..investigate.integrity import Report


def trail_buckets(opened: Opened) -> list[str]:
    """The buckets of the trails being read (changes to them count as tampering)."""
    return [b for s in opened.sources if (b := getattr(s, "bucket", ""))]


def warn_tampering(opened: Opened, f: Filter) -> None:
    """One stderr line when the window holds calls that stop or narrow the logging."""
    from ..investigate.tampering import find, summary
    from ..safe import clean

    findings = find(opened.store, f, opened.scope, trail_buckets(opened))
    if findings:
        sys.stderr.write(
            f"trailtui: warning: tampering in the window: {clean(summary(findings), 400)} "
            "(see --bookmark tampering)\n"
        )


def cmd_gaps(args: argparse.Namespace) -> int:
    from ..filter.language import DURATION
    from ..investigate.gaps import deliveries, find_gaps
    from ..investigate.tampering import find
    from ..sources.base import LogFiles, window_of

    if DURATION.match(args.min.strip()) is None:
        fail(f"--min: expected a duration (30m, 2h, 1d), got {args.min!r}")
    min_gap = _duration(args.min.strip())
    if not args.from_paths and not wants_live(args):
        fail(
            "gaps reads trail log files (--from PATH|s3://BUCKET[/PREFIX]), or says what "
            "LookupEvents (--profile/--region) or CloudWatch Logs (--log-group) could not fetch"
        )
    f = build_filter("", args.since, args.until)
    opened = open_sources(args)
    if not args.from_paths:
        return _fetch_holes(args, opened, f, min_gap)
    trails = [s for s in opened.sources if isinstance(s, LogFiles)]
    if f.since is None and any(s.default_window == "24h" for s in opened.sources):
        from datetime import UTC, datetime

        f = f.with_window(datetime.now(UTC) - timedelta(hours=24), f.until)
    read_headless(opened, f, quiet=args.format != "text")
    start, end = window_of(f)
    names = [n for s in trails for n in s.log_files(start, end)]
    findings = find(opened.store, f, opened.scope, trail_buckets(opened))
    gaps = find_gaps(deliveries(names), min_gap, findings, (f.since, f.until))
    _emit(gaps, args.format)
    if args.format != "json":
        n = len(deliveries(names))
        sys.stderr.write(
            f"{len(gaps)} gap{'s' if len(gaps) != 1 else ''} of at least {args.min} "
            f"in {n:,} log files\n"
        )
    return EXIT_NO_MATCH if gaps else EXIT_OK


def _fetch_holes(args: argparse.Namespace, opened: Opened, f: Filter, min_gap: timedelta) -> int:
    """LookupEvents / CloudWatch Logs: read the window (the last 24 h unless told), then list
    the stretches still not fetched (a region that refused, a read cut short), as gaps."""
    from datetime import UTC, datetime

    from ..investigate.gaps import coverage_holes
    from ..safe import clean

    if f.since is None:
        f = f.with_window(datetime.now(UTC) - timedelta(hours=24), f.until)
    read_headless(opened, f, quiet=args.format != "text")
    holes = coverage_holes(opened.store, opened.scope, f, datetime.now(UTC), min_gap)
    _emit(holes, args.format)
    if args.format != "json":
        sys.stderr.write(
            f"{len(holes)} stretch{'es' if len(holes) != 1 else ''} of at least {args.min} "
            f"not fetched from {clean(opened.label, 200)}\n"
        )
    return EXIT_NO_MATCH if holes else EXIT_OK


def _emit(items: Sequence[Any], fmt: str) -> None:
    """Gaps (or holes) on stdout: a JSON array, or a line each."""
    from ..safe import clean, json_escape_unsafe

    if fmt == "json":
        text = json.dumps([g.to_json() for g in items], ensure_ascii=False, indent=2)
        sys.stdout.write("\n".join(json_escape_unsafe(x) for x in text.split("\n")) + "\n")
    else:
        for g in items:
            sys.stdout.write(clean(g.line(), 1000) + "\n")


def _duration(text: str) -> timedelta:
    from datetime import UTC, datetime

    from ..filter.language import parse_when

    now = datetime(2000, 1, 1, tzinfo=UTC)
    return now - parse_when(text, now)


def keep_checks(args: argparse.Namespace, report: Report) -> None:
    """Each log file's result into the cache (--cache, or the default one), so the explorer's
    detail view and the case export say whether an event's file was validated. A cache that
    can't be written is a warning: the report stands."""
    from .. import locations
    from ..investigate.integrity import record
    from ..safe import clean
    from ..store.store import Store

    if not report.files:
        return
    path = getattr(args, "cache", None) or locations.default_cache_db()
    try:
        with Store(path) as store:
            n = record(store, report)
    except Exception as e:  # StoreError, sqlite3.Error, OSError: one line
        sys.stderr.write(
            f"trailtui: warning: the results were not kept in the cache {path}: "
            f"{clean(f'{type(e).__name__}: {e}', 300)}\n"
        )
        return
    sys.stderr.write(f"trailtui: {n:,} log file results kept in {path}\n")
