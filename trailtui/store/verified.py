"""What ``trailtui verify`` found of each log file (``file_checks``), and what that says of an
event: validated by a digest, modified, in no digest, missing, or never verified.

A check is keyed by the file's uri, spelled as the cache spells the origin of the events read
from it (``s3://bucket/key`` for an object, the absolute resolved path for a local file):
``file_uri`` is that one spelling, applied to the names verify checks and to the origins an
event is looked up by. An event's first origin is its chunk's; any other file that gave it
again is an ``extra_origins`` row: each is looked up.

The table is created by the first write (a cache that was never verified has none: reads
answer "not verified"). A check also remembers which version of the file verify read (size and
mtime of a local file, the ETag of an object), so a file that changed between the read into the
cache and the check is not called validated on the strength of other bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .db import Database

VALIDATED = "validated"  # its SHA-256 matches a digest whose signature is valid or uncheckable
MODIFIED = "modified"  # its SHA-256 differs from the digest's
UNLISTED = "unlisted"  # a log file no digest lists
MISSING = "missing"  # a digest lists it, it was not there when verify ran
DIGEST_INVALID = "digest-invalid"  # it matches a digest that was itself modified or mis-signed

STATUSES = (VALIDATED, MODIFIED, UNLISTED, MISSING, DIGEST_INVALID)

# what an export calls each status (and the states of an event whose file has no check)
LABELS = {
    VALIDATED: "validated",
    MODIFIED: "modified",
    UNLISTED: "not in digest",
    MISSING: "missing when verified",
    DIGEST_INVALID: "digest invalid",
}
NOT_VERIFIED = "not verified"
CHANGED = "changed since verified"
NO_FILE = {"lookup": "LookupEvents", "logs": "CloudWatch Logs", "demo": "demo"}
FILE_KINDS = ("file", "s3")  # origins that are log files verify can check

DDL = """CREATE TABLE IF NOT EXISTS file_checks (
    uri TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    digest TEXT NOT NULL,  -- the digest that lists it ('' when none does)
    checked_at INTEGER NOT NULL,  -- when verify read it, epoch seconds
    detail TEXT NOT NULL,  -- the digest's own state, or what went wrong
    version TEXT NOT NULL DEFAULT ''  -- size:mtime_ns of a local file, the ETag of an object
)"""

# the origins of one event (its chunk's, then any other that gave it again), with what the
# cache recorded of the file when it read it
_ORIGINS = """
SELECT o.uri, o.kind, f.size, f.mtime_ns, f.etag FROM events e
JOIN chunks c ON c.id = e.chunk JOIN origins o ON o.id = c.origin
LEFT JOIN files f ON f.origin = o.id WHERE e.id = ?
UNION ALL
SELECT o.uri, o.kind, f.size, f.mtime_ns, f.etag FROM extra_origins x
JOIN origins o ON o.id = x.origin LEFT JOIN files f ON f.origin = o.id WHERE x.event = ?
"""


def file_uri(name: str) -> str:
    """The uri of a log file as the cache records the origin of its events: an object's
    ``s3://bucket/key`` as it is, a local file's absolute path with links resolved."""
    if name.startswith("s3://"):
        return name
    try:
        return str(Path(name).resolve())
    except (OSError, RuntimeError):  # a loop of links: the absolute path, unresolved
        return str(Path(name).absolute())


def file_version(size: int | None, mtime_ns: int | None, etag: str | None) -> str:
    """Which version of a file was read: the ETag of an object, size:mtime of a local file."""
    if etag:
        return etag.strip('"')
    if size is not None and mtime_ns is not None:
        return f"{size}:{mtime_ns}"
    return ""


@dataclass(frozen=True, slots=True)
class FileCheck:
    uri: str
    status: str
    digest: str = ""
    checked_at: int = 0  # epoch seconds
    detail: str = ""
    version: str = ""

    @property
    def checked(self) -> datetime:
        return datetime.fromtimestamp(self.checked_at, tz=UTC)


