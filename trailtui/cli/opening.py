"""Opening a source for a command: the demo, files and folders (ingested first), the whole
cache, or live LookupEvents; each gives the store and the scope of its events."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_USAGE, fail

if TYPE_CHECKING:
    from datetime import datetime

    from ..filter.language import Filter
    from ..sources.folder import FolderTrail
    from ..sources.lookup import Target
    from ..sources.s3 import S3Trail
    from ..store.store import Store
from .ingest import run_ingest


@dataclass(slots=True)
class Opened:
    store: Store
    scope: list[int] | None
    label: str
    trails: list[S3Trail | FolderTrail] = field(default_factory=list)  # left to read lazily


def open_source(
    demo: bool,
    from_paths: Sequence[str] | None,
    cache: Path | None,
    quiet: bool = False,
    args: argparse.Namespace | None = None,
    window: tuple[datetime | None, datetime | None] = (None, None),
    lazy: bool = False,
) -> Opened:
    """The store and the scope (origin ids) for --demo / --from (files, folders, s3://) /
    the whole cache. S3 reads only the window (default: the last 24 h). When lazy (the
    explorer), nothing is read yet: the trails come back to be read as the list needs rows."""
    from .. import locations
    from ..store.store import Store, StoreError

    try:
        if demo:
            from ..sources.demo import DEMO_ORIGIN, ensure_demo_store

            path = cache or locations.demo_cache_db()
            if not path.exists() and not quiet:
                sys.stderr.write("trailtui: generating the demo incident (first run only)…\n")
            store = ensure_demo_store(path)
            return Opened(store, None, DEMO_ORIGIN)
        store = Store(cache or locations.default_cache_db())
    except StoreError as e:
        fail(str(e))
    s3_urls = [p for p in from_paths or [] if str(p).startswith("s3://")]
    scope: list[int] = []
    labels: list[str] = []
    trails: list[S3Trail | FolderTrail] = []
    if s3_urls and lazy:
        scope, labels, s3_trails = _lazy_s3(store, s3_urls, args)
        trails += s3_trails
    elif s3_urls:
        scope, labels = _open_s3(store, s3_urls, args, window, quiet)
    if s3_urls:
        from_paths = [p for p in from_paths or [] if p not in s3_urls]
        if not from_paths:
            return Opened(store, scope, ", ".join(labels), trails)
    if from_paths:
        paths = [Path(p) for p in from_paths]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            fail(f"no such file or folder: {', '.join(missing)}")
        from ..sources.folder import FolderTrail, origin_uri

        for p in paths:  # the roots first: what the ingest adds carries them
            scope += store.root_scope(origin_uri(p))
        if lazy:
            trails.append(FolderTrail(paths))
            return Opened(store, scope, ", ".join(labels + [str(p) for p in paths]), trails)
        report = run_ingest(store, paths, quiet=quiet, summary=False)
        for fr in report.rejected_files:
            sys.stderr.write(f"trailtui: skipped {fr.path}: {fr.error}\n")
        return Opened(store, scope, ", ".join(labels + [str(p) for p in paths]), trails)
    return Opened(store, None, "cache")


def _lazy_s3(
    store: Store, urls: Sequence[str], args: argparse.Namespace | None
) -> tuple[list[int], list[str], list[S3Trail]]:
    from ..sources.s3 import S3Location, S3Trail, make_client

    scope: list[int] = []
    trails: list[S3Trail] = []
    for url in urls:
        try:
            loc = S3Location.parse(url)
            client = make_client(getattr(args, "profile", None), getattr(args, "region", None))
        except ValueError as e:
            fail(str(e))
        scope += store.root_scope(loc.uri)
        trails.append(S3Trail(client, loc))
    return scope, list(urls), trails


def _open_s3(
    store: Store,
    urls: Sequence[str],
    args: argparse.Namespace | None,
    window: tuple[datetime | None, datetime | None],
    quiet: bool,
) -> tuple[list[int], list[str]]:
    """Read the window's trail log files from S3 (newest first, each object once)."""
    from datetime import UTC, datetime, timedelta

    from ..sources.progress import ReadStats
    from ..sources.s3 import S3Location, S3Trail, make_client

    end = window[1] or datetime.now(UTC)
    start = window[0] or end - timedelta(hours=24)
    profile = getattr(args, "profile", None)
    region = getattr(args, "region", None)
    scope: list[int] = []
    for url in urls:
        try:
            loc = S3Location.parse(url)
            scope += store.root_scope(loc.uri)
            trail = S3Trail(make_client(profile, region), loc)

            def progress(st: ReadStats) -> None:
                if quiet:
                    return
                sys.stderr.write(f"\rtrailtui: {st.progress_line()}   ")
                sys.stderr.flush()

            st = trail.ingest(store, start, end, progress)
        except ValueError as e:
            fail(str(e))
        except Exception as e:  # boto3/S3 problems: one line
            from ..sources.lookup import Target, friendly

            fail(friendly(e, Target(profile, region or "")).replace("CloudTrail", "S3"))
        if st.objects and not quiet:
            sys.stderr.write("\n")
        for key, why in st.rejected[:20]:
            sys.stderr.write(f"trailtui: skipped s3://{loc.bucket}/{key}: {why}\n")
    return scope, list(urls)


def open_live(args: argparse.Namespace, f: Filter, limit: int | None) -> Opened:
    """Fetch what LookupEvents has for the filter and window (progress on stderr), into the
    cache; the scope is those account-regions."""
    import time
    from datetime import UTC, datetime

    from ..sources.lookup import LookupError_, build_fetchers, fetch_all, plan_for

    store, tgts = live_targets(args)
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


def live_targets(args: argparse.Namespace) -> tuple[Store, list[Target]]:
    """The cache and the account-regions of --profile / --region (one line on any problem)."""
    from .. import locations
    from ..sources.lookup import resolve_regions, targets
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
    return store, targets(profiles, regions)
