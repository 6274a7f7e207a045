"""Trail log files in an S3 bucket, read lazily and newest first.

The layout ``[prefix/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz`` is
discovered from the common prefixes: accounts and regions are listed, and only the day
prefixes inside the time window are listed. Objects go newest first (their keys carry their
time), a few in parallel, through gunzip and the parser into the store. Each object is
ingested once: the store remembers key + ETag.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..events import parse_bytes
from ..store import Store

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


@dataclass(slots=True)
class S3Stats:
    lists: int = 0
    gets: int = 0
    objects: int = 0
    skipped: int = 0  # already ingested (same key + ETag)
    bytes: int = 0
    events: int = 0
    added: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


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
        self.stats = S3Stats()

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
        """Accounts and regions (organization trails too) under the location."""
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
        # the key carries the delivery time: ..._CloudTrail_REGION_20240501T1205Z_xxxx.json.gz
        return sorted(out, key=lambda o: o["Key"], reverse=True)

    def plan(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        """Batches of objects, newest day first, across every account-region."""
        tps = self.discover()
        d = end.astimezone(UTC).date()
        first = start.astimezone(UTC).date()
        while d >= first:
            batch: list[dict[str, Any]] = []
            for tp in tps:
                batch.extend(self.objects(f"{tp.prefix}{d:%Y/%m/%d}/"))
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
        start: datetime,
        end: datetime,
        progress: Callable[[S3Stats], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        enough: Callable[[], bool] = lambda: False,
    ) -> S3Stats:
        """Read the window's objects into the store, newest first, skipping what is known."""
        st = self.stats
        with ThreadPoolExecutor(PARALLEL) as pool:
            for batch in self.plan(start, end):
                todo = []
                for obj in batch:
                    uri = f"s3://{self.location.bucket}/{obj['Key']}"
                    etag = str(obj.get("ETag", "")).strip('"')
                    if store.file_seen(uri, None, None, etag):
                        st.skipped += 1
                    else:
                        todo.append(obj)
                for i in range(0, len(todo), PARALLEL * 2):
                    if cancelled() or enough():
                        return st
                    for obj, data, err in pool.map(self._fetch, todo[i : i + PARALLEL * 2]):
                        self._store(store, obj, data, err)
                        if progress is not None:
                            progress(st)
        return st

    def _store(self, store: Store, obj: dict[str, Any], data: bytes | None, err: str) -> None:
        st = self.stats
        key = obj["Key"]
        uri = f"s3://{self.location.bucket}/{key}"
        etag = str(obj.get("ETag", "")).strip('"')
        st.gets += 1
        st.objects += 1
        if data is None:
            st.rejected.append((key, err))
            store.record_file(uri, None, None, None, 0, [(uri, err)], err)
            return
        st.bytes += len(data)
        res = parse_bytes(data, uri) if data else None
        error = "empty object" if res is None else res.error
        events = [] if res is None else res.events
        if events:
            s = store.ingest(events, uri, ORIGIN_KIND)
            st.added += s.added
            st.events += len(events)
        else:
            store.origin_id(uri, ORIGIN_KIND)
        if error and not (res is not None and res.kind == "digest"):
            st.rejected.append((key, error))
        rejects = [] if res is None else [(r.where, r.reason) for r in res.rejected]
        store.record_file(
            uri,
            len(data),
            None,
            etag,
            len(events),
            rejects + ([(uri, error)] if error else []),
            error,
        )


_KEYTIME = re.compile(r"_(\d{8}T\d{4}Z)_")


def _key_time(key: str) -> str:
    m = _KEYTIME.search(key)
    return m.group(1) if m else key
