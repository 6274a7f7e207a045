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
from typing import Any

from ..records.event import bulk
from ..store.batch import FileBatch, FileRecord, batch_of
from ..store.parse import FileJob, parse_job
from ..store.store import Store
from .progress import ReadStats

ORIGIN_KIND = "s3"
PARALLEL = 4
_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")


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
    def __init__(self, client: Any, location: S3Location) -> None:
        self.client = client
        self.location = location
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

    def _prefixes(self, prefix: str) -> list[str]:
        out: list[str] = []
        token: str | None = None
        while True:
            kw: dict[str, Any] = {
                "Bucket": self.location.bucket,
                "Prefix": prefix,
                "Delimiter": "/",
            }
            if token:
                kw["ContinuationToken"] = token
            resp = self.client.list_objects_v2(**kw)
            self.stats.lists += 1
            out.extend(p["Prefix"] for p in resp.get("CommonPrefixes", []))
            token = resp.get("NextContinuationToken")
            if not token:
                return out

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
            if _ORG.match(name):
                for acct in self._prefixes(p):
                    found.extend(self._regions(acct, self._last(acct), name))
            elif _ACCOUNT.match(name):
                found.extend(self._regions(p, name, ""))
        return found

    def _regions(self, account_prefix: str, account: str, org: str) -> list[TrailPrefix]:
        if not _ACCOUNT.match(account):
            return []
        ct = account_prefix + "CloudTrail/"
        return [TrailPrefix(r, account, self._last(r), org) for r in self._prefixes(ct)]

    def objects(self, day_prefix: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kw: dict[str, Any] = {"Bucket": self.location.bucket, "Prefix": day_prefix}
            if token:
                kw["ContinuationToken"] = token
            resp = self.client.list_objects_v2(**kw)
            self.stats.lists += 1
            out.extend(resp.get("Contents", []))
            token = resp.get("NextContinuationToken")
            if not token:
                break
        self.stats.listed += len(out)
        self.stats.listed_bytes += sum(int(o.get("Size") or 0) for o in out)
        # the key carries the delivery time: ..._CloudTrail_REGION_20240501T1205Z_xxxx.json.gz
        return sorted(out, key=lambda o: o["Key"], reverse=True)

    def first_day(self) -> date | None:
        """The oldest day a trail prefix holds (year, month, day prefixes: three lists each)."""
        days: list[date] = []
        for tp in self.discover():
            prefix = tp.prefix
            parts: list[int] = []
            for _ in range(3):
                found = {
                    int(n): p for p in self._prefixes(prefix) if (n := self._last(p)).isdigit()
                }
                if not found:
                    break
                parts.append(min(found))
                prefix = found[min(found)]
            if len(parts) == 3:
                with contextlib.suppress(ValueError):
                    days.append(date(*parts))
        return min(days, default=None)

    def plan(self, start: datetime | None, end: datetime) -> Iterator[list[dict[str, Any]]]:
        """Batches of objects, newest day first, across every account-region; days are listed
        as they are reached. No start: back to the oldest day the trail holds."""
        tps = self.discover()
        d = end.astimezone(UTC).date()
        first = start.astimezone(UTC).date() if start is not None else self.first_day()
        if first is None:
            return
        self.stats.days_total = (d - first).days + 1
        while d >= first:
            batch: list[dict[str, Any]] = []
            for tp in tps:
                batch.extend(self.objects(f"{tp.prefix}{d:%Y/%m/%d}/"))
            self.stats.days_listed += 1
            yield sorted(batch, key=lambda o: _key_time(o["Key"]), reverse=True)
            d -= timedelta(days=1)

    def _fetch(self, obj: dict[str, Any]) -> tuple[dict[str, Any], bytes | None, str]:
        try:
            resp = self.client.get_object(Bucket=self.location.bucket, Key=obj["Key"])
            return obj, resp["Body"].read(), ""
        except Exception as e:  # one bad object never stops the rest
            return obj, None, f"{type(e).__name__}: {e}"

    def ingest(
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


def _days(start: datetime | None, end: datetime) -> tuple[date | None, date]:
    """The UTC days of a window: what the plan lists (a window moving by seconds, as "the last
    24 h" does at every filter change, is the same read)."""
    return (start.astimezone(UTC).date() if start else None, end.astimezone(UTC).date())


_KEYTIME = re.compile(r"_(\d{8}T\d{4}Z)_")


def _key_time(key: str) -> str:
    m = _KEYTIME.search(key)
    return m.group(1) if m else key
