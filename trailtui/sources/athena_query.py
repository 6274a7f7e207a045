"""Running Athena queries: start, wait (polling, a cancel stops the query), page through the
results; what each query scanned and cost; the settings ``athena setup`` remembers per table
(workgroup, result location, region, the trail's location), in ``athena.toml`` in the config
folder; one-line errors.

boto3 is imported lazily; the endpoints are boto3's (AWS_ENDPOINT_URL_ATHENA, ..._S3).
"""

from __future__ import annotations

import contextlib
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import locations
from .base import SourceError, never

PRICE_PER_TB = 5.0  # Athena's price per TB scanned (US regions); a table may set its own
MIN_BYTES = 10 * 1024 * 1024  # Athena bills at least 10 MB a query
PAGE = 1000  # GetQueryResults' maximum


def settings_file() -> Path:
    return locations.config_dir() / "athena.toml"


@dataclass(slots=True)
class TableSettings:
    """What ``trailtui athena setup`` remembers of a table, so ``--athena D.T`` suffices."""

    workgroup: str = "primary"
    output: str = ""  # s3:// result location ('' = the workgroup's)
    region: str = ""
    profile: str = ""
    location: str = ""  # s3://BUCKET[/prefix] of the trail
    price_per_tb: float = PRICE_PER_TB


def load_settings(table: str, path: Path | None = None) -> TableSettings | None:
    try:
        data = tomllib.loads((path or settings_file()).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    entry = data.get("tables", {}).get(table.lower())
    if not isinstance(entry, dict):
        return None
    known = set(TableSettings.__dataclass_fields__)
    try:
        return TableSettings(**{k: v for k, v in entry.items() if k in known})
    except TypeError:
        return None


def save_settings(table: str, s: TableSettings, path: Path | None = None) -> Path:
    import tomli_w

    path = path or settings_file()
    locations.ensure_private_dir(path.parent)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    data.setdefault("tables", {})[table.lower()] = asdict(s)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def make_client(service: str, profile: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    cfg = Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="trailtui",
    )
    return session.client(
        service, region_name=region or session.region_name or "us-east-1", config=cfg
    )


def size_text(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def cost(scanned: int, price_per_tb: float = PRICE_PER_TB) -> float:
    """What Athena bills for a query that scanned this many bytes (10 MB at least)."""
    return max(scanned, MIN_BYTES) / 1e12 * price_per_tb if scanned >= 0 else 0.0


def friendly(exc: BaseException, table: str, workgroup: str) -> str:
    """One line: what went wrong and what to do."""
    resp = getattr(exc, "response", None)
    err = resp.get("Error", {}) if isinstance(resp, dict) else {}
    code, msg = str(err.get("Code", "")), str(err.get("Message", ""))
    name = type(exc).__name__
    if "No output location" in msg:
        return (
            f"Athena workgroup {workgroup!r} has no query result location: run "
            f"`trailtui athena setup s3://TRAIL --output s3://RESULTS/` (or set one on the workgroup)"
        )
    if "WorkGroup" in msg and "not found" in msg:
        return (
            f"no Athena workgroup {workgroup!r}: pass --workgroup (or run `trailtui athena setup`)"
        )
    if code in ("AccessDenied", "AccessDeniedException"):
        return f"not allowed to query Athena ({workgroup}, {table}): {msg}"[:300]
    if code == "MetadataException" or "EntityNotFound" in code:
        return f"no Athena table {table}: run `trailtui athena setup s3://BUCKET` first"
    if name == "NoCredentialsError":
        return "no AWS credentials found: set AWS_PROFILE or --profile, or run `aws configure`"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        return "can't reach Athena: network down or unknown region?"
    if code:
        return f"Athena {code}: {msg}"[:300]
    return f"Athena: {name}: {exc}"[:300]


def failed_reason(reason: str, table: str) -> str:
    if "TABLE_NOT_FOUND" in reason or "does not exist" in reason:
        return f"no Athena table {table}: run `trailtui athena setup s3://BUCKET` first"
    return f"Athena query failed: {reason}"[:300]


@dataclass(slots=True)
class QueryResult:
    id: str
    state: str  # SUCCEEDED, FAILED, CANCELLED
    scanned: int = 0
    millis: int = 0
    reason: str = ""
    rows: list[list[str | None]] = field(default_factory=list)


class Runner:
    """Runs one query at a time in a workgroup (its result location, or the remembered one)."""

    def __init__(self, client: Any, table: str, workgroup: str, output: str = "") -> None:
        self.client = client
        self.table = table
        self.workgroup = workgroup
        self.output = output
        self.running: str | None = None

    def start(self, sql: str, database: str | None = None) -> str:
        kw: dict[str, Any] = {"QueryString": sql, "WorkGroup": self.workgroup}
        if self.output:
            kw["ResultConfiguration"] = {"OutputLocation": self.output}
        if database:
            kw["QueryExecutionContext"] = {"Database": database}
        try:
            qid = str(self.client.start_query_execution(**kw)["QueryExecutionId"])
        except Exception as e:
            raise SourceError(friendly(e, self.table, self.workgroup)) from e
        self.running = qid
        return qid

    def wait(self, qid: str, cancelled: Callable[[], bool] = never) -> QueryResult:
        """Poll until the query ends; a cancel stops it (StopQueryExecution)."""
        pause = 0.05
        while True:
            try:
                q = self.client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
            except Exception as e:
                raise SourceError(friendly(e, self.table, self.workgroup)) from e
            st = q.get("Status", {})
            state = str(st.get("State", ""))
            stats = q.get("Statistics", {})
            res = QueryResult(
                qid,
                state,
                int(stats.get("DataScannedInBytes") or 0),
                int(stats.get("TotalExecutionTimeInMillis") or 0),
                str(st.get("StateChangeReason", "")),
            )
            if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                self.running = None
                return res
            if cancelled():
                self.stop(qid)
                res.state = "CANCELLED"
                return res
            time.sleep(pause)
            pause = min(pause * 1.5, 1.0)

    def stop(self, qid: str) -> None:
        # it may have ended meanwhile, or we may not stop it: nothing more to do then
        with contextlib.suppress(Exception):
            self.client.stop_query_execution(QueryExecutionId=qid)
        self.running = None

    def rows(self, qid: str, cancelled: Callable[[], bool] = never) -> list[list[str | None]]:
        """Every result row (the header row Athena puts first is dropped)."""
        out: list[list[str | None]] = []
        token: str | None = None
        first = True
        while not cancelled():
            kw: dict[str, Any] = {"QueryExecutionId": qid, "MaxResults": PAGE}
            if token:
                kw["NextToken"] = token
            try:
                resp = self.client.get_query_results(**kw)
            except Exception as e:
                raise SourceError(friendly(e, self.table, self.workgroup)) from e
            rows = resp.get("ResultSet", {}).get("Rows", [])
            if first and rows:
                rows = rows[1:]  # the column names
            first = False
            out += [[d.get("VarCharValue") for d in r.get("Data", [])] for r in rows]
            token = resp.get("NextToken")
            if not token:
                break
        return out

    def run(self, sql: str, cancelled: Callable[[], bool] = never) -> QueryResult:
        """Start, wait and fetch; raises SourceError when it fails."""
        res = self.wait(self.start(sql), cancelled)
        if res.state == "FAILED":
            raise SourceError(failed_reason(res.reason, self.table))
        if res.state == "SUCCEEDED":
            res.rows = self.rows(res.id, cancelled)
        return res
