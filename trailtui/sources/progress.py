"""Progress of a lazy read: objects (or files) and bytes done, the rate, the time left."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class ReadStats:
    """What a lazy read (S3 objects, a folder's files) has done, and how fast."""

    lists: int = 0
    gets: int = 0
    objects: int = 0
    skipped: int = 0  # already ingested (same key + ETag, or path + size + mtime)
    bytes: int = 0
    skipped_bytes: int = 0
    events: int = 0
    added: int = 0
    listed: int = 0  # objects (files) known so far: S3 lists day by day
    listed_bytes: int = 0
    days_listed: int = 0
    days_total: int = 0  # days in the window (S3)
    busy: float = 0.0  # seconds spent reading (not paused)
    done: bool = False  # everything of the window is read
    rejected: list[tuple[str, str]] = field(default_factory=list)
    noun: str = "objects"

    def progress_line(self) -> str:
        """objects and bytes done, rate and time left (days not listed yet are estimated from
        the ones that are)."""
        rate = self.bytes / self.busy if self.busy > 0 else 0.0
        left = self.listed_bytes - self.bytes - self.skipped_bytes
        unlisted = self.days_total - self.days_listed
        if self.days_listed and unlisted > 0:
            left += unlisted * self.listed_bytes // self.days_listed
        parts = [
            f"{self.objects + self.skipped:,}/{self.listed:,} {self.noun}",
            _size(self.bytes),
            f"{_size(rate)}/s",
        ]
        if self.done:
            parts.append("window read")
        elif rate > 0 and left > 0:
            parts.append(f"~{_duration(left / rate)} left")
        if unlisted > 0 and not self.done:
            parts[0] += f" (+{unlisted} day{'s' if unlisted > 1 else ''} to list)"
        if self.rejected:
            parts.append(f"{len(self.rejected)} skipped")
        return " · ".join(parts)


def _size(n: float) -> str:
    if n < 1e6:
        return f"{n / 1e3:,.0f} kB"
    return f"{n / 1e6:,.1f} MB"


def _duration(secs: float) -> str:
    if secs < 1:
        return "<1 s"
    if secs < 90:
        return f"{secs:.0f} s"
    if secs < 5400:
        return f"{secs / 60:.0f} min"
    return f"{secs / 3600:.1f} h"
