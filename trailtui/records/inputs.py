"""The parsers for every CloudTrail input shape, recognised by content, never by file name:

* S3 log files: ``{"Records": [...]}`` (plain or gzip)
* LookupEvents output: ``{"Events": [...]}`` as the API/CLI print it (``CloudTrailEvent``
  is a JSON string) or with raw records inside; a bare array of such responses; one item
  per line
* JSON Lines of records, and bare JSON arrays of records
* CloudTrail digest files are recognised and skipped

Nothing here raises on one bad record: it is reported in ``ParseResult.rejected`` and the
records beside it are kept.
"""

from __future__ import annotations

import gzip
import itertools
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .event import Event, ParseError, loads, parse_lookup_item, parse_record

MAX_FILE_BYTES = 2 * 1024**3


@dataclass(slots=True)
class Rejected:
    where: str  # path, path:line or path#index
    reason: str


@dataclass(slots=True)
class ParseResult:
    kind: str  # records | lookup | jsonl | array | digest | empty
    events: list[Event] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    error: str = ""  # the whole file was unreadable (events may still hold what was salvaged)


def _is_lookup_item(obj: dict[str, Any]) -> bool:
    return "CloudTrailEvent" in obj or ("EventId" in obj and "eventID" not in obj)


def _is_digest(obj: dict[str, Any]) -> bool:
    return "digestStartTime" in obj and "logFiles" in obj


# --------------------------------------------------------------------------- containers


def _add(res: ParseResult, where: str, make: Callable[[], Event]) -> None:
    """Append one parsed event, or record why it was rejected (never raise)."""
    try:
        res.events.append(make())
    except ParseError as e:
        res.rejected.append(Rejected(where, str(e)))
    except (TypeError, ValueError, AttributeError, OverflowError) as e:
        res.rejected.append(Rejected(where, f"{type(e).__name__}: {e}"))


def _one(obj: Any, res: ParseResult, where: str) -> None:
    """Parse one item that may be a record, a lookup item or a container of them."""
    if isinstance(obj, dict):
        if isinstance(obj.get("Records"), list):
            _many(obj["Records"], res, where, lookup=False)
            return
        if isinstance(obj.get("Events"), list):
            _many(obj["Events"], res, where, lookup=True)
            return
        if _is_digest(obj):
            return
        if _is_lookup_item(obj):
            _add(res, where, lambda: parse_lookup_item(obj))
            return
    _add(res, where, lambda: parse_record(obj))


def _many(items: list[Any], res: ParseResult, where: str, lookup: bool) -> None:
    for i, item in enumerate(items):
        w = f"{where}#{i}"
        if lookup and isinstance(item, dict):
            _add(res, w, lambda item=item: parse_lookup_item(item))  # type: ignore[misc]
        else:
            _one(item, res, w)


def _salvage(text: str, res: ParseResult, where: str) -> int:
    """Recover the complete records of a truncated/corrupt ``{"Records": [...]}`` text."""
    start = text.find('"Records"')
    if start < 0:
        start = text.find('"Events"')
    if start < 0:
        return 0
    lb = text.find("[", start)
    if lb < 0:
        return 0
    dec = json.JSONDecoder()
    pos = lb + 1
    before = len(res.events)
    lookup = text[start:lb].startswith('"Events"')
    for i in itertools.count():
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            obj, pos = dec.raw_decode(text, pos)
        except ValueError:
            break
        if lookup and isinstance(obj, dict):
            _add(res, f"{where}#{i}", lambda obj=obj: parse_lookup_item(obj))  # type: ignore[misc]
        else:
            _one(obj, res, f"{where}#{i}")
    return len(res.events) - before


def decode_bytes(data: bytes) -> tuple[str, str]:
    """gunzip if needed and decode. Returns (text, error) — text may be partial."""
    err = ""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            # keep whatever decompressed before the damage
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                data = d.decompress(data)
            except zlib.error:
                data = b""
            err = f"damaged gzip ({type(e).__name__}: {e})"
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, err


def parse_text(text: str, where: str = "<text>") -> ParseResult:
    """Parse the text of one input, whatever its shape."""
    stripped = text.lstrip()
    if not stripped:
        return ParseResult(kind="empty", error="empty file")
    res = ParseResult(kind="records")
    try:
        obj = loads(stripped)
    except ValueError as e:
        if stripped[0] == "{" and "\n" in stripped.strip():
            return _parse_lines(stripped, where, first_error=str(e))
        res.kind = "records" if '"Records"' in stripped[:4096] else "unknown"
        n = _salvage(stripped, res, where)
        res.error = f"invalid JSON ({e})" + (f"; {n} records recovered" if n else "")
        return res
    if isinstance(obj, dict):
        if isinstance(obj.get("Records"), list):
            res.kind = "records"
        elif isinstance(obj.get("Events"), list):
            res.kind = "lookup"
        elif _is_digest(obj):
            return ParseResult(kind="digest")
        elif not (_is_lookup_item(obj) or "eventTime" in obj or "eventtime" in obj):
            return ParseResult(kind="unknown", error="not CloudTrail data (no Records or Events)")
        else:
            res.kind = "jsonl"
        _one(obj, res, where)
    elif isinstance(obj, list):
        res.kind = "array"
        _many(obj, res, where, lookup=False)
    else:
        return ParseResult(
            kind="unknown", error=f"not CloudTrail data (a JSON {type(obj).__name__})"
        )
    return res


def _parse_lines(text: str, where: str, first_error: str) -> ParseResult:
    res = ParseResult(kind="jsonl")
    good_lines = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = loads(line)
        except ValueError as e:
            res.rejected.append(Rejected(f"{where}:{lineno}", f"invalid JSON ({e})"))
            continue
        good_lines += 1
        _one(obj, res, f"{where}:{lineno}")
    if not good_lines:
        res.kind = "unknown"
        res.error = f"invalid JSON ({first_error})"
    return res


def parse_bytes(data: bytes, where: str = "<bytes>") -> ParseResult:
    text, err = decode_bytes(data)
    if not text.strip() and err:
        return ParseResult(kind="unknown", error=err)
    res = parse_text(text, where)
    if err:
        res.error = err + (f"; {res.error}" if res.error else "")
    return res


def parse_file(path: Path) -> ParseResult:
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return ParseResult(kind="unknown", error=f"too large ({size} bytes)")
        data = path.read_bytes()
    except OSError as e:
        return ParseResult(kind="unknown", error=f"unreadable: {e.strerror or e}")
    if not data:
        return ParseResult(kind="empty", error="empty file")
    return parse_bytes(data, where)
