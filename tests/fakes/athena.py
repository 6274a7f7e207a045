"""A local Athena endpoint (JSON 1.1, ``X-Amz-Target: AmazonAthena.<Operation>``) that really
executes the SQL, for real boto3 clients pointed at it (AWS_ENDPOINT_URL_ATHENA):

* StartQueryExecution (QueryString, QueryExecutionContext, ResultConfiguration.OutputLocation,
  WorkGroup): InvalidRequestException when neither the call nor the workgroup gives an output
  location, as Athena does; AccessDeniedException for an access key listed in ``denied``
* GetQueryExecution: QUEUED -> RUNNING -> SUCCEEDED | FAILED (StateChangeReason, Athena's
  wording: ``TABLE_NOT_FOUND: ...``) | CANCELLED, with Statistics.DataScannedInBytes
* GetQueryResults: the column names as the first row (as Athena does for SELECT), typed
  ColumnInfo, at most 1000 rows a page (MaxResults), NextToken
* StopQueryExecution, GetWorkGroup, CreateWorkGroup, GetTableMetadata
* DDL: ``CREATE DATABASE [IF NOT EXISTS]``, ``CREATE EXTERNAL TABLE [IF NOT EXISTS] ...
  LOCATION ... TBLPROPERTIES (...)`` and ``ALTER TABLE ... SET TBLPROPERTIES (...)``, read for
  their location and partition projection (enum and date projections, the storage template)

A SELECT is transpiled by sqlglot (Trino -> DuckDB) and run by DuckDB over a table loaded
from the trail's log files in the moto bucket: only the partitions (account, region, day) the
query's partition predicates select, and within the projection (enum values, date range).
The bytes of those objects are what it scanned, as Athena counts them (compressed). The
table holds the CloudTrail columns as Hive's JSON SerDe gives them: keys matched without
case, an object or array in a string column as its JSON text, scalars as text.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import sqlglot
from sqlglot import exp

from . import json11

PAGE = 1000
PARTITION_COLUMNS = ("account", "region", "day")

S = "VARCHAR"
SCHEMA: dict[str, Any] = {
    "eventversion": S,
    "useridentity": {
        "type": S,
        "principalid": S,
        "arn": S,
        "accountid": S,
        "invokedby": S,
        "accesskeyid": S,
        "username": S,
        "onbehalfof": {"userid": S, "identitystorearn": S},
        "sessioncontext": {
            "attributes": {"mfaauthenticated": S, "creationdate": S},
            "sessionissuer": {
                "type": S,
                "principalid": S,
                "arn": S,
                "accountid": S,
                "username": S,
            },
            "ec2roledelivery": S,
            "sourceidentity": S,
        },
    },
    "eventtime": S,
    "eventsource": S,
    "eventname": S,
    "awsregion": S,
    "sourceipaddress": S,
    "useragent": S,
    "errorcode": S,
    "errormessage": S,
    "requestparameters": S,
    "responseelements": S,
    "additionaleventdata": S,
    "requestid": S,
    "eventid": S,
    "readonly": S,
    "resources": [{"arn": S, "accountid": S, "type": S}],
    "eventtype": S,
    "apiversion": S,
    "managementevent": S,
    "recipientaccountid": S,
    "serviceeventdetails": S,
    "sharedeventid": S,
    "vpcendpointid": S,
    "vpcendpointaccountid": S,
    "eventcategory": S,
    "tlsdetails": {"tlsversion": S, "ciphersuite": S, "clientprovidedhostheader": S},
    "sessioncredentialfromconsole": S,
    "edgedevicedetails": S,
    "insightdetails": S,
    "addendum": S,
}


def _duck_type(t: Any) -> str:
    if isinstance(t, dict):
        return "STRUCT(" + ", ".join(f'"{k}" {_duck_type(v)}' for k, v in t.items()) + ")"
    if isinstance(t, list):
        return _duck_type(t[0]) + "[]"
    return str(t)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return orjson.dumps(v).decode()


def serde(v: Any, t: Any) -> Any:
    """A JSON value as Hive's JSON SerDe gives it for a column of type t."""
    if isinstance(t, dict):
        if not isinstance(v, dict):
            return None
        low: dict[str, Any] = {}
        for k, x in v.items():
            if isinstance(k, str):
                low.setdefault(k.lower(), x)
        return {k: serde(low.get(k), sub) for k, sub in t.items()}
    if isinstance(t, list):
        if not isinstance(v, list):
            return None
        return [serde(x, t[0]) for x in v]
    return _text(v)


