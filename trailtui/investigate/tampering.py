"""Tampering: the calls that stop, narrow or blind the logging a responder relies on.

records/tampering.py's ``TAMPERING`` is the one table of them (a test per entry). ``find``
reads the ones in a window from the cache (which keeps what each acted on as it ingests it),
pairs each stop with the call that undid it (StopLogging with the next StartLogging of the
same trail and region), and says each in one line ("logging stopped in eu-west-1 at 02:10 by
mallory, restarted 04:40"). Changes to the trail's own bucket (its policy, its lifecycle,
deletes of its objects) count too when the bucket is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..filter.language import Filter, Term, Value
from ..records.event import loads, parse_record
from ..records.tampering import BUCKET_TAMPERING, TAMPERING, UNDOERS, Tamper, target_of
from ..store.queries import Call

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..store.store import Store


BY_NAME = {t.name: t for t in TAMPERING}
ORDER = {t.name: i for i, t in enumerate(TAMPERING)}  # the table goes most telling first


def tampering_filter() -> str:
    """The built-in `tampering` bookmark: every call of the table, never a read-only one."""
    return "name:" + ",".join(t.name for t in TAMPERING) + " -readonly:true"


@dataclass(slots=True)
class Finding:
    """One tampering call, with the call that undid it when there is one."""

    event_id: str
    time: datetime
    name: str
    what: str
    region: str
    who: str
    target: str  # the trail, key, detector, bucket... it acted on ('' when unknown)
    undone_at: datetime | None = None
    undone_by: str = ""
    single_region: bool = False  # UpdateTrail made the trail log its home region only

    def line(self) -> str:
        when = f"{self.time:%Y-%m-%d %H:%M}"
        where = f" in {self.region}" if self.region else ""
        text = f"{self.what}{where} at {when} by {self.who or 'unknown'}"
        if self.target:
            text += f" ({self.target})"
        if self.undone_at is not None:
            verb = {"StartLogging": "restarted", "CreateTrail": "recreated"}.get(
                self.undone_by, "undone"
            )
            text += f", {verb} {self.undone_at:%Y-%m-%d %H:%M}"
        elif BY_NAME.get(self.name, Tamper("", "", "")).undo:
            text += ", not undone in the window"
        return text


def _bucket_filter(bucket: str) -> Filter:
    names = tuple(Value("exact", n) for n in BUCKET_TAMPERING)
    return Filter(
        terms=(
            Term("name", names),
            Term("resource", (Value("glob", f"arn:aws:s3:::{bucket}*"), Value("exact", bucket))),
        )
    )


def _from_records(store: Store, f: Filter, scope: Sequence[int] | None, limit: int) -> list[Call]:
    """The calls read from their records (a trail bucket's calls, or a read-only cache that
    keeps another table of tampering calls)."""
    out = []
    for _, text in store.iter_raw(f, scope, limit):
        try:
            ev = parse_record(loads(text))
        except ValueError:
            continue
        out.append(
            Call(ev.event_id, ev.time, ev.name, ev.region, ev.principal.display,
                  ev.error_code, target_of(ev.raw))
        )  # fmt: skip
    return out


def find(
    store: Store,
    f: Filter,
    scope: Sequence[int] | None = None,
    buckets: Sequence[str] = (),
    limit: int = 200,
) -> list[Finding]:
    """The tampering calls in the filter's window (the window only: the rest of the filter is
    what the user is looking at, not what could hide it), oldest first, each paired with the
    call that undid it. The cache says them (store/schema.py's tampering table); a trail
    bucket's calls are read from their records."""
    names = {t.name for t in TAMPERING} | set(UNDOERS)
    wanted = Filter(
        terms=(
            Term("name", tuple(Value("exact", n) for n in sorted(names))),
            Term("readonly", (Value("bool", "true"),), negated=True),
        ),
        since=f.since,
        until=f.until,
    )
    calls = store.tampering_calls(wanted, scope, limit * 2)
    if calls is None:
        calls = _from_records(store, wanted, scope, limit * 2)
    for b in buckets:
        calls += _from_records(store, _bucket_filter(b).with_window(f.since, f.until), scope, limit)
    calls.sort(key=lambda e: e.time)
    out: list[Finding] = []
    open_: dict[tuple[str, str, str], Finding] = {}
    for ev in calls:
        target = ev.target
        if ev.name in UNDOERS and ev.name not in BY_NAME:
            if ev.error:
                continue
            stopped = UNDOERS[ev.name]
            key = (stopped.name, ev.region, target)
            fnd = open_.pop(key, None) or open_.pop((stopped.name, ev.region, ""), None)
            if fnd is not None:
                fnd.undone_at, fnd.undone_by = ev.time, ev.name
            continue
        if ev.error:
            continue  # a refused call changed nothing (it is still in the list, in red)
        what = BY_NAME[ev.name].what if ev.name in BY_NAME else BUCKET_TAMPERING[ev.name]
        fnd = Finding(ev.event_id, ev.time, ev.name, what, ev.region, ev.who, target)
        out.append(fnd)
        if ev.name in BY_NAME and BY_NAME[ev.name].undo:
            open_[(ev.name, ev.region, target)] = fnd
    return out[-limit:]


def summary(findings: Sequence[Finding]) -> str:
    """One line for the status bar and stderr: the first stop, and how many more."""
    if not findings:
        return ""
    first = min(findings, key=lambda x: (ORDER.get(x.name, len(ORDER)), x.time))
    more = len(findings) - 1
    return first.line() + (f"; {more} more tampering call{'s' if more > 1 else ''}" if more else "")
