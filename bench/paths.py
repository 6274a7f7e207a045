"""Path and boolean filters on the 1M cache, whole process, beside anchors of the same run.

    uv run python bench/paths.py [--cache bench/out/cache-1000000.sqlite]

The cache is the one bench/ingest.py builds (``--events 1000000 --keep``) or bench/tui.py
copies to bench/out/. Each filter runs as ``trailtui query --cache DB --limit 100 --format
jsonl`` (median of 3); the anchors are a column filter (``name:StopInstances``, answered by the
dictionary tables) and a free word that matches nothing (the whole chunk scan). Paths are
answered a chunk at a time: a term's needles (its key followed by how its value starts, e.g.
``"type":"root``) pick the lines in the decompressed chunk (Hyperscan), only those are parsed;
paths the cache keeps as columns (eventName...) are answered there. Target (the cache issue's
budget): <= 1 s whole-process for each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import QUERY_RUNS, TARGET_QUERY_S, product_env, time_query

ANCHORS = ["name:StopInstances", "zzqxnotthere"]
FILTERS = [
    "eventName:StopInstances",
    "userIdentity.type:Root",
    "userIdentity.type:AssumedRole",
    "requestParameters.instanceType:t2*",
    "requestParameters.bucketName:zzznope",
    "-requestParameters:*",
    "tlsDetails.tlsVersion:TLSv1.3",
    "userIdentity.sessionContext.sessionIssuer.userName:*",
    "-userIdentity.invokedBy:* userIdentity.type:AWSService",
    "resources.ARN:arn:aws:ec2:*",
    "name:StopInstances OR user:benjamin",
    "(requestParameters.bucketName:zzz OR userIdentity.type:Root)",
    "source:ec2 NOT (name:Describe* OR name:Get*)",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    here = Path(__file__).resolve().parent
    ap.add_argument("--cache", type=Path, default=here / "out" / "cache-1000000.sqlite")
    args = ap.parse_args()
    if not args.cache.exists():
        print(f"no cache at {args.cache}: run bench/ingest.py --events 1000000 --keep first")
        return 2
    env = product_env(here / "out" / "paths-home")
    print(f"whole-process query on {args.cache.name} (--limit 100, median of {QUERY_RUNS})")
    width = max(map(len, ANCHORS + FILTERS)) + 2
    worst = 0.0
    for kind, texts in (("anchor", ANCHORS), ("filter", FILTERS)):
        for text in texts:
            q = time_query(text, args.cache, env)
            if kind == "filter":
                worst = max(worst, q.seconds)
            flag = "" if kind == "anchor" else ("ok" if q.seconds <= TARGET_QUERY_S else "MISS")
            err = f"  ERROR {q.error[:200]}" if q.error else ""
            print(f"  {kind:6} {text:<{width}} {q.seconds:6.2f} s {q.rows:4d} rows {flag}{err}")
    print(f"slowest filter {worst:.2f} s (<= {TARGET_QUERY_S:g} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
