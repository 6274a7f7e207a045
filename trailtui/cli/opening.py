"""Opening what a command reads: the store and its sources (the demo; files, folders and
s3:// trails with --from; LookupEvents with --profile/--region; nothing: the whole cache).
The explorer hands the sources to its lazy reader; the headless commands read their window
here, through the same Source protocol, with progress on stderr."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_USAGE, fail

if TYPE_CHECKING:
    from ..filter.language import Filter
    from ..sources.base import Source
    from ..store.store import Store

S3_WINDOW = timedelta(hours=24)  # a bucket can hold years: headless reads the last day by default


@dataclass(slots=True)
class Opened:
    store: Store
    scope: list[int] | None
    label: str
    sources: list[Source] = field(default_factory=list)

    @property
    def window(self) -> str:
        """The explorer's first window: the narrowest any source prefers."""
        return "24h" if any(s.default_window == "24h" for s in self.sources) else "all"


def wants_live(args: argparse.Namespace) -> bool:
    """--profile/--region/--endpoint-url/--log-group without --from: LookupEvents (or
    CloudWatch Logs with --log-group)."""
    live = bool(
        getattr(args, "profile", None)
        or getattr(args, "region", None)
        or getattr(args, "endpoint_url", None)
        or getattr(args, "log_group", None)
    )
    if live and getattr(args, "demo", False):
        fail("--profile/--region fetch live events; don't combine them with --demo")
    return live and not getattr(args, "from_paths", None)


def open_sources(args: argparse.Namespace) -> Opened:
    """The store and the sources the arguments name (nothing is read yet)."""
    from .. import locations
    from ..store.store import Store, StoreError

    cache: Path | None = getattr(args, "cache", None)
    try:
        if getattr(args, "demo", False):
            from ..sources.demo import DemoSource, ensure_demo_store

            path = cache or locations.demo_cache_db()
            if not path.exists():
                sys.stderr.write("trailtui: generating the demo incident (first run only)…\n")
            return Opened(ensure_demo_store(path), None, "demo", [DemoSource()])
        if getattr(args, "athena", None):
            return _open_athena(args)
        if wants_live(args):
            return _open_live(args)
        store = Store(cache or locations.default_cache_db())
    except StoreError as e:
        fail(str(e))
    sources = _from_sources(args, getattr(args, "from_paths", None) or [])
    if not sources:
        return Opened(store, None, "cache")
    from ..sources.base import scope_of

    label = ", ".join(s.label for s in sources)
    return Opened(store, scope_of(store, sources), label, sources)


def _from_sources(args: argparse.Namespace, paths: list[str]) -> list[Source]:
    sources: list[Source] = []
    s3 = [p for p in paths if str(p).startswith("s3://")]
    files = [Path(p) for p in paths if p not in s3]
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    if s3:
        from ..sources.s3 import S3Location, S3Trail, make_client

        profile, region = getattr(args, "profile", None), getattr(args, "region", None)
        for url in s3:
            try:
                loc = S3Location.parse(url)
                sources.append(S3Trail(make_client(profile, region), loc, profile, region))
            except ValueError as e:
                fail(str(e))
    if files:
        from ..sources.folder import FolderTrail

        sources.append(FolderTrail(files))
    return sources


def _open_live(args: argparse.Namespace) -> Opened:
    """The cache and the account-regions of --profile / --region (one line on any problem)."""
    from .. import locations
    from ..sources.lookup import LookupSource, resolve_regions, targets
    from ..store.store import Store, StoreError

    profiles: list[str | None] = (
        [p.strip() for p in args.profile.split(",")] if args.profile else [None]
    )
    try:
        store = Store(args.cache or locations.default_cache_db())
        regions = resolve_regions(args.region, profiles[0])
    except StoreError as e:
        fail(str(e))
    except Exception as e:  # boto3 configuration problems: one line
        fail(f"{type(e).__name__}: {e}")
    if not regions:
        fail("no region: pass --region (or set AWS_REGION / a region in your profile)")
    if getattr(args, "log_group", None):
        return _open_logs(args, store, profiles, regions)
    src = LookupSource(targets(profiles, regions), args.endpoint_url)
    return Opened(store, src.scope(store), src.label, [src])


