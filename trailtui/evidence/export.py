"""Streaming writers: JSON ({"Records": [...]}), JSON Lines, CSV, and the rows of a table;
and the case export, which says per pinned event whether the log file it was read from was
validated (what ``verify`` kept in the cache).

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
    from ..store.store import Store
    from ..store.verified import EventFile
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


NOT_CACHED = "not in the cache"  # a pinned event the cache no longer holds: nothing to say

PinFiles = dict[str, list["EventFile"]]  # event id -> the files its event was read from


def pin_files(pins: list[Pin], store: Store | None = None) -> PinFiles:
    """The files each pinned event was read from, with what verify found of them. Without a
    store, the default cache's (read-only; {} when there is none or it can't be read)."""
    import sqlite3

    from ..store.store import StoreError

    own = None
    if store is None:
        from .. import locations
        from ..store.store import Store

        path = locations.default_cache_db()
        if not path.exists():
            return {}
        try:
            store = own = Store(path, readonly=True)
        except (StoreError, sqlite3.Error, OSError):
            return {}
    try:
        out: PinFiles = {}
        for p in pins:
            rowid = store.rowid_of(p.event_id)
            out[p.event_id] = [] if rowid is None else store.file_check(rowid)
        return out
    except (StoreError, sqlite3.Error):
        return {}
    finally:
        if own is not None:
            own.close()


def _file_json(f: EventFile) -> dict[str, Any]:
    c = f.check
    return {
        "uri": f.uri,
        "integrity": f.integrity,
        "digest": (c.digest or None) if c is not None else None,
        "checked_at": c.checked.strftime("%Y-%m-%dT%H:%M:%SZ") if c is not None else None,
        "detail": (c.detail or None) if c is not None else None,
    }


def file_record(files: list[EventFile]) -> dict[str, Any]:
    """What the case export says of a pinned event's log file: the one that says most (a bad
    check first), and the others when the event came from several."""
    from ..store.verified import worst

    w = worst(files)
    if w is None:
        return {"uri": None, "integrity": NOT_CACHED, "digest": None, "checked_at": None,
                "detail": None}  # fmt: skip
    out = _file_json(w)
    others = [_file_json(f) for f in files if f is not w]
    if others:
        out["other_files"] = others
    return out


def case_markdown(case_name: str, pins: list[Pin], files: PinFiles | None = None) -> str:
    """A Markdown timeline of the pinned events: time, who, what, where, note, and (with
    ``files``) whether the log file each was read from was validated."""
    head, rule = "| time | who | what | where | note |", "|---|---|---|---|---|"
    if files is not None:
        head, rule = head + " log file |", rule + "---|"
    lines = [
        f"# Case {_md_cell(case_name, 80)}",
        "",
        f"{len(pins)} pinned events, oldest first. Times are UTC.",
        "",
        head,
        rule,
    ]
    records = {}
    if files is not None:
        records = {p.event_id: file_record(files.get(p.event_id, [])) for p in pins}
    for p in pins:
        line = (
            f"| {_md_cell(p.time)} | {_md_cell(p.who)} | {_md_cell(p.name)} | "
            f"{_md_cell(p.where)} | {_md_cell(p.note)} |"
        )
        if files is not None:
            line += f" {_md_cell(records[p.event_id]['integrity'])} |"
        lines.append(line)
    filters = sorted({p.filter for p in pins if p.filter})
    lines += ["", "## Filters that found them", ""]
    lines += [f"- `{_md_cell(f)}`" for f in filters] or ["- (none recorded)"]
    lines += ["", "## Events", ""]
    for p in pins:
        lines.append(f"- `{_md_cell(p.event_id, 100)}` sha256 `{p.sha256}`")
    if files is not None:
        lines += ["", "## Log files (what `trailtui verify` found of each)", ""]
        for p in pins:
            r = records[p.event_id]
            text = f"- `{_md_cell(p.event_id, 100)}` {_md_cell(r['integrity'])}"
            if r["uri"]:
                text += f": `{_md_cell(r['uri'], 400)}`"
            if r["digest"]:
                text += f", digest `{_md_cell(r['digest'], 400)}`"
            if r["checked_at"]:
                text += f", verified {r['checked_at']}"
            if r["detail"]:
                text += f" ({_md_cell(r['detail'])})"
            lines.append(text)
            lines += [
                f"  - also `{_md_cell(o['uri'], 400)}`: {_md_cell(o['integrity'])}"
                for o in r.get("other_files", [])
            ]
    return "\n".join(lines) + "\n"


def case_jsonl_lines(pins: list[Pin], files: PinFiles | None = None) -> Iterator[str]:
    """One line per pin: the raw record and the SHA-256 of its compact JSON text; with
    ``files``, what verify found of the log file it was read from (``file``)."""
    for p in pins:
        record = json.loads(p.raw) if p.raw else None
        obj: dict[str, Any] = {
            "event_id": p.event_id,
            "sha256": p.sha256,
            "note": p.note,
            "filter": p.filter,
        }
        if files is not None:
            obj["file"] = file_record(files.get(p.event_id, []))
        obj["event"] = record
        yield json_escape_unsafe(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def export_case(
    case_name: str, pins: list[Pin], folder: Path, store: Store | None = None
) -> list[Path]:
    """Write <case>.md, <case>.jsonl and <case>.filters.txt into folder (atomically), each pin
    with what verify found of its log file (from ``store``, else the default cache)."""
    from .tomlfile import write_atomic

    files = pin_files(pins, store)
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / f"{case_name}.md"
    jl = folder / f"{case_name}.jsonl"
    flt = folder / f"{case_name}.filters.txt"
    write_atomic(md, case_markdown(case_name, pins, files), 0o600)
    write_atomic(jl, "".join(line + "\n" for line in case_jsonl_lines(pins, files)), 0o600)
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
