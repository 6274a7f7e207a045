"""Athena against the local fake (tests/fakes/athena.py: the SQL runs in DuckDB over the trail
files in moto's S3), over a generated organization trail of 4 accounts x 4 regions x 7 days.

    uv run python bench/athena.py

Prints the bytes a 1-day 1-region filter scans against an unpruned filter over the whole week
(both as Athena bills them), and the time from a new filter to the first rows in the cache
(setup, query, file reads) for the lazy newest-first read the explorer does. The fake's
engine timing is not Athena's: the scanned bytes are the point, the times are a floor.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.athena import FakeAthena, put_trail  # noqa: E402
from trailtui.filter.language import parse  # noqa: E402
from trailtui.sources.athena import AthenaSource  # noqa: E402
from trailtui.sources.athena_query import cost, size_text  # noqa: E402
from trailtui.sources.athena_setup import setup  # noqa: E402
from trailtui.sources.s3 import make_client  # noqa: E402
from trailtui.store.store import Store  # noqa: E402

ACCOUNTS = [f"{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}" for i in range(1, 5)]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
DAYS = 7
START = datetime(2025, 3, 1, tzinfo=UTC)
PER_HOUR = 6  # events per account-region-hour: ~16k events, ~1.7k files


def records() -> list[dict[str, Any]]:
    out = []
    for a in ACCOUNTS:
        for r in REGIONS:
            for i in range(DAYS * 24 * PER_HOUR):
                t = START + timedelta(minutes=i * 60 // PER_HOUR, seconds=i % 60)
                out.append(
                    {
                        "eventVersion": "1.09",
                        "eventID": f"{a}-{r}-{i}",
                        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "eventName": ("StopInstances", "DescribeInstances", "GetObject")[i % 3],
                        "eventSource": "ec2.amazonaws.com",
                        "awsRegion": r,
                        "recipientAccountId": a,
                        "sourceIPAddress": f"10.{i % 8}.{i % 200}.{i % 250}",
                        "userAgent": "aws-cli/2.15 Python/3.11",
                        "userIdentity": {"type": "IAMUser", "userName": f"u{i % 7}",
                                         "arn": f"arn:aws:iam::{a}:user/u{i % 7}"},
                        "requestParameters": {"instancesSet": {"items": [{"instanceId": f"i-{i:06x}"}]}},
                    }
                )  # fmt: skip
    return out


def main() -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    tmp = Path(tempfile.mkdtemp())
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        TRAILTUI_CONFIG_DIR=str(tmp / "config"),
        TRAILTUI_CACHE_DIR=str(tmp / "cache"),
    )
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL_S3"] = f"http://{host}:{port}"
    s3 = make_client()
    s3.create_bucket(Bucket="org-trail")
    recs = records()
    t0 = time.perf_counter()
    keys = put_trail(s3, "org-trail", recs, org="o-abcdefghij", per_file=10)
    print(
        f"trail: {len(recs):,} events in {len(keys):,} files ({time.perf_counter() - t0:.1f} s to write)"
    )
    fake = FakeAthena(s3)
    fake.workgroups["primary"]["output"] = "s3://results/"
    os.environ["AWS_ENDPOINT_URL_ATHENA"] = fake.start()
    t0 = time.perf_counter()
    setup("s3://org-trail", say=lambda line: print("  setup:", line))
    print(f"setup: {time.perf_counter() - t0:.2f} s")

    def run(text: str) -> None:
        with Store(tmp / f"{abs(hash(text))}.sqlite") as store:
            src = AthenaSource("trailtui.cloudtrail", allow_full_scan=True)
            f = parse(text)
            scope = src.scope(store)
            t0 = time.perf_counter()
            first = None

            def enough() -> bool:
                return bool(store.window(f, 99, 1, scope))

            while not src.done(f):
                src.read(store, f, enough=enough)
                if first is None:
                    first = time.perf_counter() - t0
                if enough():
                    break
            q = src.stats
            print(
                f"{text!r}\n  {q.queries} queries, scanned {size_text(q.scanned)} "
                f"(${sum(cost(x.scanned) for x in fake.selects()[-q.queries :]):.5f}), "
                f"{q.files} files listed; first 100 rows after {first or 0:.2f} s (of which "
                f"{q.millis / 1000:.2f} s in the fake's queries), "
                f"{store.count(f, scope)} rows cached"
            )

    total = sum(int(o["Size"]) for p in s3.get_paginator("list_objects_v2").paginate(Bucket="org-trail") for o in p.get("Contents", []))  # fmt: skip
    print(f"whole trail: {size_text(total)}")
    run("name:StopInstances region:eu-west-1 since:2025-03-04 until:2025-03-04T20:00")
    run("name:StopInstances since:2025-03-01 until:2025-03-08")
    fake.stop()
    moto.stop()


if __name__ == "__main__":
    main()