@dataclass
class Table:
    location: str
    props: dict[str, str]
    ddl: str
    created: float = field(default_factory=time.time)


@dataclass
class Query:
    id: str
    sql: str
    workgroup: str
    output: str
    database: str
    state: str = "QUEUED"
    reason: str = ""
    scanned: int = 0
    submitted: float = field(default_factory=time.time)
    completed: float | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    partitions: list[tuple[str, str, str]] = field(default_factory=list)  # read


class QueryFailed(Exception):
    pass


_PROP = re.compile(r"'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'")
_IDENT = r"[`\"]?(\w+)[`\"]?"


def _props(text: str) -> dict[str, str]:
    return {a.replace("''", "'"): b.replace("''", "'") for a, b in _PROP.findall(text)}


class FakeAthena:
    def __init__(self, s3: Any, keys: dict[str, str] | None = None) -> None:
        self.s3 = s3  # a boto3 S3 client (moto) the trail's objects are read through
        self.keys = keys or {}
        self.denied: set[str] = set()  # access keys refused with AccessDeniedException
        self.workgroups: dict[str, dict[str, Any]] = {"primary": {"output": ""}}
        self.databases: set[str] = {"default"}
        self.tables: dict[tuple[str, str], Table] = {}
        self.queries: dict[str, Query] = {}
        self.order: list[str] = []
        self.delay = 0.0  # seconds a query stays RUNNING before it runs
        self.stopped: list[str] = []  # the ids StopQueryExecution was called for
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ protocol

    def handle(self, op: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if key in self.denied:
            return 400, {
                "__type": "AccessDeniedException",
                "Message": f"User: arn:aws:iam::111111111111:user/x is not authorized to "
                f"perform: athena:{op}",
            }
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            return 400, {"__type": "UnknownOperationException", "Message": op}
        try:
            return 200, fn(body)
        except InvalidRequest as e:
            return 400, {"__type": "InvalidRequestException", "Message": str(e)}

    def op_GetWorkGroup(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["WorkGroup"]
        wg = self.workgroups.get(name)
        if wg is None:
            raise InvalidRequest(f"WorkGroup {name} is not found.")
        cfg: dict[str, Any] = {"EnforceWorkGroupConfiguration": False}
        if wg["output"]:
            cfg["ResultConfiguration"] = {"OutputLocation": wg["output"]}
        return {"WorkGroup": {"Name": name, "State": "ENABLED", "Configuration": cfg}}

    def op_CreateWorkGroup(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["Name"]
        if name in self.workgroups:
            raise InvalidRequest(f"WorkGroup is already created: {name}")
        out = body.get("Configuration", {}).get("ResultConfiguration", {}).get("OutputLocation")
        self.workgroups[name] = {"output": out or ""}
        return {}

    def op_GetTableMetadata(self, body: dict[str, Any]) -> dict[str, Any]:
        db, name = body["DatabaseName"].lower(), body["TableName"].lower()
        if db not in self.databases:
            raise MetadataError(f"Database {db} not found")
        t = self.tables.get((db, name))
        if t is None:
            raise MetadataError(f"Table {name} not found")
        return {
            "TableMetadata": {
                "Name": name,
                "CreateTime": t.created,
                "TableType": "EXTERNAL_TABLE",
                "Columns": [{"Name": c, "Type": "string"} for c in SCHEMA],
                "PartitionKeys": [{"Name": c, "Type": "string"} for c in PARTITION_COLUMNS],
                "Parameters": {"location": t.location, **t.props},
            }
        }

    def op_StartQueryExecution(self, body: dict[str, Any]) -> dict[str, Any]:
        wgname = body.get("WorkGroup") or "primary"
        wg = self.workgroups.get(wgname)
        if wg is None:
            raise InvalidRequest(f"WorkGroup {wgname} is not found.")
        out = body.get("ResultConfiguration", {}).get("OutputLocation") or wg["output"]
        if not out:
            raise InvalidRequest(
                "No output location provided. An output location is required either through "
                "the Workgroup result configuration setting or as an API input."
            )
        q = Query(
            str(uuid.uuid4()),
            body["QueryString"],
            wgname,
            out,
            body.get("QueryExecutionContext", {}).get("Database", "default").lower(),
        )
        with self.lock:
            self.queries[q.id] = q
            self.order.append(q.id)
        threading.Thread(target=self._run, args=(q,), daemon=True).start()
        return {"QueryExecutionId": q.id}

    def _query(self, body: dict[str, Any]) -> Query:
        q = self.queries.get(body.get("QueryExecutionId", ""))
        if q is None:
            raise InvalidRequest("QueryExecution was not found")
        return q

    def op_GetQueryExecution(self, body: dict[str, Any]) -> dict[str, Any]:
        q = self._query(body)
        status: dict[str, Any] = {"State": q.state, "SubmissionDateTime": q.submitted}
        if q.reason:
            status["StateChangeReason"] = q.reason
        if q.completed:
            status["CompletionDateTime"] = q.completed
        ms = int(((q.completed or time.time()) - q.submitted) * 1000)
        return {
            "QueryExecution": {
                "QueryExecutionId": q.id,
                "Query": q.sql,
                "StatementType": "DDL"
                if not q.sql.lstrip().upper().startswith("SELECT")
                else "DML",
                "ResultConfiguration": {"OutputLocation": f"{q.output.rstrip('/')}/{q.id}.csv"},
                "QueryExecutionContext": {"Database": q.database},
                "Status": status,
                "Statistics": {
                    "EngineExecutionTimeInMillis": ms,
                    "DataScannedInBytes": q.scanned,
                    "TotalExecutionTimeInMillis": ms,
                },
                "WorkGroup": q.workgroup,
            }
        }

    def op_StopQueryExecution(self, body: dict[str, Any]) -> dict[str, Any]:
        q = self._query(body)
        with self.lock:
            self.stopped.append(q.id)
            if q.state in ("QUEUED", "RUNNING"):
                q.state = "CANCELLED"
                q.completed = time.time()
        return {}

    def op_GetQueryResults(self, body: dict[str, Any]) -> dict[str, Any]:
        q = self._query(body)
        if q.state != "SUCCEEDED":
            raise InvalidRequest(f"Query has not yet finished. Current state: {q.state}")
        limit = int(body.get("MaxResults") or PAGE)
        if not 1 <= limit <= PAGE:
            raise InvalidRequest("MaxResults must be between 1 and 1000")
        rows = [[c for c, _ in q.columns], *q.rows] if q.columns else []
        start = int(base64.b64decode(body["NextToken"]).decode()) if body.get("NextToken") else 0
        page = rows[start : start + limit]
        out: dict[str, Any] = {
            "UpdateCount": 0,
            "ResultSet": {
                "Rows": [
                    {"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in page
                ],
                "ResultSetMetadata": {
                    "ColumnInfo": [
                        {"Name": c, "Label": c, "Type": t, "Nullable": "UNKNOWN"}
                        for c, t in q.columns
                    ]
                },
            },
        }
        if start + limit < len(rows):
            out["NextToken"] = base64.b64encode(str(start + limit).encode()).decode()
        return out

    # ------------------------------------------------------------------ execution

    def _run(self, q: Query) -> None:
        with self.lock:
            if q.state != "QUEUED":
                return
            q.state = "RUNNING"
        if self.delay:
            time.sleep(self.delay)
        try:
            self._execute(q)
            state, reason = "SUCCEEDED", ""
        except QueryFailed as e:
            state, reason = "FAILED", str(e)
        except Exception as e:  # what Athena would call a syntax or semantic error
            state, reason = "FAILED", f"GENERIC_INTERNAL_ERROR: {type(e).__name__}: {e}"
        with self.lock:
            if q.state == "RUNNING":
                q.state, q.reason, q.completed = state, reason, time.time()

    def _execute(self, q: Query) -> None:
        sql = q.sql.strip().rstrip(";")
        head = sql.upper()
        if head.startswith("CREATE DATABASE"):
            m = re.match(r"CREATE\s+DATABASE\s+(IF\s+NOT\s+EXISTS\s+)?" + _IDENT, sql, re.I)
            if m is None:
                raise QueryFailed("line 1:1: mismatched input")
            name = m.group(2).lower()
            if name in self.databases and not m.group(1):
                raise QueryFailed(f"Database {name} already exists")
            self.databases.add(name)
            return
        if head.startswith("CREATE EXTERNAL TABLE"):
            return self._create_table(q, sql)
        if head.startswith("ALTER TABLE"):
            m = re.match(
                r"ALTER\s+TABLE\s+" + _IDENT + r"\." + _IDENT + r"\s+SET\s+TBLPROPERTIES", sql, re.I
            )
            if m is None:
                raise QueryFailed("line 1:1: mismatched input")
            t = self._table(m.group(1), m.group(2))
            t.props.update(_props(sql[m.end() :]))
            return
        self._select(q, sql)

    def _create_table(self, q: Query, sql: str) -> None:
        m = re.match(
            r"CREATE\s+EXTERNAL\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?" + _IDENT + r"\." + _IDENT,
            sql,
            re.I,
        )
        if m is None:
            raise QueryFailed("line 1:1: mismatched input")
        db, name = m.group(2).lower(), m.group(3).lower()
        if db not in self.databases:
            raise QueryFailed(f"SCHEMA_NOT_FOUND: Database {db} not found")
        if (db, name) in self.tables:
            if m.group(1):
                return
            raise QueryFailed(f"AlreadyExistsException: Table {name} already exists")
        loc = re.search(r"LOCATION\s+'([^']*)'", sql, re.I)
        props = re.search(r"TBLPROPERTIES\s*\((.*)\)\s*$", sql, re.I | re.S)
        if loc is None:
            raise QueryFailed("no LOCATION")
        self.tables[(db, name)] = Table(loc.group(1), _props(props.group(1) if props else ""), sql)

    def _table(self, db: str, name: str) -> Table:
        t = self.tables.get((db.lower(), name.lower()))
        if t is None:
            raise QueryFailed(
                f"TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.{db}.{name}' does not exist"
            )
        return t

    def _select(self, q: Query, sql: str) -> None:
        tree = sqlglot.parse_one(sql, read="trino")
        tables = list(tree.find_all(exp.Table))
        if len(tables) != 1:
            raise QueryFailed("the fake runs queries over one table")
        node = tables[0]
        t = self._table(node.db or q.database, node.name)
        parts = self._partitions(t, tree.args.get("where"))
        con = duckdb.connect()
        try:
            q.scanned = self._load(con, t, parts)
            q.partitions = parts
            node.replace(exp.to_table("trail"))
            duck = tree.sql(dialect="duckdb")
            cur = con.execute(duck)
            desc = cur.description or []
            q.columns = [(d[0], _athena_type(str(d[1]))) for d in desc]
            q.rows = [[_cell(v) for v in r] for r in cur.fetchall()]
        finally:
            con.close()

    def _partitions(self, t: Table, where: exp.Where | None) -> list[tuple[str, str, str]]:
        """The partitions (account, region, day) that hold objects, lie within the
        projection, and satisfy the query's predicates on partition columns only."""
        tmpl = t.props.get("storage.location.template", "")
        m = re.match(r"s3://([^/]+)/(.*)\$\{account\}/CloudTrail/\$\{region\}/\$\{day\}", tmpl)
        if m is None:
            raise QueryFailed("HIVE_METASTORE_ERROR: no storage.location.template")
        bucket, base = m.group(1), m.group(2)
        accounts = t.props.get("projection.account.values", "").split(",")
        regions = t.props.get("projection.region.values", "").split(",")
        lo_text, _, hi_text = t.props.get("projection.day.range", "").partition(",")
        lo = datetime.strptime(lo_text, "%Y/%m/%d").date()
        hi = (
            datetime.now(UTC).date()
            if hi_text.strip().upper() == "NOW"
            else datetime.strptime(hi_text, "%Y/%m/%d").date()
        )
        found: list[tuple[str, str, str]] = []
        for a in accounts:
            for r in regions:
                prefix = f"{base}{a}/CloudTrail/{r}/"
                for day in self._days(bucket, prefix):
                    if lo <= datetime.strptime(day, "%Y/%m/%d").date() <= hi:
                        found.append((a, r, day))
        conds = [
            c
            for c in _conjuncts(where.this if where is not None else None)
            if {col.name.lower() for col in c.find_all(exp.Column)} <= set(PARTITION_COLUMNS)
            and not list(c.find_all(exp.Subquery))
        ]
        if not conds or not found:
            return found
        con = duckdb.connect()
        try:
            con.execute('CREATE TABLE p ("account" VARCHAR, "region" VARCHAR, "day" VARCHAR)')
            con.executemany("INSERT INTO p VALUES (?, ?, ?)", found)
            pred = " AND ".join(f"({c.sql(dialect='duckdb')})" for c in conds)
            rows = con.execute(f"SELECT * FROM p WHERE {pred}").fetchall()
        finally:
            con.close()
        return sorted((str(a), str(b), str(c)) for a, b, c in rows)

    def _days(self, bucket: str, prefix: str) -> list[str]:
        out = []
        for y in self._common(bucket, prefix):
            for mth in self._common(bucket, y):
                for d in self._common(bucket, mth):
                    out.append(d[len(prefix) :].strip("/"))
        return out

    def _common(self, bucket: str, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        )
        return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]

    def _load(self, con: Any, t: Table, parts: list[tuple[str, str, str]]) -> int:
        """The partitions' log files into a DuckDB table ``trail``: the bytes read."""
        tmpl = t.props["storage.location.template"]
        rows: list[dict[str, Any]] = []
        scanned = 0
        for a, r, d in parts:
            loc = tmpl.replace("${account}", a).replace("${region}", r).replace("${day}", d)
            bucket, _, prefix = loc[5:].partition("/")
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix.rstrip("/") + "/"
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    data = self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    scanned += len(data)
                    path = f"s3://{bucket}/{obj['Key']}"
                    rows += [row(rec, path, (a, r, d), len(data)) for rec in _records(data)]
        load(con, rows)
        return scanned

    # ------------------------------------------------------------------ server

    def start(self) -> str:
        fake = self

        class Handler(json11.Handler):
            def operation(self) -> None:
                op = self.target.removeprefix("AmazonAthena.")
                try:
                    status, body = fake.handle(op, self.key, self.body)
                except MetadataError as e:
                    status, body = 400, {"__type": "MetadataException", "Message": str(e)}
                self.send(status, body)

        self.server, url = json11.serve(Handler)
        return url

    def stop(self) -> None:
        json11.shut(self.server)

    # ------------------------------------------------------------------ for tests

    def last(self, prefix: str = "SELECT") -> Query:
        return next(
            self.queries[i]
            for i in reversed(self.order)
            if self.queries[i].sql.lstrip().upper().startswith(prefix)
        )

    def selects(self) -> list[Query]:
        return [
            self.queries[i]
            for i in self.order
            if self.queries[i].sql.lstrip().upper().startswith("SELECT")
        ]


class InvalidRequest(Exception):
    pass


class MetadataError(Exception):
    pass


def row(
    rec: dict[str, Any], path: str, part: tuple[str, str, str], size: int = 0
) -> dict[str, Any]:
    """One record as the table's row: the columns, its partition, "$path" and "$file_size"."""
    out = {k: serde(_get(rec, k), v) for k, v in SCHEMA.items()}
    out.update(zip(PARTITION_COLUMNS, part, strict=True))
    out["$path"] = path
    out["$file_size"] = size
    return out


def load(con: Any, rows: list[dict[str, Any]], name: str = "trail") -> None:
    """Rows into a DuckDB table (through a JSON Lines file: fast, and typed by SCHEMA)."""
    cols = {k: _duck_type(v) for k, v in SCHEMA.items()}
    cols.update({c: "VARCHAR" for c in PARTITION_COLUMNS})
    cols["$path"] = "VARCHAR"
    cols["$file_size"] = "BIGINT"
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as tmp:
        for r in rows:
            tmp.write(orjson.dumps(r) + b"\n")
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"
    try:
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_json('{tmp.name}', "
            f"format='newline_delimited', columns={spec})"
        )
    finally:
        Path(tmp.name).unlink()


def trino_to_duckdb(sql: str) -> str:
    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]


def _get(rec: dict[str, Any], key: str) -> Any:
    for k, v in rec.items():
        if isinstance(k, str) and k.lower() == key:
            return v
    return None


def _records(data: bytes) -> list[dict[str, Any]]:
    try:
        doc = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    except (OSError, ValueError, EOFError):
        return []  # Athena's SerDe skips (or fails on) what isn't JSON: the fake skips
    recs = doc.get("Records") if isinstance(doc, dict) else None
    return [r for r in recs if isinstance(r, dict)] if isinstance(recs, list) else []


def _conjuncts(e: exp.Expression | None) -> list[exp.Expression]:
    if e is None:
        return []
    if isinstance(e, exp.And):
        return _conjuncts(e.this) + _conjuncts(e.expression)
    if isinstance(e, exp.Paren):
        return _conjuncts(e.this)
    return [e]


def _athena_type(duck: str) -> str:
    d = duck.upper()
    if d in ("BIGINT", "HUGEINT", "INTEGER"):
        return "bigint"
    if d in ("DOUBLE", "FLOAT"):
        return "double"
    if d == "BOOLEAN":
        return "boolean"
    return "varchar"


def _cell(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def put_trail(
    s3: Any,
    bucket: str,
    records: list[dict[str, Any]],
    prefix: str = "",
    org: str = "",
    delay: timedelta = timedelta(minutes=5),
    per_file: int = 50,
) -> list[str]:
    """Lay records out as CloudTrail delivers them: one .json.gz per account, region and
    delivery (``delay`` after the newest event of the file), filed under the delivery day.
    The keys written."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in records:
        acct = rec.get("recipientAccountId") or "111111111111"
        groups.setdefault((acct, rec.get("awsRegion") or "us-east-1"), []).append(rec)
    keys = []
    base = (prefix.strip("/") + "/" if prefix.strip("/") else "") + "AWSLogs/"
    base += f"{org}/" if org else ""
    for (acct, region), recs in sorted(groups.items()):
        recs.sort(key=lambda r: str(r.get("eventTime")))
        for i in range(0, len(recs), per_file):
            chunk = recs[i : i + per_file]
            newest = datetime.fromisoformat(str(chunk[-1]["eventTime"]).replace("Z", "+00:00"))
            at = (newest + delay).astimezone(UTC)
            key = (
                f"{base}{acct}/CloudTrail/{region}/{at:%Y/%m/%d}/"
                f"{acct}_CloudTrail_{region}_{at:%Y%m%dT%H%MZ}_{uuid.uuid4().hex[:16]}.json.gz"
            )
            body = gzip.compress(json.dumps({"Records": chunk}).encode())
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            keys.append(key)
    return keys
