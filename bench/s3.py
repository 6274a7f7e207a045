"""Ingest rate of trail log files: local .json.gz files (against `zcat FILES | jq -c
'.Records[]'` on the same files, in the same run) and from moto's S3 server.

    uv run python bench/s3.py [EVENTS]

Targets (issue 5): at least 100,000 events/s locally, and at least 2x the zcat | jq pipeline.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trailtui.sources.demo import generate  # noqa: E402
from trailtui.sources.folder import ingest_paths  # noqa: E402
from trailtui.store.store import Store  # noqa: E402

PER_FILE = 500


def write_files(folder: Path, n: int) -> list[Path]:
    base = generate()
    files = []
    i = 0
    k = 0
    while i < n:
        recs = []
        for j in range(PER_FILE):
            r = dict(base[(i + j) % len(base)])
            r["eventID"] = f"bench-{i + j}"
            recs.append(r)
        t = datetime(2026, 11, 19, tzinfo=UTC) + timedelta(minutes=5 * k)
        p = (
            folder
            / "AWSLogs/111122223333/CloudTrail/us-east-1"
            / f"{t:%Y/%m/%d}"
            / f"111122223333_CloudTrail_us-east-1_{t:%Y%m%dT%H%MZ}_{k:05d}.json.gz"
        )
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode(), compresslevel=6))
        files.append(p)
        i += PER_FILE
        k += 1
    return files


def stages(files: list[Path], db: Path) -> None:
    """Where an event's ingest time goes (microseconds per event, one process, GC paused as in
    ingest), stage by stage as the cache v3 pipeline runs them: gunzip, JSON parse, normalize
    (RecordReader + the batch's local dictionary), re-dump the (redacted) record, zstd a chunk
    per file, and the writer (dictionary ids, dedupe probe, inserts, commit) per 20k events."""
    import zlib

    import orjson

    from trailtui.records.event import RecordReader, bulk, raw_bytes
    from trailtui.store.batch import BatchBuilder
    from trailtui.store.codec import compress_chunk

    out: dict[str, float] = dict.fromkeys(
        ("gunzip", "JSON parse", "normalize", "re-dump raw", "compress", "write (SQLite)"), 0.0
    )
    reader = RecordReader()
    st = Store(db)
    n = 0
    pending = []
    pending_n = 0
    pc = time.perf_counter
    with bulk():
        for p in files:
            blob = p.read_bytes()
            t0 = pc()
            data = zlib.decompress(blob, 47)
            t1 = pc()
            recs = orjson.loads(data)["Records"]
            t2 = pc()
            fields = [reader.fields(r) for r in recs]
            t3 = pc()
            lines = [raw_bytes(r) for r in recs]
            t4 = pc()
            compress_chunk(lines)  # the builder compresses again below; timed here alone
            t5 = pc()
            b = BatchBuilder(str(p), "file")
            for f, line in zip(fields, lines, strict=True):
                b.add_fields(f, line)
            batch = b.finish()
            t6 = pc()
            out["gunzip"] += t1 - t0
            out["JSON parse"] += t2 - t1
            out["normalize"] += (t3 - t2) + (t6 - t5) - (t5 - t4)  # builder minus its compress
            out["re-dump raw"] += t4 - t3
            out["compress"] += t5 - t4
            pending.append(batch)
            pending_n += len(recs)
            n += len(recs)
            if pending_n >= 20_000:
                t = pc()
                st.write(pending)
                out["write (SQLite)"] += pc() - t
                pending, pending_n = [], 0
        t = pc()
        st.write(pending)
        out["write (SQLite)"] += pc() - t
    st.close()
    print("per event: " + ", ".join(f"{k} {v / n * 1e6:.1f} µs" for k, v in out.items())
          + f"; sum {sum(out.values()) / n * 1e6:.1f} µs")  # fmt: skip


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="trailtui-bench-s3-"))
    files = write_files(tmp / "logs", n)
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} files, {n:,} events, {size / 1e6:.1f} MB gzip")

    t = time.perf_counter()
    cmd = "zcat " + " ".join(str(p) for p in files) + " | jq -c '.Records[]' | wc -l"
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, check=True).stdout.strip()
    jq_secs = time.perf_counter() - t
    jq_rate = int(out) / jq_secs
    print(
        f"zcat | jq -c '.Records[]': {int(out):,} events in {jq_secs:.2f}s = {jq_rate:,.0f} events/s"
    )

    store = Store(tmp / "cache.sqlite")
    t = time.perf_counter()
    rep = ingest_paths(store, [tmp / "logs"])
    secs = time.perf_counter() - t
    rate = rep.events / secs
    print(f"trailtui ingest (parse + normalize + SQLite): {rep.events:,} events in {secs:.2f}s = {rate:,.0f} events/s"
          f"  ({rate / jq_rate:.2f}x zcat|jq; targets: 100,000/s and 2x)")  # fmt: skip
    store.close()
    stages(files, tmp / "stages.sqlite")

    # the same files from moto's S3 server over HTTP
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL_S3=f"http://{host}:{port}")  # fmt: skip
    from trailtui.sources.s3 import S3Location, S3Trail, make_client

    client = make_client()
    client.create_bucket(Bucket="bench")
    for p in files:
        client.put_object(Bucket="bench", Key=str(p.relative_to(tmp / "logs")), Body=p.read_bytes())
    store = Store(tmp / "s3.sqlite")
    t = time.perf_counter()
    st = S3Trail(client, S3Location.parse("s3://bench")).ingest(
        store, datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    )
    secs = time.perf_counter() - t
    print(
        f"from moto S3 ({st.objects} objects, {st.bytes / 1e6:.1f} MB): {st.events:,} events in {secs:.2f}s = {st.events / secs:,.0f} events/s"
    )
    planning(client, store)
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def planning(client: Any, store: Store) -> None:
    """The cost of planning a window: ListObjectsV2 calls and time to list a 90-day and a
    5000-day window over the same bucket (its objects span a few days), and a reopen that reads
    nothing new."""
    from trailtui.sources.s3 import S3Location, S3Trail

    end = datetime(2026, 11, 30, tzinfo=UTC)
    for days in (90, 5000):
        for what in ("plan", "reopen"):
            trail = S3Trail(client, S3Location.parse("s3://bench"))
            t = time.perf_counter()
            if what == "plan":
                n = sum(len(b) for b in trail.plan(end - timedelta(days=days), end))
            else:
                st = trail.ingest(store, end - timedelta(days=days), end)
                n = st.skipped
            secs = time.perf_counter() - t
            print(f"{days}-day window, {what}: {trail.stats.lists} ListObjectsV2 calls, "
                  f"{trail.stats.days_total} days hold objects, {n} objects, {secs:.2f}s")  # fmt: skip


if __name__ == "__main__":
    main()
