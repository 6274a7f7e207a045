"""Streaming writers: JSON ({"Records": [...]}), JSON Lines, CSV, and the rows of a table.

Nothing here holds a whole result in memory: rows come from ``Store.iter_raw`` one at a time.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..records.event import parse_record
from ..safe import json_escape_unsafe

if TYPE_CHECKING:
    from .cases import Pin

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


# --------------------------------------------------------------------------- cases


def _md_cell(text: str, limit: int = 300) -> str:
    from ..safe import clean

    return clean(text, limit).replace("|", "\\|").replace("`", "'")


def case_markdown(case_name: str, pins: list[Pin]) -> str:
    """A Markdown timeline of the pinned events: time, who, what, where, note."""
    lines = [
        f"# Case {_md_cell(case_name, 80)}",
        "",
        f"{len(pins)} pinned events, oldest first. Times are UTC.",
        "",
        "| time | who | what | where | note |",
        "|---|---|---|---|---|",
    ]
    for p in pins:
        lines.append(
            f"| {_md_cell(p.time)} | {_md_cell(p.who)} | {_md_cell(p.name)} | "
            f"{_md_cell(p.where)} | {_md_cell(p.note)} |"
        )
    filters = sorted({p.filter for p in pins if p.filter})
    lines += ["", "## Filters that found them", ""]
    lines += [f"- `{_md_cell(f)}`" for f in filters] or ["- (none recorded)"]
    lines += ["", "## Events", ""]
    for p in pins:
        lines.append(f"- `{_md_cell(p.event_id, 100)}` sha256 `{p.sha256}`")
    return "\n".join(lines) + "\n"


def case_jsonl_lines(pins: list[Pin]) -> Iterator[str]:
    """One line per pin: the raw record and the SHA-256 of its compact JSON text."""
    for p in pins:
        record = json.loads(p.raw) if p.raw else None
        obj = {
            "event_id": p.event_id,
            "sha256": p.sha256,
            "note": p.note,
            "filter": p.filter,
            "event": record,
        }
        yield json_escape_unsafe(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def export_case(case_name: str, pins: list[Pin], folder: Path) -> list[Path]:
    """Write <case>.md, <case>.jsonl and <case>.filters.txt into folder (atomically)."""
    from .tomlfile import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    md = folder / f"{case_name}.md"
    jl = folder / f"{case_name}.jsonl"
    flt = folder / f"{case_name}.filters.txt"
    write_atomic(md, case_markdown(case_name, pins), 0o600)
    write_atomic(jl, "".join(line + "\n" for line in case_jsonl_lines(pins)), 0o600)
    filters = sorted({p.filter for p in pins if p.filter})
    write_atomic(flt, "".join(f + "\n" for f in filters), 0o600)
    return [md, jl, flt]


def export_view(
    raws: Iterable[str],
    fmt: str,
    path: Path,
    progress: Callable[[int], None] | None = None,
    every: int = 2000,
) -> int:
    """Stream a view into a file (temp file + rename); progress(n) now and then."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    counted = _counting(raws, progress, every)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            n = WRITERS[fmt](counted, out)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return n


def _counting(
    raws: Iterable[str], progress: Callable[[int], None] | None, every: int
) -> Iterator[str]:
    n = 0
    for raw in raws:
        yield raw
        n += 1
        if progress is not None and n % every == 0:
            progress(n)
    if progress is not None:
        progress(n)