@dataclass(frozen=True, slots=True)
class EventFile:
    """One file (or other origin) an event was read from, and verify's check of it."""

    uri: str
    kind: str  # the origin's kind: file, s3, lookup, logs, demo...
    check: FileCheck | None = None
    read_version: str = ""  # which version of the file the cache read

    @property
    def is_file(self) -> bool:
        return self.kind in FILE_KINDS

    @property
    def changed(self) -> bool:
        """verify read other bytes than the cache did (the file changed in between)."""
        c = self.check
        return (
            c is not None
            and c.status != MISSING
            and bool(c.version and self.read_version)
            and c.version != self.read_version
        )

    @property
    def integrity(self) -> str:
        """validated | modified | not in digest | missing when verified | digest invalid |
        changed since verified | not verified | no file (LookupEvents, ...)."""
        if not self.is_file:
            return f"no file ({NO_FILE.get(self.kind, self.kind)})"
        if self.check is None:
            return NOT_VERIFIED
        if self.changed:
            return CHANGED
        return LABELS.get(self.check.status, self.check.status)

    @property
    def level(self) -> str:
        """ok (validated), bad (anything to distrust), unverified (a file never checked),
        none (not from a log file)."""
        if not self.is_file:
            return "none"
        if self.check is None:
            return "unverified"
        return "ok" if self.check.status == VALIDATED and not self.changed else "bad"

    def sentence(self) -> str:
        """What the detail view says of it, in one line (plain text: the caller escapes)."""
        c = self.check
        name = self.uri.rsplit("/", 1)[-1]
        if not self.is_file:
            return f"from {NO_FILE.get(self.kind, self.kind)}: no log file to verify"
        if c is None:
            return f"log file not verified ({name}): press V, or run trailtui verify"
        when = f"{c.checked:%Y-%m-%d %H:%M} UTC"
        digest = c.digest.rsplit("/", 1)[-1]
        if self.changed:
            return (
                f"LOG FILE CHANGED after the cache read it: verify found {name} "
                f"{LABELS.get(c.status, c.status)} at {when}, but read other bytes than the "
                "cache did — read it again (r) and verify again (V)"
            )
        if c.status == VALIDATED:
            # the digest's own state, short (why signatures went unchecked: the report says)
            state = c.detail.split(" (")[0].split(":")[0]
            return f"log file validated by digest {digest} at {when}" + (
                f" ({state})" if state else ""
            )
        if c.status == MODIFIED:
            return (
                f"LOG FILE MODIFIED: {name} no longer matches the SHA-256 in digest {digest} "
                f"(verified {when}): this event may have been altered or added"
            )
        if c.status == UNLISTED:
            return (
                f"LOG FILE IN NO DIGEST: no CloudTrail digest lists {name} (verified {when}): "
                "it may have been planted, or the digest that listed it deleted"
            )
        if c.status == MISSING:
            return (
                f"LOG FILE WAS MISSING when verify ran at {when}: digest {digest} lists {name}, "
                "which was deleted (the cache read it before, or it reappeared since)"
            )
        if c.status == DIGEST_INVALID:
            return (
                f"DIGEST NOT TRUSTWORTHY: {name} matches digest {digest}, but that digest "
                f"{c.detail or 'failed its own check'} (verified {when})"
            )
        return f"log file {c.status} (verified {when})"


def worst(files: Sequence[EventFile]) -> EventFile | None:
    """The file that says most about an event: a bad check before an unverified file before
    a validated one before an origin that is no file."""
    order = {"bad": 0, "unverified": 1, "ok": 2, "none": 3}
    return min(files, key=lambda f: order[f.level], default=None)


def _missing_table(e: sqlite3.OperationalError) -> bool:
    return "no such table" in str(e)


class Verified:
    """file_checks: written by verify, read for the detail view and the case export."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, checks: Iterable[FileCheck]) -> int:
        """Remember each check (a file checked again replaces its older check); how many."""
        rows = [
            (file_uri(c.uri), c.status, c.digest, int(c.checked_at), c.detail, c.version)
            for c in checks
        ]
        with self.db.write() as c:
            c.execute(DDL)
            c.executemany("INSERT OR REPLACE INTO file_checks VALUES (?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def checks(self, uris: Sequence[str]) -> dict[str, FileCheck]:
        """The checks of these files (by their file_uri), where verify checked them."""
        keys = sorted({file_uri(u) for u in uris})
        out: dict[str, FileCheck] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            marks = ",".join("?" * len(part))
            try:
                rows = self.db.all(
                    "SELECT uri, status, digest, checked_at, detail, version FROM file_checks "
                    f"WHERE uri IN ({marks})",
                    part,
                )
            except sqlite3.OperationalError as e:
                if _missing_table(e):
                    return {}  # never verified (or a cache older than the table)
                raise
            for uri, status, digest, at, detail, version in rows:
                out[str(uri)] = FileCheck(
                    str(uri), str(status), str(digest), int(at), str(detail), str(version or "")
                )
        return out

    def of_event(self, rowid: int) -> list[EventFile]:
        """Every origin of the event, each with verify's check of it (if any)."""
        rows = self.db.all(_ORIGINS, (rowid, rowid))
        uris = [file_uri(str(u)) if k in FILE_KINDS else str(u) for u, k, *_ in rows]
        checks = self.checks(
            [u for u, (_, k, *_) in zip(uris, rows, strict=True) if k in FILE_KINDS]
        )
        out: list[EventFile] = []
        seen: set[str] = set()
        for uri, (_, kind, size, mtime_ns, etag) in zip(uris, rows, strict=True):
            if uri in seen:
                continue
            seen.add(uri)
            version = file_version(size, mtime_ns, etag)
            out.append(EventFile(uri, str(kind), checks.get(uri), version))
        return out
