"""Saved filters and cases (pinned evidence with notes), as TOML files people can read,
edit by hand and share.

* bookmarks: ``<config dir>/bookmarks.toml``, one ``[[bookmark]]`` table each
* cases: ``<data dir>/cases/<case>.toml``, one ``[[pin]]`` table per pinned event, with the
  raw record kept in the case (evidence outlives the cache)

Writes are atomic (temp file + rename) under a lock file, so two processes saving at once
lose nothing. A file with an error is reported with its path, line and problem and is never
overwritten: saving refuses until it is fixed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import locations


class BookmarkError(ValueError):
    """A file that can't be read or a name that can't be used; the message says which."""


# --------------------------------------------------------------------------- TOML


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F or 0xD800 <= o <= 0xDFFF:
            out.append(f"\\u{o:04X}" if o < 0x10000 and not 0xD800 <= o <= 0xDFFF else "\\uFFFD")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_str(str(v))


def dump_tables(header: str, name: str, rows: list[dict[str, Any]]) -> str:
    """A TOML document: a comment header and one [[name]] table per row (None values left out)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for row in rows:
        lines.append("")
        lines.append(f"[[{name}]]")
        for k, v in row.items():
            if v is None or (v == "" and k not in ("filter",)):
                continue
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_tables(path: Path, name: str) -> list[dict[str, Any]]:
    """The [[name]] tables of a TOML file ([] when there is none). Raises BookmarkError
    naming the file, the line and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as e:
        raise BookmarkError(f"{path}: unreadable: {e}") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _LINE.search(msg)
        where = f"line {m.group(1)}" if m else "somewhere"
        raise BookmarkError(f"{path}: {where}: {_LINE.sub('', msg).strip()}") from e
    rows = data.get(name, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BookmarkError(f"{path}: '{name}' must be a list of [[{name}]] tables")
    return rows


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _update(
    path: Path, name: str, header: str, change: Callable[[list[dict[str, Any]]], None]
) -> None:
    """Read-modify-write under the lock; refuses (BookmarkError) when the file has an error."""
    with _locked(path):
        rows = load_tables(path, name)
        change(rows)
        _write_atomic(path, dump_tables(header, name, rows))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- bookmarks

BOOKMARKS_HEADER = """trailtui bookmarks: saved filters. Edit by hand or share with your team.
name: unique; filter: the filter language; window: a relative span (24h, 7d) or empty;
since/until: absolute bounds; source: where it was saved (demo, cache, a path)."""


@dataclass(slots=True)
class Bookmark:
    name: str
    filter: str
    window: str = ""  # relative: "24h", "7d"; '' = none
    since: str = ""  # absolute ISO bounds
    until: str = ""
    source: str = ""
    created: str = ""
    last_used: str = ""

    def to_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "filter": self.filter,
            "window": self.window,
            "since": self.since,
            "until": self.until,
            "source": self.source,
            "created": self.created,
            "last_used": self.last_used,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Bookmark:
        return cls(**{k: str(row.get(k, "") or "") for k in cls.__slots__})  # type: ignore[attr-defined]

    def filter_text(self) -> str:
        """The bookmark as one filter (window and bounds folded in)."""
        parts = [self.filter.strip()]
        if self.window:
            parts.append(f"since:{self.window}")
        if self.since:
            parts.append(f'since:"{self.since}"')
        if self.until:
            parts.append(f'until:"{self.until}"')
        return " ".join(p for p in parts if p)


def bookmarks_file() -> Path:
    return locations.config_dir() / "bookmarks.toml"


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 80 or any(ord(c) < 0x20 for c in name):
        raise BookmarkError("a bookmark name is 1 to 80 printable characters")
    return name


class Bookmarks:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or bookmarks_file()

    def all(self) -> list[Bookmark]:
        return [Bookmark.from_row(r) for r in load_tables(self.path, "bookmark")]

    def get(self, name: str) -> Bookmark:
        for b in self.all():
            if b.name == name:
                return b
        for b in self.all():
            if b.name.lower() == name.lower():
                return b
        raise BookmarkError(f"no bookmark named {name!r} in {self.path}")

    def save(self, b: Bookmark, replace: bool = True) -> None:
        b.name = _valid_name(b.name)
        b.created = b.created or _now()

        def change(rows: list[dict[str, Any]]) -> None:
            for i, r in enumerate(rows):
                if r.get("name") == b.name:
                    if not replace:
                        raise BookmarkError(f"a bookmark named {b.name!r} exists")
                    b.created = str(r.get("created") or b.created)
                    rows[i] = b.to_row()
                    return
            rows.append(b.to_row())

        _update(self.path, "bookmark", BOOKMARKS_HEADER, change)

    def delete(self, name: str) -> None:
        def change(rows: list[dict[str, Any]]) -> None:
            keep = [r for r in rows if r.get("name") != name]
            if len(keep) == len(rows):
                raise BookmarkError(f"no bookmark named {name!r}")
            rows[:] = keep

        _update(self.path, "bookmark", BOOKMARKS_HEADER, change)

    def rename(self, old: str, new: str) -> None:
        new = _valid_name(new)

        def change(rows: list[dict[str, Any]]) -> None:
            if any(r.get("name") == new for r in rows):
                raise BookmarkError(f"a bookmark named {new!r} exists")
            for r in rows:
                if r.get("name") == old:
                    r["name"] = new
                    return
            raise BookmarkError(f"no bookmark named {old!r}")

        _update(self.path, "bookmark", BOOKMARKS_HEADER, change)

    def touch(self, name: str) -> None:
        def change(rows: list[dict[str, Any]]) -> None:
            for r in rows:
                if r.get("name") == name:
                    r["last_used"] = _now()

        _update(self.path, "bookmark", BOOKMARKS_HEADER, change)

    def export_text(self, names: list[str] | None = None) -> str:
        rows = [b.to_row() for b in self.all() if not names or b.name in names]
        missing = set(names or []) - {r["name"] for r in rows}
        if missing:
            raise BookmarkError(f"no bookmark named {', '.join(sorted(missing))}")
        return dump_tables(BOOKMARKS_HEADER, "bookmark", rows)

    def import_file(self, path: Path) -> list[str]:
        """Add (or replace, by name) the bookmarks of another file. Returns their names."""
        incoming = [Bookmark.from_row(r) for r in load_tables(path, "bookmark")]
        for b in incoming:
            _valid_name(b.name)

        def change(rows: list[dict[str, Any]]) -> None:
            by_name = {r.get("name"): i for i, r in enumerate(rows)}
            for b in incoming:
                if b.name in by_name:
                    rows[by_name[b.name]] = b.to_row()
                else:
                    rows.append(b.to_row())

        _update(self.path, "bookmark", BOOKMARKS_HEADER, change)
        return [b.name for b in incoming]


def fuzzy_score(query: str, text: str) -> int | None:
    """Subsequence match score (higher is better), None when the letters aren't all there."""
    q, t = query.lower(), text.lower()
    if not q:
        return 0
    pos, score, last = 0, 0, -2
    for ch in q:
        i = t.find(ch, pos)
        if i < 0:
            return None
        score += 3 if i == last + 1 else 1
        if i == 0 or t[i - 1] in " -_/:.":
            score += 2
        last, pos = i, i + 1
    return score


