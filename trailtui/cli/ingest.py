"""trailtui ingest: files and folders into the cache, with progress and a summary."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_NO_MATCH, EXIT_OK, fail

if TYPE_CHECKING:
    from rich.console import Console

    from ..sources.folder import IngestReport
    from ..store.store import Store


def cmd_ingest(args: argparse.Namespace) -> int:
    from .. import locations
    from ..store.store import Store, StoreError

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    try:
        store = Store(args.cache or locations.default_cache_db())
    except StoreError as e:
        fail(str(e))
    with store:
        report = run_ingest(store, args.paths, force=args.force)
    # 1 only when nothing at all could be read
    return (
        EXIT_NO_MATCH
        if report.files and len(report.rejected_files) == len(report.files)
        else EXIT_OK
    )

    from ..store.store import Store


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

    from ..sources.folder import FileReport, ingest_paths

    console = Console(file=sys.stderr, highlight=False, soft_wrap=True)
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

    from ..safe import clean

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
    lost = [fr for fr in report.files if fr.rejected_records]
    if lost:
        console.print(
            Text(
                f"{report.rejected_records:,} records rejected in {len(lost):,} files "
                "(the rest of each file was kept):",
                style="yellow",
            )
        )
        for fr in lost[:50]:
            n = fr.rejected_records
            console.print(
                Text(
                    f"  {clean(fr.path)}: {n:,} record{'s' if n != 1 else ''} rejected, "
                    f"first {clean(fr.lost, 200)}",
                    style="yellow",
                )
            )
        if len(lost) > 50:
            console.print(Text(f"  ... and {len(lost) - 50:,} more files (trailtui explore: F)"))