def _open_logs(
    args: argparse.Namespace, store: Store, profiles: list[str | None], regions: list[str]
) -> Opened:
    """--log-group: CloudTrail delivered to CloudWatch Logs, in each profile and region."""
    from ..sources.logs import LogsSource

    groups = [g.strip() for g in args.log_group.split(",") if g.strip()]
    if not groups:
        fail("--log-group: expected a log group name or ARN")
    src = LogsSource(groups, profiles, regions, args.endpoint_url)
    return Opened(store, src.scope(store), src.label, [src])


def _open_athena(args: argparse.Namespace) -> Opened:
    """--athena DB.TABLE: the filter runs on Athena, the log files it names land in the cache."""
    from .. import locations
    from ..sources.athena import AthenaSource
    from ..sources.base import SourceError
    from ..store.store import Store, StoreError

    if getattr(args, "demo", False) or getattr(args, "from_paths", None):
        fail("--athena reads the table's trail; don't combine it with --demo or --from")
    if getattr(args, "log_group", None):
        fail("--athena and --log-group are different sources: pick one")
    try:
        src = AthenaSource(
            args.athena,
            getattr(args, "workgroup", None),
            getattr(args, "profile", None),
            getattr(args, "region", None),
            allow_full_scan=bool(getattr(args, "yes", False)),
        )
        store = Store(args.cache or locations.default_cache_db())
        scope = src.scope(store)
    except (ValueError, SourceError, StoreError) as e:
        fail(f"--athena: {e}" if isinstance(e, ValueError) else str(e))
    if getattr(args, "command", None):  # headless: what each query scanned, on stderr
        from ..safe import clean

        pad = 180 if sys.stderr.isatty() else 0  # over the progress line (up to 173 wide)

        def say(line: str) -> None:
            sys.stderr.write("\r" + f"trailtui: athena: {clean(line, 200)}".ljust(pad) + "\n")

        src.on_query = say
    return Opened(store, scope, src.label, [src])


def read_headless(opened: Opened, f: Filter, limit: int | None = None, quiet: bool = False) -> None:
    """Read what the sources hold for the filter's window into the store before a command
    answers from it: progress on stderr, what was skipped named, one line per error (exit 2
    when nothing could be read)."""
    from ..safe import clean
    from ..sources.base import Billed, needs_confirmation, read_all

    sources = [s for s in opened.sources if not s.done(f)]
    if not sources:
        return
    err = sys.stderr
    for src in sources:
        ask = needs_confirmation(src, f)  # Athena, with no time window and no --yes
        if ask is not None:
            fail(f"{ask}; add --since WHEN (e.g. --since 7d), or --yes to run it")
        pushed = src.pushdown(f)
        # a billed source reads what it was told it may (--yes: no window); others read
        # their newest day unless the filter says otherwise
        if src.default_window == "24h" and f.since is None and not isinstance(src, Billed):
            # LookupEvents and buckets: the newest day unless the filter says otherwise
            f = f.with_window(datetime.now(UTC) - S3_WINDOW, f.until)
        if pushed:
            err.write(f"trailtui: {clean(src.label, 60)}: {pushed}; the rest applies locally\n")
    shown = [False]

    def progress(src: Source) -> None:
        if not quiet:
            shown[0] = True
            err.write(f"\rtrailtui: {clean(src.status(), 160)}   ")
            err.flush()

    def enough() -> bool:
        return limit is not None and (
            limit <= 0 or bool(opened.store.window(f, limit - 1, 1, opened.scope))
        )

    errors = read_all(opened.store, sources, f, progress, enough=enough)
    if shown[0]:
        err.write("\n")
    for src in sources:
        for where, why in src.skipped()[:20]:
            err.write(f"trailtui: skipped {clean(where, 200)}: {clean(why, 200)}\n")
    for line in dict.fromkeys(errors):
        err.write(f"trailtui: {clean(line, 300)}\n")
    if errors and not opened.store.window(f, 0, 1, opened.scope):
        raise SystemExit(EXIT_USAGE)