# --------------------------------------------------------------------------- cases and pins

CASE_HEADER = """trailtui case: pinned events with notes, in time order. raw is the event as
it was when pinned; sha256 is of raw (UTF-8)."""


@dataclass(slots=True)
class Pin:
    event_id: str
    time: str
    name: str
    who: str
    where: str  # source IP / region
    note: str = ""
    filter: str = ""  # the filter that found it
    pinned_at: str = ""
    raw: str = ""
    sha256: str = ""

    def to_row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Pin:
        return cls(**{k: str(row.get(k, "") or "") for k in cls.__slots__})  # type: ignore[attr-defined]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _case_name(name: str) -> str:
    name = name.strip() or "default"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise BookmarkError("a case name is letters, digits, '.', '_' or '-' (64 at most)")
    return name


@dataclass
class Case:
    name: str = "default"
    path: Path = field(default_factory=Path)

    @classmethod
    def open(cls, name: str = "default") -> Case:
        name = _case_name(name)
        return cls(name, locations.data_dir() / "cases" / f"{name}.toml")

    def pins(self) -> list[Pin]:
        pins = [Pin.from_row(r) for r in load_tables(self.path, "pin")]
        return sorted(pins, key=lambda p: (p.time, p.event_id))

    def pin(self, p: Pin) -> None:
        p.pinned_at = p.pinned_at or _now()
        if p.raw and not p.sha256:
            p.sha256 = sha256_text(p.raw)

        def change(rows: list[dict[str, Any]]) -> None:
            for i, r in enumerate(rows):
                if r.get("event_id") == p.event_id:
                    rows[i] = p.to_row()
                    return
            rows.append(p.to_row())
            rows.sort(key=lambda r: (str(r.get("time", "")), str(r.get("event_id", ""))))

        _update(self.path, "pin", CASE_HEADER, change)

    def unpin(self, event_id: str) -> None:
        def change(rows: list[dict[str, Any]]) -> None:
            rows[:] = [r for r in rows if r.get("event_id") != event_id]

        _update(self.path, "pin", CASE_HEADER, change)


def stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())
