"""Athena over a trail's bucket, as a Source: the filter runs as Trino SQL (filter/athena.py)
where the trail is, and the log files holding its events are read into the cache through
the S3 source, so what is shown, exported, pinned and followed by ``who``/``history`` is the
exact original record, and reopening is served from the cache.

Why files, not rows: the CloudTrail table's columns are not the record (Hive's SerDe gives
nested objects as re-serialised text and drops fields the table doesn't declare), and the
cache, the detail view, exports and the integrity checks work on the original JSON. A
query selects ``"$path"`` (and its size, so a file read before is not fetched again) of
the files with matching events: a few rows, whatever the events, and the files are small.

Newest first, in slices of day partitions: a query reads the newest day partitions of the
window (``"day"`` is the delivery day, so every event is in exactly one), the next query
older ones while the list wants rows; a slice that finds few files makes the next one 4x
wider. Every event of a day partition is later than the day before it, so once partitions
down to day D are read, the window from D on is complete: that is recorded as coverage in
the store (per pushed SQL), and a second visit asks only for the gaps. Each query's bytes
scanned and cost are counted; a new filter stops the running query (StopQueryExecution).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..filter.athena import AthenaPlan, compile_filter
from ..filter.athena_query import last_day, query_sql, quote_table
from .athena_query import (
    Runner,
    TableSettings,
    cost,
    friendly,
    load_settings,
    make_client,
    size_text,
)
from .base import Follow, SourceError, never
from .logs import gaps
from .s3 import S3Location, S3Trail

if TYPE_CHECKING:
    from ..filter.language import Filter
    from ..store.store import Store

FIRST_SLICE_DAYS = 1
MAX_SLICE_DAYS = 64
SPARSE = 20  # a slice with fewer files than this makes the next one 4x wider
CHUNK = 8  # files read between two looks at whether the list has enough
SETTLE = timedelta(hours=1)  # the newest hour is never recorded complete: files still arrive


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _n_files(n: int) -> str:
    return f"{n:,} log file{'' if n == 1 else 's'}"


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


@dataclass(slots=True)
class Stats:
    queries: int = 0
    scanned: int = 0
    millis: int = 0
    files: int = 0  # listed by the queries
    events: int = 0  # matching events Athena counted
    cost: float = 0.0  # dollars, each query billed for 10 MB at least
    last: str = ""  # what the newest query did, one line
    from_cache: bool = False


class AthenaSource:
    refreshable = True
    verifiable = False  # its files are read through S3: V on an s3:// source checks them
    default_window = "24h"
    # not followed: every poll would be a query billed for 10 MB at least (follow the trail's
    # bucket with --from s3://..., or its CloudWatch Logs group, instead)
    follow: Follow | None = None

    def __init__(
        self,
        table: str,
        workgroup: str | None = None,
        profile: str | None = None,
        region: str | None = None,
        allow_full_scan: bool = False,
        settings: TableSettings | None = None,
    ) -> None:
        self.table = table.lower()
        self.sql_table = quote_table(table)  # ValueError for a bad name
        s = settings or load_settings(self.table) or TableSettings()
        self.settings = s
        self.workgroup = workgroup or s.workgroup or "primary"
        self.profile = profile or s.profile or None
        self.region = region or s.region or None
        self.allow_full_scan = allow_full_scan  # --yes: a filter with no window runs unasked
        self._confirmed: Filter | None = None  # the filter with no window the user said yes to
        self.label = f"athena:{self.table}"
        self.key = f"athena:{self.table}"
        self._athena: Any = None
        self._trails: dict[str, S3Trail] = {}
        self._location: S3Location | None = (
            S3Location.parse(s.location) if s.location.startswith("s3://") else None
        )
        self._oldest: date | None = None
        self._accounts: list[str] = []  # the table's projected partitions ([] = not said)
        self._regions: list[str] = []
        # bytes and days the queries scanned, per partition predicate: what a day costs
        self._per_day: dict[str, tuple[int, int]] = {}
        self.plan: AthenaPlan | None = None
        self._filter: Filter | None = None
        self.todo: list[tuple[int, int]] = []
        self._cursor: date | None = None  # the next (older) day partition of todo[0]
        self._pending: list[tuple[str, int | None]] = []  # the slice's files still to read
        self._slice_done: tuple[date, int] | None = None  # its first day, how many files
        self.span = FIRST_SLICE_DAYS
        self.stats = Stats()
        self.runner: Runner | None = None
        self.errors: list[tuple[str, str]] = []
        # told one line per query (headless commands write it to stderr)
        self.on_query: Callable[[str], None] | None = None

    # ------------------------------------------------------------------ clients, the table

    def _client(self) -> Runner:
        if self.runner is None:
            try:
                self._athena = make_client("athena", self.profile, self.region)
            except Exception as e:
                raise SourceError(friendly(e, self.table, self.workgroup)) from e
            self.runner = Runner(self._athena, self.table, self.workgroup, self.settings.output)
        return self.runner

    def _describe(self) -> None:
        """The trail's location and the oldest projected day, from the table itself."""
        if self._location is not None and self._oldest is not None:
            return
        runner = self._client()
        db, name = self.table.split(".")
        try:
            meta = self._athena.get_table_metadata(
                CatalogName="AwsDataCatalog", DatabaseName=db, TableName=name
            )["TableMetadata"]
        except Exception as e:
            raise SourceError(friendly(e, self.table, runner.workgroup)) from e
        params = meta.get("Parameters", {})
        if self._location is None:
            loc = str(params.get("location", ""))
            base = loc.split("/AWSLogs")[0] if "/AWSLogs" in loc else loc
            if not base.startswith("s3://"):
                raise SourceError(f"Athena table {self.table} has no s3:// location")
            self._location = S3Location.parse(base)
        for name, out in (("account", self._accounts), ("region", self._regions)):
            values = str(params.get(f"projection.{name}.values", ""))
            out[:] = [v.strip().lower() for v in values.split(",") if v.strip()]
        lo = str(params.get("projection.day.range", "")).split(",")[0]
        try:
            self._oldest = datetime.strptime(lo.strip(), "%Y/%m/%d").date()
        except ValueError:
            self._oldest = date(2013, 11, 1)  # CloudTrail's first day

    def _trail(self, bucket: str) -> S3Trail:
        if bucket not in self._trails:
            loc = self._location
            prefix = loc.prefix if loc is not None and loc.bucket == bucket else ""
            client = make_client("s3", self.profile, self.region)
            self._trails[bucket] = S3Trail(client, S3Location(bucket, prefix))
        return self._trails[bucket]

    # ------------------------------------------------------------------ the Source protocol

    def scope(self, store: Store) -> list[int]:
        if self._location is None:
            self._describe()
        assert self._location is not None
        return store.root_scope(self._location.uri)

    def pushdown(self, f: Filter) -> str:
        return compile_filter(f).describe()

    # ------------------------------------------------------------------ asking first

    def needs_confirmation(self, f: Filter) -> str | None:
        """A filter with no time window scans every day partition the table projects: say
        how many (and, once queries have run, about how many bytes) before it runs."""
        if f.since is not None or self.allow_full_scan or f == self._confirmed:
            return None
        try:
            self._describe()
        except SourceError:
            return None  # reading says what is wrong
        assert self._oldest is not None
        now = datetime.now(UTC)
        last = last_day(min(f.until, now) if f.until else now)
        days = (last - self._oldest).days + 1
        if days <= 0:
            return None  # the window ends before the trail begins: nothing to scan
        span = f"since {self._oldest:%Y-%m-%d}"
        if f.until is not None:
            span = f"from {self._oldest:%Y-%m-%d} to {last:%Y-%m-%d}"
        sizes = [f"{days:,} day{'s' if days > 1 else ''}"]
        parts = days
        for name, known in (("account", self._accounts), ("region", self._regions)):
            n = self._narrowed(f, name, known)
            if n:
                sizes.append(f"{n:,} {name}{'s' if n > 1 else ''}")
                parts *= n
        text = f"no time window: the query would scan every day of {self.table} {span} ("
        text += " × ".join(sizes) + (f" = {parts:,} partitions)" if len(sizes) > 1 else ")")
        price = self.settings.price_per_tb
        seen = self._per_day.get(compile_filter(f).partitions)
        if seen and seen[1] > 0:
            guess = seen[0] * days // seen[1]
            text += (
                f", about {size_text(guess)} (${cost(guess, price):.4f}) at the "
                f"{size_text(seen[0] / seen[1])} a day the queries so far scanned"
            )
        else:
            text += f", billed at ${price:g} per TB scanned"
        return text

    @staticmethod
    def _narrowed(f: Filter, name: str, known: list[str]) -> int:
        """How many of the table's account (region) partitions the filter's positive
        account: (region:) values leave (0: not known)."""
        left: set[str] | None = set(known) if known else None
        for t in f.terms:
            if t.field == name and not t.negated and all(v.kind == "exact" for v in t.values):
                vals = {v.text.lower() for v in t.values}
                left = vals if left is None else left & vals
        return len(left) if left is not None else 0

    def confirm(self, f: Filter) -> None:
        self._confirmed = f

    # ------------------------------------------------------------------ reading

    def _plan(self, store: Store, f: Filter) -> None:
        if self._filter == f:
            return
        self._describe()
        assert self._oldest is not None
        ask = self.needs_confirmation(f)
        if ask is not None:
            raise SourceError(f"{ask}; add since: (or --yes to run it)")
        self.plan = compile_filter(f)
        now = datetime.now(UTC)
        end = min(f.until, now) if f.until else now
        start = f.since or _day_start(self._oldest)
        covered = [
            (c.start, c.end)
            for c in store.coverage(self.key)
            if c.complete and c.filter_key in (self.plan.key, "")
        ]
        self.todo = gaps(_ms(start), _ms(end), covered) if start <= end else []
        self.stats = Stats(from_cache=not self.todo)
        self._cursor = None
        self._pending = []
        self._slice_done = None
        self.span = FIRST_SLICE_DAYS
        self._filter = f

    def read(
        self,
        store: Store,
        f: Filter,
        progress: Callable[[], None] = lambda: None,
        cancelled: Callable[[], bool] = never,
        enough: Callable[[], bool] = never,
    ) -> None:
        self._plan(store, f)
        while (self.todo or self._pending) and not cancelled():
            if not self._pending:
                self._slice(store, cancelled)
            self._drain(store, progress, cancelled, enough)
            progress()
            if enough():
                break

    def _slice(self, store: Store, cancelled: Callable[[], bool]) -> None:
        """One query: the newest day partitions of the first gap; their files to read."""
        assert self.plan is not None
        lo_ms, hi_ms = self.todo[0]
        lo, hi = _dt(lo_ms), _dt(hi_ms)
        top = self._cursor or last_day(hi)
        first = max(lo.date(), top - timedelta(days=self.span - 1))
        sql = query_sql(self.sql_table, self.plan, first, top, lo, hi)
        res = self._client().run(sql, cancelled)
        st = self.stats
        st.queries += 1
        st.scanned += res.scanned
        st.millis += res.millis
        st.cost += cost(res.scanned, self.settings.price_per_tb)
        days = (top - first).days + 1
        if res.state == "SUCCEEDED":
            b, d = self._per_day.get(self.plan.partitions, (0, 0))
            self._per_day[self.plan.partitions] = (b + res.scanned, d + days)
        st.last = (
            f"{first:%Y-%m-%d}"
            + (f"..{top:%Y-%m-%d}" if days > 1 else "")
            + f": scanned {size_text(res.scanned)} in {res.millis / 1000:.1f} s"
        )
        if self.on_query is not None:
            self.on_query(
                f"{self.table} {st.last} "
                f"(${cost(res.scanned, self.settings.price_per_tb):.4f}), {_n_files(len(res.rows))}"
                + ("" if res.state == "SUCCEEDED" else f" ({res.state.lower()})")
            )
        if res.state != "SUCCEEDED":
            return  # cancelled: the next read asks again
        files = self._files(res.rows)
        st.files += len(files)
        st.events += sum(n for _, _, n in files)
        self._pending = [(uri, size) for uri, size, _ in files]  # newest first
        self._slice_done = (first, len(files))
        if not files:
            self._finish(store)

    def _drain(
        self,
        store: Store,
        progress: Callable[[], None],
        cancelled: Callable[[], bool],
        enough: Callable[[], bool],
    ) -> None:
        """Read the slice's files, newest first, a few at a time, until the list has enough;
        when all are read, the slice's days are complete."""
        while self._pending and not cancelled():
            chunk, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
            by_bucket: dict[str, list[dict[str, Any]]] = {}
            for uri, size in chunk:
                bucket, _, key = uri[5:].partition("/")
                obj: dict[str, Any] = {"Key": key}
                if size is not None:
                    obj["Size"] = size
                by_bucket.setdefault(bucket, []).append(obj)
            for bucket, objs in by_bucket.items():
                trail = self._trail(bucket)
                before = len(trail.stats.rejected)
                trail.ingest_objects(store, objs, lambda _: progress())
                self.errors += [
                    (f"s3://{bucket}/{k}", why) for k, why in trail.stats.rejected[before:]
                ]
            if not self._pending:
                self._finish(store)
                return
            progress()
            if enough():
                return

    def _finish(self, store: Store) -> None:
        """The slice's files are read: every event from its first day partition on is in the
        cache, so the window from there is complete (recorded, but the newest hour)."""
        assert self.plan is not None and self._slice_done is not None
        first, nfiles = self._slice_done
        self._slice_done = None
        lo_ms, hi_ms = self.todo[0]
        done_from = max(lo_ms, _ms(_day_start(first)))
        settled = min(hi_ms, _ms(datetime.now(UTC) - SETTLE))
        if done_from <= settled:
            store.set_coverage(self.key, self.plan.key, done_from, settled, True, None)
        if first <= _dt(lo_ms).date():
            self.todo.pop(0)
            self._cursor = None
        else:
            self._cursor = first - timedelta(days=1)
            self.todo[0] = (lo_ms, min(hi_ms, _ms(_day_start(first)) - 1))
        if nfiles < SPARSE:
            self.span = min(self.span * 4, MAX_SLICE_DAYS)

    @staticmethod
    def _files(rows: list[list[str | None]]) -> list[tuple[str, int | None, int]]:
        out = []
        for r in rows:
            if not r or not r[0] or not str(r[0]).startswith("s3://"):
                continue
            size = int(r[3]) if len(r) > 3 and r[3] and str(r[3]).isdigit() else None
            n = int(r[1]) if len(r) > 1 and r[1] and str(r[1]).isdigit() else 0
            out.append((str(r[0]), size, n))
        return out

    def done(self, f: Filter) -> bool:
        return self._filter == f and not self.todo and not self._pending

    def refresh(self) -> None:
        """The next read plans again: coverage serves what was read, the rest is asked."""
        self._filter = None

    def status(self) -> str:
        st = self.stats
        price = self.settings.price_per_tb
        if st.from_cache and not st.queries:
            text = "window complete (from the cache)"
        else:
            text = (
                f"{st.queries} quer{'y' if st.queries == 1 else 'ies'}, scanned "
                f"{size_text(st.scanned)} (${st.cost:.4f} at ${price:g}/TB) in "
                f"{st.millis / 1000:.1f} s, {_n_files(st.files)}"
            )
            done = not self.todo and not self._pending
            text += " · window complete" if done else f" · last: {st.last}"
        if self.plan is not None:
            if self.plan.pushed:
                text += f" · SQL: {' '.join(self.plan.pushed)}"
            if self.plan.local:
                text += f"; local: {' '.join(self.plan.local)}"
        return "Athena " + text

    def skipped(self) -> list[tuple[str, str]]:
        return list(self.errors)

    def stop(self) -> None:
        """Stop the running query, if any (a new filter, quitting)."""
        if self.runner is not None and self.runner.running:
            self.runner.stop(self.runner.running)
