"""Build (once) a cache of N events by replaying the demo account over earlier fortnights."""

from __future__ import annotations

import copy
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from trailtui.records.event import parse_record
from trailtui.sources.demo import generate
from trailtui.store.store import Store, StoreError

OUT = Path(__file__).resolve().parent / "out"


def big_cache(n: int = 1_000_000) -> Path:
    path = Path(os.environ.get("TRAILTUI_BENCH_CACHE", OUT / f"cache-{n}.sqlite"))
    if path.exists():
        try:
            s = Store(path)  # an older version is brought up to date
        except StoreError as e:  # a newer one (another branch's), or not a cache: keep it
            raise SystemExit(f"{path}: {e}; move it aside to build the bench's cache again") from e
        enough = s.total() >= n * 0.999  # a few replayed ids collide
        s.close()
        if enough:
            return path
        if path.parent != OUT:  # TRAILTUI_BENCH_CACHE names someone's cache: never delete it
            raise SystemExit(f"{path} holds fewer than {n:,} events")
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
    OUT.mkdir(exist_ok=True)
    base = generate()
    store = Store(path)
    t0 = time.perf_counter()
    done = 0
    k = 0
    while done < n:
        shift = timedelta(days=14 * k)
        batch = []
        for rec in base:
            if done + len(batch) >= n:
                break
            r = copy.copy(rec) if k else rec
            if k:
                t = datetime.fromisoformat(rec["eventTime"]) - shift
                r["eventTime"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
                r["eventID"] = f"{rec['eventID'][:-4]}{k:04d}"
            batch.append(parse_record(r))
        for i in range(0, len(batch), 20000):
            store.ingest(batch[i : i + 20000], f"bench:{k}", "bench")
        done += len(batch)
        k += 1
        print(f"  built {done:,} events ({done / (time.perf_counter() - t0):,.0f}/s)", flush=True)
    store.execute("ANALYZE")
    store.close()
    return path
