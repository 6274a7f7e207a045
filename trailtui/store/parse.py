"""The parse side of ingest: a file or an object's bytes -> a FileBatch (gunzip, JSON,
normalize, redact, re-dump, compress), in worker processes when there are many files, so the
writer (this process) and the parsers use separate cores.

Work crosses the process boundary as FileJobs (a path, or an object's bytes) one way and
FileBatches (a few compressed blobs and rows of small integers) the other; a bounded number
are in flight, so memory does not grow with the number of files.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..records.event import ParseError, RecordReader, raw_bytes
from ..records.inputs import MAX_FILE_BYTES, ParseResult, parse_bytes, parse_file
from .batch import BatchBuilder, FileBatch, FileRecord, batch_of

TASK_BYTES = 96 * 1024  # files (gzip bytes) sent to a worker at a time, about
TASK_FILES = 16  # and at most this many files
# work queued ahead of the writer: enough that the parsers stay busy while a transaction is
# written (~20k events), little enough that memory does not grow with the number of files
IN_FLIGHT_BYTES = 8 * 1024**2


@dataclass(slots=True, frozen=True)
class FileJob:
    uri: str  # the origin the events are recorded under
    where: str  # how errors name it (the path as given, the s3:// URL)
    path: str | None = None  # read from here...
    data: bytes | None = None  # ...or these bytes (an object already fetched)
    size: int | None = None
    mtime_ns: int | None = None
    etag: str | None = None
    kind: str = "file"


_READER = RecordReader()  # caches principals and times across the files of this process


BIG_FILE = 2 * 1024**2  # bigger files are parsed a slice of records at a time
_RECORD = b'{"eventVersion":'
_NEXT = b"," + _RECORD


def _slices(data: bytes) -> Iterator[Any] | None:
    """A big ``{"Records": [...]}`` file's records, parsed 500 at a time (memory stays that
    of 500 records, not of the file): the file is cut where a record starts
    (``,{"eventVersion":``, how CloudTrail writes them). A cut inside a record (the text
    nested deeper) leaves two pieces that are not JSON: None then (the whole file is parsed)."""
    start, end = data.find(b"["), data.rfind(b"]")
    if (
        start < 0
        or data[:start].replace(b" ", b"") != b'{"Records":'
        or data[end:].strip() != b"]}"
        or data[start + 1 : end].lstrip()[: len(_RECORD)] != _RECORD
    ):
        return None
    pieces = data[start + 1 : end].strip().split(_NEXT)
    try:
        first = [orjson.loads(pieces[0])] + [orjson.loads(_RECORD + p) for p in pieces[1:500]]
    except orjson.JSONDecodeError:
        return None
    return _rest_of(first, pieces)


def _rest_of(first: list[Any], pieces: list[bytes]) -> Iterator[Any]:
    yield from first
    for i in range(500, len(pieces), 500):
        try:
            part = [orjson.loads(_RECORD + p) for p in pieces[i : i + 500]]
        except orjson.JSONDecodeError as e:
            raise _Torn from e
        yield from part


class _Torn(Exception):
    """A big file cut inside a record: it is parsed whole instead."""


def parse_records_file(job: FileJob, data: bytes) -> FileBatch | None:
    """A plain ``{"Records": [...]}`` file (what CloudTrail delivers) -> its batch, without
    building Events; None for anything else (the general parser reads it, with the same
    results, only slower)."""
    try:
        return _records_file(job, data, slices=True)
    except _Torn:
        return _records_file(job, data, slices=False)


def _records_file(job: FileJob, data: bytes, slices: bool) -> FileBatch | None:
    if data[:2] == b"\x1f\x8b":
        try:
            data = zlib.decompress(data, 47)
        except zlib.error:
            return None
    if not data[:16].lstrip().startswith(b'{"Records"'):
        return None
    recs = _slices(data) if slices and len(data) > BIG_FILE else None
    if recs is None:
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        got = doc.get("Records") if isinstance(doc, dict) else None
        if not isinstance(got, list):
            return None
        recs = iter(got)
    b = BatchBuilder(job.uri, job.kind)
    rejects: list[tuple[str, str]] = []
    n = 0
    fields = _READER.fields
    for i, r in enumerate(recs):
        if type(r) is dict and (
            "Records" in r
            or "Events" in r
            or "CloudTrailEvent" in r
            or "digestStartTime" in r
            or ("EventId" in r and "eventID" not in r)
        ):
            return None  # a container or a LookupEvents item: the general parser's
        try:
            f = fields(r)
        except ParseError as e:
            rejects.append((f"{job.where}#{i}", str(e)))
            continue
        except (TypeError, ValueError, AttributeError, OverflowError, orjson.JSONEncodeError):
            return None
        if f is None:
            return None
        b.add_fields(f, raw_bytes(r))
        n += 1
    b.batch.file = FileRecord(job.uri, job.size, job.mtime_ns, job.etag, n, rejects, "", "records")
    return b.finish()


def _read(job: FileJob) -> bytes | None:
    if job.data is not None:
        return job.data
    try:
        p = Path(job.path or job.where)
        if p.stat().st_size > MAX_FILE_BYTES:
            return None
        return p.read_bytes()
    except OSError:
        return None


def parse_job(job: FileJob) -> FileBatch:
    """One file or object -> its batch (never raises on bad content: the batch's file record
    says what could not be read)."""
    data = _read(job)
    res: ParseResult | None
    if data:
        got = parse_records_file(job, data)
        if got is not None:
            return got
        res = parse_bytes(data, job.where)
    elif job.data is not None:
        res = None
    else:
        res = parse_file(Path(job.path or job.where))  # says why it could not be read
    if res is None:
        error, events, rejects, shape = "empty object", [], [], "empty"
    else:
        error, events, shape = res.error, res.events, res.kind
        rejects = [(r.where, r.reason) for r in res.rejected]
    if error:
        rejects.append((job.where, error))
    rec = FileRecord(job.uri, job.size, job.mtime_ns, job.etag, len(events), rejects, error, shape)
    return batch_of(events, job.uri, job.kind, rec)


_done = [0]


def _parse_many(jobs: list[FileJob]) -> list[FileBatch]:
    out = [parse_job(j) for j in jobs]
    _done[0] += 1
    gc.collect(2 if _done[0] % 64 == 0 else 0)  # the collector is off in workers: see below
    return out


def _init_worker() -> None:
    gc.disable()  # records are trees: reference counting frees them (see records.event.bulk)
    steady_heap()


_heap_set = [False]


def steady_heap() -> None:
    """glibc's malloc returns freed memory to the system past 4 MB, and serves blocks over
    1 MB from their own mappings, instead of raising both limits after the first big block
    is freed (a big file's text): measured in a parse worker on the 1M folder, 66 -> 54 MB
    after 2,000 small files. No-op elsewhere (another libc, or no ctypes)."""
    if _heap_set[0]:
        return
    _heap_set[0] = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 4 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def default_workers() -> int:
    env = os.environ.get("TRAILTUI_INGEST_WORKERS")
    if env is not None and env.strip().isdigit():
        return int(env)
    return min(2, os.cpu_count() or 1)


def _size(j: FileJob) -> int:
    return j.size or (len(j.data) if j.data is not None else 0) or 1


def _tasks(jobs: Iterable[FileJob]) -> Iterator[list[FileJob]]:
    task: list[FileJob] = []
    size = 0
    for j in jobs:
        task.append(j)
        size += _size(j)
        if size >= TASK_BYTES or len(task) >= TASK_FILES:
            yield task
            task, size = [], 0
    if task:
        yield task


def parse_jobs(jobs: Iterable[FileJob], workers: int | None = None) -> Iterator[FileBatch]:
    """The jobs' batches, in order; ``workers`` processes (0: in this process)."""
    n = default_workers() if workers is None else workers
    steady_heap()  # the writer too: its batches come and go
    if n <= 0:
        for j in jobs:
            yield parse_job(j)
        return
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["trailtui.store.parse"])
    pending: deque[tuple[Future[list[FileBatch]], int]] = deque()
    queued = 0
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker) as pool:
        try:
            for task in _tasks(jobs):
                size = sum(_size(j) for j in task)
                pending.append((pool.submit(_parse_many, task), size))
                queued += size
                while queued >= IN_FLIGHT_BYTES or len(pending) >= 64 * n:
                    fut, size = pending.popleft()
                    queued -= size
                    yield from fut.result()
            while pending:
                yield from pending.popleft()[0].result()
        finally:
            for f, _ in pending:
                f.cancel()
