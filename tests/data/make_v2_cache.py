"""Makes tests/data/cache-v2.sqlite: a version 2 cache, written by trailtui's v2 store.

Run it with a checkout of trailtui at fef03fe (the last commit with the v2 store) first on the
path, from this repository's root:

    git archive fef03fe | tar -x -C /tmp/v2code
    PYTHONPATH=/tmp/v2code uv run python tests/data/make_v2_cache.py tests/data/real \\
        tests/data/cache-v2.sqlite

It holds three invictus-ir files read as a folder (with its root scope), a truncated copy of
one (salvaged in part: a reject), some of the same events again from a LookupEvents origin
(extra origins), two AWS docs LookupEvents records, a coverage row and a meta key.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

from trailtui.records.inputs import parse_file
from trailtui.sources.folder import ingest_paths, origin_uri
from trailtui.store.store import SCHEMA_VERSION, Store


def main() -> None:
    assert SCHEMA_VERSION == 2, "run it with the v2 code first on the path"
    real, out = Path(sys.argv[1]), Path(sys.argv[2])
    work = Path("/tmp/v2fix/work")
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    by_size = sorted(
        (real / "invictus-ir" / "CloudTrail").glob("*.json"), key=lambda p: p.stat().st_size
    )
    files = by_size[20:23]
    for p in files:
        (work / "logs" / p.name).write_bytes(p.read_bytes())
    (work / "logs" / "zz-truncated.json").write_bytes(files[0].read_bytes()[:3000])
    db = work / "cache.sqlite"
    s = Store(db)
    s.root_scope(origin_uri(work / "logs"))
    ingest_paths(s, [work / "logs"])
    s.ingest(parse_file(files[1]).events[:20], "lookup:default:us-east-1", "lookup")
    docs = parse_file(real / "awsdocs" / "doc_examples_lookupevents.json").events
    s.ingest(docs, "lookup:default:us-east-1", "lookup")
    s.set_coverage("lookup:default:us-east-1", "name=StopInstances", 1000, 2000, True, None)
    s.set_meta("note", "made by tests/data/make_v2_cache.py")
    s.close()
    c = sqlite3.connect(db)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.execute("PRAGMA journal_mode=DELETE")
    c.execute("VACUUM")
    c.close()
    shutil.copy(db, out)


if __name__ == "__main__":
    main()
