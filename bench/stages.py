"""Per-stage ingest cost (µs/event) over real-shaped trail files (bench/ingest.py's folders).

    uv run python bench/stages.py [FOLDER] [--files N]

FOLDER defaults to bench/out/ingest/cloudtrail-200k (run bench/ingest.py once to make it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from s3 import stages  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "folder", nargs="?", type=Path, default=ROOT / "bench/out/ingest/cloudtrail-200k"
    )
    ap.add_argument("--files", type=int, default=1000)
    a = ap.parse_args()
    files = sorted(a.folder.rglob("*.json.gz"))[: a.files]
    with tempfile.TemporaryDirectory() as d:
        stages(files, Path(d) / "stages.sqlite")


if __name__ == "__main__":
    main()
