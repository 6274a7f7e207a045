"""Cases: pinned events with notes, one TOML file per case in the data dir, each pin with
the raw event and its SHA-256."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import locations
from .tomlfile import BookmarkError, load_tables, now_text, update_file

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
        p.pinned_at = p.pinned_at or now_text()
        if p.raw and not p.sha256:
            p.sha256 = sha256_text(p.raw)

        def change(rows: list[dict[str, Any]]) -> None:
            for i, r in enumerate(rows):
                if r.get("event_id") == p.event_id:
                    rows[i] = p.to_row()
                    return
            rows.append(p.to_row())
            rows.sort(key=lambda r: (str(r.get("time", "")), str(r.get("event_id", ""))))

        update_file(self.path, "pin", CASE_HEADER, change)

    def unpin(self, event_id: str) -> None:
        def change(rows: list[dict[str, Any]]) -> None:
            rows[:] = [r for r in rows if r.get("event_id") != event_id]

        update_file(self.path, "pin", CASE_HEADER, change)


def stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())
