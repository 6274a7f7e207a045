"""Streaming writers: JSON ({"Records": [...]}), JSON Lines, CSV, and the rows of a table.

Nothing here holds a whole result in memory: rows come from ``Store.iter_raw`` one at a time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from .events import parse_record
from .safe import json_escape_unsafe

CSV_COLUMNS = (
    "time",
    "event_id",
    "event_name",
    "event_source",
    "who",
    "principal_arn",
    "source_ip",
    "region",
    "account",
    "resources",
    "error_code",
    "error_message",
    "read_only",
    "user_agent",
)


def _compact(raw_text: str) -> str:
    # stored raw JSON is already compact; escape what a terminal could act on
    return json_escape_unsafe(raw_text)


def write_jsonl(raws: Iterable[str], out: TextIO) -> int:
    n = 0
    for raw in raws:
        out.write(_compact(raw))
        out.write("\n")
        n += 1
    return n


def write_json(raws: Iterable[str], out: TextIO) -> int:
    """The S3 log file shape, so the output can be re-read (and `jq '.Records[]'` works)."""
    n = 0
    out.write('{"Records": [')
    for raw in raws:
        out.write(",\n  " if n else "\n  ")
        out.write(_compact(raw))
        n += 1
    out.write("\n]}\n" if n else "]}\n")
    return n


def csv_row(raw: dict[str, Any]) -> list[str]:
    ev = parse_record(raw)
    return [
        ev.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ev.event_id,
        ev.name,
        ev.source,
        ev.principal.display,
        ev.principal.arn,
        ev.source_ip,
        ev.region,
        ev.account,
        " ".join(n for _, n in ev.resources),
        ev.error_code,
        ev.error_message,
        "" if ev.read_only is None else str(ev.read_only).lower(),
        ev.user_agent,
    ]


def write_csv(raws: Iterable[str], out: TextIO) -> int:
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    n = 0
    for raw in raws:
        w.writerow(csv_row(json.loads(raw)))
        n += 1
    return n


def raw_texts(rows: Iterable[tuple[int, str]]) -> Iterator[str]:
    for _, raw in rows:
        yield raw


WRITERS = {"json": write_json, "jsonl": write_jsonl, "csv": write_csv}
