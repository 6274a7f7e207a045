"""Local files and folders: `aws s3 sync` layouts, .json, .json.gz, JSON Lines, arrays.

Each file is ingested once: the store remembers path + size + mtime, so a second ingest of
the same tree only reads what changed. Many files are parsed in worker processes and written
many to a transaction (a file is marked read in the same transaction as its events).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..records.event import Event, bulk
from ..records.inputs import parse_file
from ..store.batch import FileBatch, FileRecord
from ..store.parse import FileJob, parse_jobs
from ..store.store import Store
from .base import Follow, never
from .progress import ReadStats

if TYPE_CHECKING:
    from ..filter.language import Filter

WRITE_EVENTS = 20_000  # events per write transaction, about
WRITE_FILES = 2_000  # files per write transaction at most
WRITE_SECONDS = 1.0  # and at least one transaction a second (progress shows what is in)
PARALLEL_FILES = 16  # fewer files than this are parsed in this process

ORIGIN_KIND = "file"

INPUT_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".gz", ".log")


def iter_input_files(paths: list[Path]) -> Iterator[Path]:
    """Files under the given paths, newest-name first within a folder (sorted, reversed)."""
    for p in paths:
        if p.is_dir():
            files = [
                f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(INPUT_SUFFIXES)
            ]
            yield from sorted(files, reverse=True)
        else:
            yield p


@dataclass(slots=True)
class FileReport:
    path: str
    events: int = 0
    added: int = 0
    duplicates: int = 0
    rejected_records: int = 0
    error: str = ""
    skipped: bool = False  # unchanged since the last ingest
    digest: bool = False
    lost: str = ""  # where and why records were lost (the first of them)


@dataclass(slots=True)
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def rejected_files(self) -> list[FileReport]:
        return [f for f in self.files if f.error and not f.events]

    @property
    def damaged_files(self) -> list[FileReport]:
        """Files read in part: an error, but some events were kept."""
        return [f for f in self.files if f.error and f.events]

    @property
    def rejected_records(self) -> int:
        return sum(f.rejected_records for f in self.files)

    @property
    def unchanged(self) -> int:
        return sum(1 for f in self.files if f.skipped)


def origin_uri(path: Path, dirs: dict[str, str] | None = None) -> str:
    """The file's absolute path, every link resolved: its origin in the cache. ``dirs``: the
    folders this walk resolved so far (a file that is not a link is its folder's resolved
    path plus its name: one lstat, not one for each part of a path 14 parts deep)."""
    if dirs is None or path.name in ("", ".", "..") or path.is_symlink():
        return str(path.resolve())
    parent = str(path.parent)
    real = dirs.get(parent)
    if real is None:
        real = dirs[parent] = os.path.realpath(parent)
    return os.path.join(real, path.name)


Progress = Callable[[int, int, FileReport], None]  # (files done, files total, last file)


def _read(
    store: Store, fpath: Path, force: bool
) -> tuple[FileReport, FileRecord | None, list[Event]]:
    """Stat and parse one file: (report, what to record of it or None when skipped, events)."""
    uri = origin_uri(fpath)
    fr = FileReport(str(fpath))
    try:
        st = fpath.stat()
    except OSError as e:
        fr.error = f"unreadable: {e.strerror or e}"
        return fr, None, []
    if not force and store.file_seen(uri, st.st_size, st.st_mtime_ns, None):
        fr.skipped = True
        return fr, None, []
    res = parse_file(fpath)
    fr.digest = res.kind == "digest"
    fr.events = len(res.events)
    fr.rejected_records = len(res.rejected)
    fr.error = res.error
    rejects = [(r.where, r.reason) for r in res.rejected]
    if res.error:
        rejects.append((str(fpath), res.error))
    rec = FileRecord(uri, st.st_size, st.st_mtime_ns, None, fr.events, rejects, res.error)
    return fr, rec, res.events


def _job(
    store: Store, fpath: Path, force: bool, dirs: dict[str, str]
) -> tuple[FileReport, FileJob | None]:
    """Stat one file: (its report, the job that reads it, or None when it is skipped)."""
    fr = FileReport(str(fpath))
    try:
        st = fpath.stat()
    except OSError as e:
        fr.error = f"unreadable: {e.strerror or e}"
        return fr, None
    uri = origin_uri(fpath, dirs)
    if not force and store.file_seen(uri, st.st_size, st.st_mtime_ns, None):
        fr.skipped = True
        return fr, None
    return fr, FileJob(
        uri, str(fpath), path=str(fpath), size=st.st_size, mtime_ns=st.st_mtime_ns,
        kind=ORIGIN_KIND,
    )  # fmt: skip


def read_into(fr: FileReport, rec: FileRecord | None) -> None:
    """What the parser found of a file, into its report."""
    if rec is None:
        return
    fr.digest = rec.shape == "digest"
    fr.events = rec.events
    fr.rejected_records = rec.lost
    fr.error = rec.error
    first = next(((w, r) for w, r in rec.rejects if not (rec.error and r == rec.error)), None)
    if first is not None:
        fr.lost = f"{first[0]}: {first[1]}"


class BatchWriter:
    """Batches into the store, many to a transaction (by events, files and time)."""

    def __init__(self, store: Store, on_written: Callable[[FileReport], None]) -> None:
        self.store = store
        self.on_written = on_written
        self.pending: list[tuple[FileReport, FileBatch]] = []
        self.events = 0
        self.last = time.perf_counter()

    def add(self, fr: FileReport, batch: FileBatch) -> None:
        read_into(fr, batch.file)
        self.pending.append((fr, batch))
        self.events += len(batch.rows)
        if (
            self.events >= WRITE_EVENTS
            or len(self.pending) >= WRITE_FILES
            or time.perf_counter() - self.last >= WRITE_SECONDS
        ):
            self.flush(hold=True)

    def flush(self, hold: bool = False) -> None:
        """Write what is pending; committed unless ``hold`` (the store commits a held
        transaction within seconds, and at the last flush)."""
        if self.pending:
            stats = self.store.write([b for _, b in self.pending], hold)
            for (fr, _), st in zip(self.pending, stats, strict=True):
                fr.added, fr.duplicates = st.added, st.duplicates
                self.on_written(fr)
        elif not hold:
            self.store.commit()
        self.pending, self.events, self.last = [], 0, time.perf_counter()


@contextmanager
def _committed(store: Store) -> Iterator[None]:
    """Writes held open are committed on the way out, should reading stop half-way."""
    try:
        yield
    finally:
        store.commit()


def ingest_paths(
    store: Store,
    paths: Sequence[Path],
    progress: Progress | None = None,
    force: bool = False,
    cancelled: Callable[[], bool] = lambda: False,
    workers: int | None = None,
) -> IngestReport:
    """Read every file under the paths into the store; never stops on a bad file.
    ``workers``: parse processes (default: one per core; 0 parses here)."""
    t0 = time.perf_counter()
    report = IngestReport()
    todo = list(iter_input_files([Path(p) for p in paths]))
    waiting: deque[FileReport] = deque()
    dirs: dict[str, str] = {}  # folders resolved by this walk

    def done(fr: FileReport) -> None:
        report.files.append(fr)
        if progress is not None:
            progress(len(report.files), len(todo), fr)

    def jobs() -> Iterator[FileJob]:
        for fpath in todo:
            if cancelled():
                return
            fr, job = _job(store, fpath, force, dirs)
            if job is None:
                done(fr)
                continue
            waiting.append(fr)
            yield job

    if workers is None and len(todo) < PARALLEL_FILES:
        workers = 0
    out = BatchWriter(store, done)
    with bulk(), _committed(store):
        for batch in parse_jobs(jobs(), workers):
            out.add(waiting.popleft(), batch)
            if cancelled():
                break
        out.flush()
    report.seconds = time.perf_counter() - t0
    return report


class FolderTrail:
    """Files and folders read newest first (by name: the `aws s3 sync` layout carries the time)
    while the explorer needs rows: ingest_paths in steps (a small folder is read whole, in the
    background, so its counts and histogram are complete). Each file once (path + size +
    mtime); the window is not used to prune (names outside that layout carry no time)."""

    EAGER_BYTES = 16 * 1024**2  # smaller than this on disk: read it all (seconds at most)

    def __init__(self, paths: Sequence[Path], eager_bytes: int = EAGER_BYTES) -> None:
        self.paths = [Path(p) for p in paths]
        self.eager_bytes = eager_bytes
        self.label = ", ".join(str(p) for p in self.paths)
        self.stats = ReadStats(noun="files")
        self._todo: list[tuple[Path, int]] | None = None
        self._pos = 0
        self._catching_up = False
        self._rescan = False
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Look at the folders again (r): new and changed files are read before the list's
        needs count again (up to the first known file), the rest skipped. Applied by the next
        read: the one in flight may still be walking the old list."""
        self._rescan = True
        self._catching_up = True

    def done_for(self, window: object) -> bool:
        return self.stats.done and not self._rescan

    def read_files(
        self,
        store: Store,
        progress: Callable[[ReadStats], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        enough: Callable[[], bool] = lambda: False,
    ) -> ReadStats:
        with self._lock:  # one read at a time (a cancelled worker finishes its chunk)
            if self._rescan:
                self._todo, self._pos, self._rescan = None, 0, False
                self.stats = ReadStats(noun="files")
            st = self.stats
            if self._todo is None:
                self._todo = [(f, _size(f)) for f in iter_input_files(self.paths)]
                st.listed = len(self._todo)
                st.listed_bytes = sum(n for _, n in self._todo)
            small = st.listed_bytes <= self.eager_bytes  # complete counts beat laziness here
            t0 = time.perf_counter()
            sizes: dict[str, int] = {}

            def written(fr: FileReport) -> None:
                nonlocal t0
                st.added += fr.added
                st.objects += 1
                st.bytes += sizes.pop(fr.path, 0)
                st.events += fr.events
                if fr.error:
                    st.rejected.append((fr.path, fr.error))
                now = time.perf_counter()
                st.busy += now - t0
                t0 = now
                if progress is not None:
                    progress(st)

            # a small folder is read whole, many files to a transaction; a big one a file at
            # a time, so the list fills (and `enough` is asked) as early as possible
            out = BatchWriter(store, written)
            dirs: dict[str, str] = {}  # folders resolved by this read
            with bulk(), _committed(store):
                while self._pos < len(self._todo) and not (
                    cancelled() or (enough() and not self._catching_up and not small)
                ):
                    fpath, size = self._todo[self._pos]
                    self._pos += 1
                    fr, job = _job(store, fpath, False, dirs)
                    if job is None:
                        if fr.skipped:
                            self._catching_up = False
                            st.skipped += 1
                            st.skipped_bytes += size
                        else:
                            sizes[fr.path] = size
                            written(fr)
                        continue
                    sizes[fr.path] = size
                    for batch in parse_jobs([job], 0):
                        out.add(fr, batch)
                    if not small:
                        out.flush()
                out.flush()
            st.busy += time.perf_counter() - t0
            st.done = self._pos >= len(self._todo)
            return st

    # ------------------------------------------------------------------ the Source protocol

    refreshable = True
    verifiable = True
    default_window = "all"
    # new files (`aws s3 sync` in a loop, a collector writing): a trail file holds events
    # up to ~15 minutes older than its delivery
    follow: Follow | None = Follow(3.0, timedelta(minutes=20), "looking for new files every 3 s")

    def scope(self, store: Store) -> list[int]:
        return [i for p in self.paths for i in store.root_scope(origin_uri(p))]

    def pushdown(self, f: Filter) -> str:
        return ""

    def read(
        self,
        store: Store,
        f: Filter,
        progress: Callable[[], None] = lambda: None,
        cancelled: Callable[[], bool] = never,
        enough: Callable[[], bool] = never,
    ) -> None:
        self.read_files(store, lambda _: progress(), cancelled, enough)

    def done(self, f: Filter) -> bool:
        return self.done_for(None)

    def refresh(self) -> None:
        self.reset()

    def status(self) -> str:
        return self.stats.progress_line()

    def skipped(self) -> list[tuple[str, str]]:
        return list(self.stats.rejected)

    def log_files(self, start: object, end: object) -> list[str]:
        """Every file under the folders (names carry their delivery time: gaps filter by it)."""
        return [str(f) for f in iter_input_files(self.paths)]

    def listed(self) -> list[str]:
        todo = self._todo
        return [] if todo is None else [str(f) for f, _ in todo]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
