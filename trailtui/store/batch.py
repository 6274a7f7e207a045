"""What one source file (or one page of events) becomes before it is written: a compact,
picklable batch that a parse process hands to the writer.

Each distinct value (an event kind, a principal, a region...) is in the batch's own small
table once, and an event is a row of small integers pointing into it; the writer maps those to
the cache's dictionary ids. The records (secrets already redacted by the parser) are dumped as
compact JSON, one a line, and compressed a chunk at a time: event ``idx`` of chunk ``k`` is line
``idx`` of that chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..records.event import Event, Principal, raw_bytes
from ..records.tampering import CALLS, target_in
from .codec import compress_chunk, eid_key
from .schema import DICTS

TABLES = tuple(DICTS)  # a batch's values are (table number, *columns)
T = {name: i for i, name in enumerate(TABLES)}
T_KIND, T_PRINCIPAL, T_ERROR = T["kinds"], T["principals"], T["errors"]
T_REGION, T_ACCOUNT, T_KEY, T_IP = T["regions"], T["accounts"], T["access_keys"], T["ips"]
T_AGENT, T_RNAME, T_RTYPE = T["agents"], T["rnames"], T["rtypes"]

CHUNK_LINES = 1000  # a chunk holds at most this many records...
CHUNK_BYTES = 1024**2  # ...and about this many bytes (one record's raw JSON costs a chunk read)


@dataclass(slots=True)
class IngestStats:
    added: int = 0
    duplicates: int = 0


@dataclass(slots=True, frozen=True)
class FileRecord:
    """What was read of one file or object: the store skips it next time if unchanged, and
    remembers what it could not read of it (``rejects``: where, why)."""

    uri: str
    size: int | None
    mtime_ns: int | None
    etag: str | None
    events: int
    rejects: Sequence[tuple[str, str]]
    error: str
    shape: str = ""  # what the parser found: records, lookup, jsonl, array, digest, empty...

    @property
    def lost(self) -> int:
        """Records that could not be read (the file-wide error, if any, is not one)."""
        return sum(1 for _, why in self.rejects if not (self.error and why == self.error))


@dataclass(slots=True)
class FileBatch:
    origin: str
    kind: str
    file: FileRecord | None
    values: list[tuple[Any, ...]] = field(default_factory=list)
    # (eid key, eid text, ts, chunk no, idx, kind, region, account, principal, access_key, ip,
    #  agent, error): the last eight are numbers in `values`
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    resources: list[tuple[int, int, int, int]] = field(default_factory=list)  # row, pos, name, type
    issued: list[tuple[int, int]] = field(default_factory=list)  # row, key
    targets: list[tuple[int, str]] = field(default_factory=list)  # row, what a CALLS call acted on
    chunks: list[tuple[bytes, int, int, int]] = field(default_factory=list)  # blob, n, t_min, t_max
    duplicates: int = 0  # the same eventID again in this batch (left out)


class BatchBuilder:
    """Events (or already-normalized rows) -> a FileBatch."""

    def __init__(self, origin: str, kind: str, file: FileRecord | None = None) -> None:
        self.batch = FileBatch(origin, kind, file)
        self._maps: list[dict[Any, int]] = [{} for _ in TABLES]
        self._seen: set[bytes | str] = set()
        self._lines: list[bytes] = []
        self._bytes = 0
        self._t: list[int] = []
        self._principals: dict[int, tuple[int, int, Principal]] = {}

    def value(self, v: tuple[Any, ...]) -> int:
        """The batch's number for a value (table number, *columns)."""
        key = v[1] if len(v) == 2 else v[1:]
        if v[0] == T_KIND:
            key = (*v[1:5], None if v[5] is None else bool(v[5]))
        i = self._maps[v[0]].get(key)
        return self._new(v[0], key) if i is None else i

    def add_event(self, ev: Event) -> None:
        p = ev.principal
        L = self.value
        self.add(
            ev.event_id,
            ev.ts_ms,
            raw_bytes(ev.raw),
            (
                L((T_KIND, ev.name, ev.source, ev.event_type, ev.category,
                   None if ev.read_only is None else int(ev.read_only))),
                L((T_REGION, ev.region)),
                L((T_ACCOUNT, ev.account)),
                L((T_PRINCIPAL, p.display, p.type, p.arn, p.user_name, p.session_name,
                   p.lookup_username, p.invoked_by, p.source_identity)),
                L((T_KEY, p.access_key)),
                L((T_IP, ev.source_ip)),
                L((T_AGENT, ev.user_agent)),
                L((T_ERROR, ev.error_code)),
            ),
            ev.resources,
            ev.issued_key,
            ev.name,
        )  # fmt: skip

    def _new(self, tno: int, key: Any) -> int:
        """A value not seen in this batch yet (key: the column, or the columns' tuple)."""
        i = self._maps[tno][key] = len(self.batch.values)
        if tno == T_KIND:
            name, source, etype, category, ro = key
            self.batch.values.append(
                (T_KIND, name, source, etype, category, None if ro is None else int(ro))
            )
        else:
            self.batch.values.append((tno, *key) if isinstance(key, tuple) else (tno, key))
        return i

    def add_fields(self, f: tuple[Any, ...], line: bytes) -> None:
        """A record as RecordReader.fields gives it, and its raw JSON (the hot path: each
        table's values are looked up by their own text, no tuple built)."""
        (event_id, ts, name, source, etype, category, ro, region, account, p, ip, agent,
         error, resources, issued_key) = f  # fmt: skip
        key, text = eid_key(event_id)
        if key in self._seen:
            self.batch.duplicates += 1
            return
        self._seen.add(key)
        m = self._maps
        new = self._new
        kind_key = (name, source, etype, category, ro)
        kind = m[T_KIND].get(kind_key)
        if kind is None:
            kind = new(T_KIND, kind_key)
        reg = m[T_REGION].get(region)
        if reg is None:
            reg = new(T_REGION, region)
        acct = m[T_ACCOUNT].get(account)
        if acct is None:
            acct = new(T_ACCOUNT, account)
        got = self._principals.get(id(p))
        if got is None:
            pk = (p.display, p.type, p.arn, p.user_name, p.session_name, p.lookup_username,
                  p.invoked_by, p.source_identity)  # fmt: skip
            pid = m[T_PRINCIPAL].get(pk)
            if pid is None:
                pid = new(T_PRINCIPAL, pk)
            kid = m[T_KEY].get(p.access_key)
            if kid is None:
                kid = new(T_KEY, p.access_key)
            got = self._principals[id(p)] = (pid, kid, p)
        ipi = m[T_IP].get(ip)
        if ipi is None:
            ipi = new(T_IP, ip)
        ag = m[T_AGENT].get(agent)
        if ag is None:
            ag = new(T_AGENT, agent)
        er = m[T_ERROR].get(error)
        if er is None:
            er = new(T_ERROR, error)
        b = self.batch
        row = len(b.rows)
        b.rows.append(
            (key, text, ts, len(b.chunks), len(self._lines), kind, reg, acct, got[0], got[1],
             ipi, ag, er)
        )  # fmt: skip
        self._lines.append(line)
        self._t.append(ts)
        self._bytes += len(line)
        if name in CALLS:  # a tampering call: what it acted on (rare: parsed again)
            self.batch.targets.append((row, target_in(line)))
        if resources:
            names, types = m[T_RNAME], m[T_RTYPE]
            for pos, (typ, rname) in enumerate(resources):
                n = names.get(rname)
                if n is None:
                    n = new(T_RNAME, rname)
                t = types.get(typ)
                if t is None:
                    t = new(T_RTYPE, typ)
                b.resources.append((row, pos, n, t))
        if issued_key:
            kid = m[T_KEY].get(issued_key)
            if kid is None:
                kid = new(T_KEY, issued_key)
            b.issued.append((row, kid))
        if len(self._lines) >= CHUNK_LINES or self._bytes >= CHUNK_BYTES:
            self._flush()

    def add(
        self,
        event_id: str,
        ts: int,
        line: bytes,
        ids: tuple[int, ...],
        resources: Sequence[tuple[str, str]],
        issued_key: str,
        name: str,
    ) -> None:
        key, text = eid_key(event_id)
        if key in self._seen:
            self.batch.duplicates += 1
            return
        self._seen.add(key)
        b = self.batch
        row = len(b.rows)
        b.rows.append((key, text, ts, len(b.chunks), len(self._lines), *ids))
        self._lines.append(line)
        self._t.append(ts)
        self._bytes += len(line)
        if name in CALLS:
            self.batch.targets.append((row, target_in(line)))
        for pos, (typ, rname) in enumerate(resources):
            b.resources.append((row, pos, self.value((T_RNAME, rname)), self.value((T_RTYPE, typ))))
        if issued_key:
            b.issued.append((row, self.value((T_KEY, issued_key))))
        if len(self._lines) >= CHUNK_LINES or self._bytes >= CHUNK_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self.batch.chunks.append(
                (compress_chunk(self._lines), len(self._lines), min(self._t), max(self._t))
            )
            self._lines, self._t, self._bytes = [], [], 0

    def finish(self) -> FileBatch:
        self._flush()
        return self.batch


def batch_of(
    events: Iterable[Event], origin: str, kind: str = "file", file: FileRecord | None = None
) -> FileBatch:
    b = BatchBuilder(origin, kind, file)
    for ev in events:
        b.add_event(ev)
    return b.finish()
