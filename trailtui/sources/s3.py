"""Trail log files in an S3 bucket, read lazily and newest first.

The layout ``[prefix/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz`` is
discovered from the common prefixes: accounts and regions are listed, and only the day
prefixes inside the time window are listed. Objects go newest first (their keys carry their
time), a few in parallel, through gunzip and the parser into the store. Each object is
ingested once: the store remembers key + ETag.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..records.event import bulk
from ..store.batch import FileBatch, FileRecord, batch_of
from ..store.parse import FileJob, parse_job
from ..store.store import Store
from .base import Follow, never, window_of
from .progress import ReadStats

if TYPE_CHECKING:
    from ..filter.language import Filter

ORIGIN_KIND = "s3"
PARALLEL = 4
SHORT_WINDOW_DAYS = 8  # a window shorter than this lists its days directly
ACCOUNT_RE = re.compile(r"^\d{12}$")
ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}$")


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> S3Location:
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url}")
        rest = url[5:]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {url}")
        return cls(bucket, prefix.strip("/"))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


@dataclass(frozen=True, slots=True)
class TrailPrefix:
    """One account-region folder of a trail: ``.../ACCOUNT/CloudTrail/REGION/``."""

    prefix: str
    account: str
    region: str
    org: str = ""


def make_client(profile: str | None = None, region: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    cfg = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=PARALLEL * 2)
    return session.client(
        "s3", region_name=region or session.region_name or "us-east-1", config=cfg
    )


class S3Trail:
    def __init__(
        self,
        client: Any,
        location: S3Location,
        profile: str | None = None,
        region: str | None = None,
    ) -> None:
        self.client = client
        self.location = location
        self.profile = profile  # for ListPublicKeys (verify) in the same account
        self.region = region
        self._listed: set[str] = set()  # every key listed so far (delivery gaps)
        self.stats = ReadStats()
        self._tps: list[TrailPrefix] | None = None
        self._window: tuple[date | None, date] | None = None  # the days being read
        self._pending: Iterator[dict[str, Any]] = iter(())
        self.label = location.uri
        self._catching_up = False
        self._lock = threading.Lock()

    def reset(self) -> None:
        """List the window's days again (r): the new objects (the newest, so the first) are
        read before the list's needs count again; known ones are skipped."""
        self._window = None
        self._catching_up = True

    def done_for(self, window: tuple[datetime | None, datetime]) -> bool:
        return self.stats.done and self._window == _days(*window)

    def _pages(self, **kw: Any) -> Iterator[dict[str, Any]]:
        """ListObjectsV2 pages (boto3's paginator), counted."""
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, **kw
        ):
            self.stats.lists += 1
            yield page

    def _prefixes(self, prefix: str) -> list[str]:
        return [
            p["Prefix"]
            for page in self._pages(Prefix=prefix, Delimiter="/")
            for p in page.get("CommonPrefixes", [])
        ]

    @staticmethod
    def _last(p: str) -> str:
        return p.rstrip("/").rsplit("/", 1)[-1]

    def discover(self) -> list[TrailPrefix]:
        """Accounts and regions (organization trails too) under the location (listed once)."""
        if self._tps is None:
            self._tps = self._discover()
        return self._tps

    def _discover(self) -> list[TrailPrefix]:
        base = self.location.prefix
        base = base + "/" if base else ""
        if not base.endswith("AWSLogs/"):
            base = base + "AWSLogs/" if "AWSLogs" not in base else base
        found: list[TrailPrefix] = []
        for p in self._prefixes(base):
            name = self._last(p)
            if ORG_RE.match(name):
                for acct in self._prefixes(p):
                    found.extend(self._regions(acct, self._last(acct), name))
            elif ACCOUNT_RE.match(name):
                found.extend(self._regions(p, name, ""))
        return found

    def _regions(self, account_prefix: str, account: str, org: str) -> list[TrailPrefix]:
        if not ACCOUNT_RE.match(account):
            return []
        ct = account_prefix + "CloudTrail/"
        return [TrailPrefix(r, account, self._last(r), org) for r in self._prefixes(ct)]

    def objects(self, day_prefix: str) -> list[dict[str, Any]]:
        out = [o for page in self._pages(Prefix=day_prefix) for o in page.get("Contents", [])]
        self._listed.update(o["Key"] for o in out)
        self.stats.listed += len(out)
        self.stats.listed_bytes += sum(int(o.get("Size") or 0) for o in out)
        # the key carries the delivery time: ..._CloudTrail_REGION_20240501T1205Z_xxxx.json.gz
        return sorted(out, key=lambda o: o["Key"], reverse=True)

    def _numbered(self, prefix: str, lo: int, hi: int) -> list[tuple[int, str]]:
        """The numbered sub-prefixes (years, months, days) within [lo, hi], highest first."""
        found = [(int(n), p) for p in self._prefixes(prefix) if (n := self._last(p)).isdigit()]
        return sorted(((n, p) for n, p in found if lo <= n <= hi), reverse=True)

    def days(self, tp: TrailPrefix, first: date | None, last: date) -> list[date]:
        """The days of a trail prefix that hold objects within [first, last], newest first. A
        short window's days are taken as they are (one list each, later); a long or open one
        is found with delimiter listings (years, then months, then days), so its cost grows
        with the months that hold objects, not with the days in the window."""
        if first is not None and (last - first).days < SHORT_WINDOW_DAYS:
            return [last - timedelta(days=i) for i in range((last - first).days + 1)]
        lo = first or date.min
        out: list[date] = []
        for y, yp in self._numbered(tp.prefix, lo.year, last.year):
            for m, mp in self._numbered(yp, 1, 12):
                if (y, m) < (lo.year, lo.month) or (y, m) > (last.year, last.month):
                    continue
                for d, _ in self._numbered(mp, 1, 31):
                    with contextlib.suppress(ValueError):
                        day = date(y, m, d)
                        if lo <= day <= last:
                            out.append(day)
        return out

    def plan(self, start: datetime | None, end: datetime) -> Iterator[list[dict[str, Any]]]:
        """Batches of objects, newest day first, across every account-region (each day's
        prefixes listed in parallel as it is reached). No start: back to the oldest day the
        trail holds."""
        tps = self.discover()
        last = end.astimezone(UTC).date()
        first = start.astimezone(UTC).date() if start is not None else None
        with ThreadPoolExecutor(PARALLEL) as pool:
            per_tp = list(pool.map(lambda tp: self.days(tp, first, last), tps))
            by_day: dict[date, list[TrailPrefix]] = {}
            for tp, ds in zip(tps, per_tp, strict=True):
                for d in ds:
                    by_day.setdefault(d, []).append(tp)
            self.stats.days_total = len(by_day)
            for d in sorted(by_day, reverse=True):
                prefixes = [f"{tp.prefix}{d:%Y/%m/%d}/" for tp in by_day[d]]
                batch = [o for objs in pool.map(self.objects, prefixes) for o in objs]
                self.stats.days_listed += 1
                yield sorted(batch, key=lambda o: _key_time(o["Key"]), reverse=True)

    def _fetch(self, obj: dict[str, Any]) -> tuple[dict[str, Any], bytes | None, str]:
        try:
            resp = self.client.get_object(Bucket=self.location.bucket, Key=obj["Key"])
            return obj, resp["Body"].read(), ""
        except Exception as e:  # one bad object never stops the rest
            return obj, None, f"{type(e).__name__}: {e}"

    def read_window(
        self,
        store: Store,
        start: datetime | None,
        end: datetime,
        progress: Callable[[ReadStats], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        enough: Callable[[], bool] = lambda: False,
    ) -> ReadStats:
        """Read the window's objects into the store, newest first, a few in parallel, skipping
        what is known. Stops when enough() says so (the explorer has rows to show) or when
        cancelled; called again for the same window, it goes on where it stopped."""
        with self._lock:  # one read at a time (a cancelled worker finishes its chunk)
            if self._window != _days(start, end):  # new days: their own plan and figures
                self._window = _days(start, end)
                self._pending = (obj for batch in self.plan(start, end) for obj in batch)
                self.stats = ReadStats()
            st = self.stats
            t0 = time.perf_counter()
            try:
                with bulk(), ThreadPoolExecutor(PARALLEL) as pool:
                    while not (cancelled() or (enough() and not self._catching_up)):
                        todo = self._unseen(store, PARALLEL * 2)
                        if not todo:
                            st.done = True
                            break
                        # the fetched objects parsed here and written in one transaction
                        batches = [self._batch(*got) for got in pool.map(self._fetch, todo)]
                        for b, stats in zip(batches, store.write(batches), strict=True):
                            st.added += stats.added
                            st.events += 0 if b.file is None else b.file.events
                        st.busy = st.busy + time.perf_counter() - t0
                        t0 = time.perf_counter()
                        if progress is not None:
                            progress(st)
            finally:
                st.busy += time.perf_counter() - t0
            return st

    def ingest_objects(
        self,
        store: Store,
        objs: list[dict[str, Any]],
        progress: Callable[[ReadStats], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> ReadStats:
        """Read the named objects (``Key``, and ``Size`` when known) into the store, in
        order, a few in parallel; an object read before (same key and size: CloudTrail never
        rewrites a log file) is skipped. Athena names the files this way."""
        st = self.stats
        todo = []
        for obj in objs:
            uri = f"s3://{self.location.bucket}/{obj['Key']}"
            size = obj.get("Size")
            if size is not None and store.file_seen(uri, int(size), None, None):
                st.skipped += 1
                st.skipped_bytes += int(size)
                continue
            todo.append(obj)
        st.listed += len(objs)
        t0 = time.perf_counter()
        with bulk(), ThreadPoolExecutor(PARALLEL) as pool:
            for i in range(0, len(todo), PARALLEL * 2):
                if cancelled():
                    break
                got = pool.map(self._fetch, todo[i : i + PARALLEL * 2])
                batches = [self._batch(*g) for g in got]  # written in one transaction
                for b, stats in zip(batches, store.write(batches), strict=True):
                    st.added += stats.added
                    st.events += 0 if b.file is None else b.file.events
                st.busy += time.perf_counter() - t0
                t0 = time.perf_counter()
                if progress is not None:
                    progress(st)
        return st

    def _unseen(self, store: Store, n: int) -> list[dict[str, Any]]:
        """The next n objects of the window not ingested yet (same key and ETag: skipped)."""
        out: list[dict[str, Any]] = []
        for obj in self._pending:
            uri = f"s3://{self.location.bucket}/{obj['Key']}"
            if store.file_seen(uri, None, None, str(obj.get("ETag", "")).strip('"')):
                self._catching_up = False  # what is older than this was read before
                self.stats.skipped += 1
                self.stats.skipped_bytes += int(obj.get("Size") or 0)
                continue
            out.append(obj)
            if len(out) == n:
                break
        return out

    def _batch(self, obj: dict[str, Any], data: bytes | None, err: str) -> FileBatch:
        """One fetched object (or why it could not be) -> its batch."""
        st = self.stats
        key = obj["Key"]
        uri = f"s3://{self.location.bucket}/{key}"
        etag = str(obj.get("ETag", "")).strip('"')
        st.gets += 1
        st.objects += 1
        if data is None:
            st.rejected.append((key, err))
            rec = FileRecord(uri, None, None, None, 0, [(uri, err)], err)
            return batch_of((), uri, ORIGIN_KIND, rec)
        st.bytes += len(data)
        b = parse_job(FileJob(uri, uri, data=data, size=len(data), etag=etag, kind=ORIGIN_KIND))
        got = b.file
        if got is not None and got.error and got.shape != "digest":
            st.rejected.append((key, got.error))
        return b

    # ------------------------------------------------------------------ the Source protocol

    refreshable = True
    verifiable = True
    default_window = "24h"
    # listing the window's days costs calls per account-region: a trail delivers a file
    # about every 5 minutes, each holding events up to ~15 minutes old
    follow: Follow | None = Follow(
        20.0,
        timedelta(minutes=20),
        "listing new log files every 20 s · a trail delivers a file every ~5 min",
    )

    def scope(self, store: Store) -> list[int]:
        return store.root_scope(self.location.uri)

    def pushdown(self, f: Filter) -> str:
        return ""  # only the window's days are listed; the filter applies locally

    def read(
        self,
        store: Store,
        f: Filter,
        progress: Callable[[], None] = lambda: None,
        cancelled: Callable[[], bool] = never,
        enough: Callable[[], bool] = never,
    ) -> None:
        start, end = window_of(f)
        self.read_window(store, start, end, lambda _: progress(), cancelled, enough)

    def done(self, f: Filter) -> bool:
        return self.done_for(window_of(f))

    def refresh(self) -> None:
        self.reset()

    def status(self) -> str:
        return "S3 " + self.stats.progress_line()

    def skipped(self) -> list[tuple[str, str]]:
        return [(f"s3://{self.location.bucket}/{k}", why) for k, why in self.stats.rejected]

    def listed(self) -> list[str]:
        return list(self._listed)

    @property
    def bucket(self) -> str:
        return self.location.bucket

    def log_files(self, start: datetime | None, end: datetime) -> list[str]:
        """The keys of the window's log files (listed afresh: this trail's figures stay)."""
        fresh = S3Trail(self.client, self.location, self.profile, self.region)
        return [o["Key"] for batch in fresh.plan(start, end) for o in batch]


def _days(start: datetime | None, end: datetime) -> tuple[date | None, date]:
    """The UTC days of a window: what the plan lists (a window moving by seconds, as "the last
    24 h" does at every filter change, is the same read)."""
    return (start.astimezone(UTC).date() if start else None, end.astimezone(UTC).date())


_KEYTIME = re.compile(r"_(\d{8}T\d{4}Z)_")


def _key_time(key: str) -> str:
    m = _KEYTIME.search(key)
    return m.group(1) if m else key
