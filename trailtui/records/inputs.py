"""The parsers for every CloudTrail input shape, recognised by content, never by file name:

* S3 log files: ``{"Records": [...]}`` (plain or gzip)
* LookupEvents output: ``{"Events": [...]}`` as the API/CLI print it (``CloudTrailEvent``
  is a JSON string) or with raw records inside; a bare array of such responses; one item
  per line
* JSON Lines of records, and bare JSON arrays of records
* CloudTrail digest files are recognised and skipped
* records and Records objects nested one or two levels down, as objects or JSON strings:
  CloudWatch Logs subscription envelopes (``{"messageType": "DATA_MESSAGE", "logEvents":
  [{"message": "<record>"}]}``, plain, gzip, one per line or concatenated as Firehose writes
  them; CONTROL_MESSAGE envelopes are skipped), ``aws logs filter-log-events`` output
  (``{"events": [{"message": ...}]}``), pipeline captures whose ``_raw``/``message``/
  ``_source`` holds a record or a whole ``{"Records": [...]}``
* Logstash/Elastic exports where ``eventTime`` became ``@timestamp`` (and ``@version`` was
  added): the record is given its ``eventTime`` back and loses ``@version``

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
    kind: str  # records | lookup | jsonl | array | digest | envelope | empty
    events: list[Event] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    error: str = ""  # the whole file was unreadable (events may still hold what was salvaged)


def _is_lookup_item(obj: dict[str, Any]) -> bool:
    return "CloudTrailEvent" in obj or ("EventId" in obj and "eventID" not in obj)


def _is_digest(obj: dict[str, Any]) -> bool:
    return "digestStartTime" in obj and "logFiles" in obj


_CT_KEYS = ("eventName", "eventSource", "eventID", "eventVersion", "userIdentity")
NEST_DEPTH = 2  # how far down a record or a Records object is looked for


def _as_record(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The CloudTrail record a dict is (itself, or a Logstash/Elastic document whose
    eventTime became @timestamp), else None."""
    if "eventTime" in obj or "eventtime" in obj:
        return obj
    if "@timestamp" in obj and any(k in obj for k in _CT_KEYS):
        rec = {k: v for k, v in obj.items() if k not in ("@timestamp", "@version")}
        rec["eventTime"] = obj["@timestamp"]
        return rec
    return None


def _is_payload(obj: dict[str, Any]) -> bool:
    """A record, a lookup item, or a Records/Events object."""
    return (
        isinstance(obj.get("Records"), list)
        or isinstance(obj.get("Events"), list)
        or _is_lookup_item(obj)
        or _as_record(obj) is not None
    )


def _decoded(v: Any) -> Any:
    """A value, or the JSON object/array its string holds."""
    if isinstance(v, str):
        t = v.lstrip()
        if t[:1] in ("{", "[") and len(t) > 1:
            try:
                return loads(t)
            except ValueError:
                return v
    return v


def _nested(
    obj: dict[str, Any], where: str, depth: int
) -> tuple[list[tuple[str, dict[str, Any]]], list[Rejected]]:
    """Records and Records objects inside a dict (``depth`` levels down, as objects or JSON
    strings), and the items of the lists that held them that are neither."""
    hits: list[tuple[str, dict[str, Any]]] = []
    misses: list[Rejected] = []
    for v in obj.values():
        v = _decoded(v)
        if isinstance(v, dict):
            if _is_payload(v):
                hits.append((where, v))
            elif depth > 1:
                h, m = _nested(v, where, depth - 1)
                hits += h
                misses += m
        elif isinstance(v, list):
            found: list[tuple[str, dict[str, Any]]] = []
            lost: list[Rejected] = []
            for i, item in enumerate(v):
                x = _decoded(item)
                w = f"{where}#{i}"
                got: list[tuple[str, dict[str, Any]]] = []
                if isinstance(x, dict):
                    if _is_payload(x):
                        got = [(w, x)]
                    elif depth > 1:
                        got, m = _nested(x, w, depth - 1)
                        lost += m
                if got:
                    found += got
                else:
                    lost.append(Rejected(w, "not a CloudTrail record"))
            if found:
                hits += found
                misses += lost
    return hits, misses


# --------------------------------------------------------------------------- containers


def _add(res: ParseResult, where: str, make: Callable[[], Event]) -> None:
    """Append one parsed event, or record why it was rejected (never raise)."""
    try:
        res.events.append(make())
    except ParseError as e:
        res.rejected.append(Rejected(where, str(e)))
    except (TypeError, ValueError, AttributeError, OverflowError) as e:
        res.rejected.append(Rejected(where, f"{type(e).__name__}: {e}"))


def _one(obj: Any, res: ParseResult, where: str, depth: int = NEST_DEPTH) -> None:
    """Parse one item that may be a record, a lookup item, a container of them, or something
    that holds one of those a level or two down (an envelope, a capture, an export)."""
    if isinstance(obj, dict):
        if isinstance(obj.get("Records"), list):
            _many(obj["Records"], res, where, lookup=False)
            return
        if isinstance(obj.get("Events"), list):
            _many(obj["Events"], res, where, lookup=True)
            return
        if _is_digest(obj) or obj.get("messageType") == "CONTROL_MESSAGE":
            return
        if _is_lookup_item(obj):
            _add(res, where, lambda: parse_lookup_item(obj))
            return
        rec = _as_record(obj)
        if rec is not None:
            _add(res, where, lambda: parse_record(rec))
            return
        if depth > 0:
            hits, misses = _nested(obj, where, depth)
            if hits:
                for w, payload in hits:
                    _one(payload, res, w, 0)
                res.rejected += misses
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
        if stripped[0] == "{":
            cat = _parse_concatenated(stripped, where)
            if cat is not None:
                return cat
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
        elif obj.get("messageType") == "CONTROL_MESSAGE":
            return ParseResult(kind="envelope")
        elif not (_is_lookup_item(obj) or _as_record(obj) is not None):
            if not _nested(obj, where, NEST_DEPTH)[0]:
                return ParseResult(
                    kind="unknown", error="not CloudTrail data (no Records or Events)"
                )
            res.kind = "envelope"
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


def _parse_concatenated(text: str, where: str) -> ParseResult | None:
    """``{...}{...}``: JSON objects back to back, as Firehose writes subscription data to S3
    (None unless the whole text is such objects, at least two)."""
    dec = json.JSONDecoder()
    objs: list[Any] = []
    pos = 0
    while pos < len(text):
        try:
            obj, pos = dec.raw_decode(text, pos)
        except ValueError:
            return None
        objs.append(obj)
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
    if len(objs) < 2:
        return None
    res = ParseResult(kind="jsonl")
    for i, obj in enumerate(objs):
        _one(obj, res, f"{where}#{i}")
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
