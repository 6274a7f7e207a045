"""Saved filters: ``<config dir>/bookmarks.toml``, one ``[[bookmark]]`` table each, a TOML
file people can read, edit by hand and share (cases, the pinned evidence, are in cases.py).

Writes are atomic (temp file + rename) under a lock file, so two processes saving at once
lose nothing. A file with an error is reported with its path, line and problem and is never
overwritten: saving refuses until it is fixed (tomlfile.py does both, for cases too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import locations
from ..monitor.cis import CIS, Control
from .tomlfile import BookmarkError, dump_tables, load_tables, now_text, update_file

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


def _tampering() -> Bookmark:
    from ..investigate.tampering import tampering_filter

    return Bookmark("tampering", tampering_filter(), source="built-in")


def _cis(c: Control) -> Callable[[], Bookmark]:
    return lambda: Bookmark(c.name, c.filter, source=f"built-in: CIS {c.control}, {c.title}")


# bookmarks every user has (a saved bookmark of the same name takes their place): tampering,
# and the CIS benchmark's CloudTrail monitoring set (monitor/cis.py; also `alarm --preset cis`)
BUILTIN: dict[str, Callable[[], Bookmark]] = {
    "tampering": _tampering,
    **{c.name: _cis(c) for c in CIS},
}


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
        builtin = BUILTIN.get(name.lower())
        if builtin is not None:
            return builtin()
        raise BookmarkError(f"no bookmark named {name!r} in {self.path}")

    def save(self, b: Bookmark, replace: bool = True) -> None:
        b.name = _valid_name(b.name)
        b.created = b.created or now_text()

        def change(rows: list[dict[str, Any]]) -> None:
            for i, r in enumerate(rows):
                if r.get("name") == b.name:
                    if not replace:
                        raise BookmarkError(f"a bookmark named {b.name!r} exists")
                    b.created = str(r.get("created") or b.created)
                    rows[i] = b.to_row()
                    return
            rows.append(b.to_row())

        update_file(self.path, "bookmark", BOOKMARKS_HEADER, change)

    def delete(self, name: str) -> None:
        def change(rows: list[dict[str, Any]]) -> None:
            keep = [r for r in rows if r.get("name") != name]
            if len(keep) == len(rows):
                raise BookmarkError(f"no bookmark named {name!r}")
            rows[:] = keep

        update_file(self.path, "bookmark", BOOKMARKS_HEADER, change)

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

        update_file(self.path, "bookmark", BOOKMARKS_HEADER, change)

    def touch(self, name: str) -> None:
        def change(rows: list[dict[str, Any]]) -> None:
            for r in rows:
                if r.get("name") == name:
                    r["last_used"] = now_text()

        update_file(self.path, "bookmark", BOOKMARKS_HEADER, change)

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

        update_file(self.path, "bookmark", BOOKMARKS_HEADER, change)
        return [b.name for b in incoming]
