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
    """Where an event's ingest time goes (microseconds per event, GC paused as in ingest)."""
    import zlib

    from trailtui.records.event import bulk, loads, parse_record, raw_bytes
    from trailtui.store.codec import compress_raw
    from trailtui.store.ingest import _row_values

    out: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        t = time.perf_counter()
        r = fn()
        out[name] = time.perf_counter() - t
        return r

    with bulk():
        blobs = [p.read_bytes() for p in files]
        texts = timed("gunzip", lambda: [zlib.decompress(b, 47) for b in blobs])
        docs = timed("JSON parse", lambda: [loads(x) for x in texts])
        recs = [r for d in docs for r in d["Records"]]
        evs = timed("normalize", lambda: [parse_record(r) for r in recs])
        raws = timed("serialize raw", lambda: [raw_bytes(e.raw) for e in evs])
        timed("compress raw", lambda: [compress_raw(r) for r in raws])
        rows = [_row_values(i + 1, e) for i, e in enumerate(evs)]
        st = Store(db)
        with st._c() as c:
            t = time.perf_counter()
            for i in range(0, len(rows), 500):
                c.execute("BEGIN")
                c.executemany(
                    f"INSERT INTO events VALUES ({','.join('?' * 26)})", rows[i : i + 500]
                )
                c.execute("COMMIT")
            out["SQLite insert (8 indexes)"] = time.perf_counter() - t
        st.close()
    n = len(recs)
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
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
