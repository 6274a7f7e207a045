"""The Source protocol: what every place events come from (LookupEvents, trail log files in S3,
local folders, CloudWatch Logs, Athena, the demo) offers the explorer and the commands.

A source reads into the store, lazily: ``read`` fetches more of a filter's window (newest
first) until ``enough()`` says the list has rows to show, ``cancelled()`` says the filter
changed, or the window is read; called again with the same filter it goes on where it stopped.
Everything else is asked of the store, which every source lands in. The UI's one lazy-reader
controller and the headless commands drive any source the same way, never a concrete class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..filter.language import Filter
    from ..store.store import Store


class SourceError(RuntimeError):
    """One clear line (the status bar, stderr): what went wrong and what to do."""


def never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Follow:
    """How a source is followed (the explorer's follow mode, ``trailtui watch``): ``refresh()``
    then a read of the window ending now, every ``every`` seconds, looking back ``lag`` before
    the previous poll (events arrive that late after their eventTime, and the store drops
    what it holds already); ``how`` says it in the status bar."""

    every: float
    lag: timedelta
    how: str


@runtime_checkable
class Source(Protocol):
    label: str  # what the status bar and messages call it
    refreshable: bool  # what it reads can change (r means something)
    default_window: str  # the explorer's first window: "24h" where the source can hold years
    verifiable: bool  # its log files carry CloudTrail's integrity digests (V)
    follow: Follow | None  # how new events are followed; None: nothing new ever arrives

    def scope(self, store: Store) -> list[int] | None:
        """The origin ids every event this source reads carries (one per folder, trail
        location or account-region, however many files): queries filter on them. None: the
        whole cache (the demo)."""
        ...

    def pushdown(self, f: Filter) -> str:
        """In words, what of the filter the source's backend applies (the rest is matched
        locally over what it returns); '' when it reads the whole window."""
        ...

    def read(
        self,
        store: Store,
        f: Filter,
        progress: Callable[[], None] = lambda: None,
        cancelled: Callable[[], bool] = never,
        enough: Callable[[], bool] = never,
    ) -> None:
        """Read more of the filter's window into the store (raises SourceError)."""
        ...

    def done(self, f: Filter) -> bool:
        """Everything of the filter's window is in the store."""
        ...

    def refresh(self) -> None:
        """The next read looks again for what is new since the last one (r)."""
        ...

    def status(self) -> str:
        """Progress and coverage in one line: done, rate, time left, what was skipped."""
        ...

    def skipped(self) -> list[tuple[str, str]]:
        """(where, why) of every file, object or page that could not be read."""
        ...


@runtime_checkable
class LogFiles(Protocol):
    """A source made of CloudTrail log files (a bucket, a synced folder): their names carry the
    account, region and delivery time, which is how delivery gaps are found."""

    def log_files(self, start: datetime | None, end: datetime) -> list[str]:
        """The names (keys, paths) of the log files delivered in the window."""
        ...

    def listed(self) -> list[str]:
        """The names listed so far by reading (no I/O: the explorer asks at every repaint)."""
        ...


@runtime_checkable
class Billed(Protocol):
    """A source whose reads are billed by what its backend scans (Athena): it says when a
    filter would scan enough to ask first. Sources without it never ask."""

    def needs_confirmation(self, f: Filter) -> str | None:
        """What reading the filter would scan, in one line, when that is worth asking about
        before it runs (a filter with no time window); None to read away. Never raises."""
        ...

    def confirm(self, f: Filter) -> None:
        """The user said yes: reading this filter no longer asks."""
        ...


def needs_confirmation(src: Source, f: Filter) -> str | None:
    """The question a source asks before reading the filter (None for most sources)."""
    return src.needs_confirmation(f) if isinstance(src, Billed) else None


def confirm(src: Source, f: Filter) -> None:
    if isinstance(src, Billed):
        src.confirm(f)


def poll_filter(f: Filter, since: datetime) -> Filter:
    """The filter a follow poll reads: the same terms, from ``since`` (or the filter's own
    start, when later) to now."""
    return f.with_window(max(f.since, since) if f.since else since, None)


@runtime_checkable
class Tails(Protocol):
    """A source that serves follow polls itself, from a stream its backend pushes new events
    down (CloudWatch Logs live tail), reading the window (``read_since``) only where the stream
    can't vouch for everything since the previous poll."""

    def tail(
        self, store: Store, f: Filter, since: datetime, cancelled: Callable[[], bool] = never
    ) -> bool:
        """One follow poll, as ``poll``."""
        ...


def poll(
    store: Store,
    src: Source,
    f: Filter,
    since: datetime,
    cancelled: Callable[[], bool] = never,
    max_reads: int = 50,
) -> bool:
    """One follow poll of a source (the explorer's follow mode, ``trailtui watch``): what is new
    since ``since`` into the store, by the source's own stream where it has one (``Tails``),
    else by ``read_since``. False when cancelled or left unfinished; raises SourceError."""
    if isinstance(src, Tails):
        return src.tail(store, f, since, cancelled)
    return read_since(store, src, f, since, cancelled, max_reads)


def read_since(
    store: Store,
    src: Source,
    f: Filter,
    since: datetime,
    cancelled: Callable[[], bool] = never,
    max_reads: int = 50,
) -> bool:
    """Refresh, then read the filter's window from ``since`` to now into the store, whole (the
    store drops what it holds). False when cancelled or left unfinished after ``max_reads``
    reads; raises SourceError."""
    src.refresh()
    pf = poll_filter(f, since)
    for _ in range(max_reads):
        if cancelled():
            return False
        if src.done(pf):
            return True
        src.read(store, pf, lambda: None, cancelled, never)
    return src.done(pf)


def window_of(f: Filter, now: datetime | None = None) -> tuple[datetime | None, datetime]:
    """The time window a filter asks for (no end = now)."""
    return f.since, f.until or now or datetime.now(UTC)


def scope_of(store: Store, sources: list[Source]) -> list[int] | None:
    """The union of the sources' scopes (None, the whole cache, when any says so)."""
    out: list[int] = []
    for src in sources:
        s = src.scope(store)
        if s is None:
            return None
        out += s
    return sorted(set(out))


def read_all(
    store: Store,
    sources: list[Source],
    f: Filter,
    progress: Callable[[Source], None] = lambda s: None,
    cancelled: Callable[[], bool] = never,
    enough: Callable[[], bool] = never,
) -> list[str]:
    """Headless: read every source's window (or until enough); the error lines."""
    errors: list[str] = []
    for src in sources:
        while not src.done(f) and not cancelled() and not enough():
            try:
                src.read(store, f, lambda s=src: progress(s), cancelled, enough)  # type: ignore[misc]
            except SourceError as e:
                errors.append(str(e))
                break
            except Exception as e:  # a backend's own error: one line, the rest goes on
                errors.append(f"{src.label}: {type(e).__name__}: {e}")
                break
    return errors
