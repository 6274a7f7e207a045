"""``trailtui athena setup``: the CloudTrail table over a trail's bucket, with partition
projection as AWS documents it for CloudTrail (account and region enums, a date range), the
accounts, regions and oldest day discovered from the bucket's prefixes (organization trails
too); idempotent (a table that exists gets its projection brought up to date); the workgroup
and result location remembered so later commands need only ``--athena D.T``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from .athena_query import Runner, TableSettings, friendly, make_client, save_settings
from .base import SourceError
from .s3 import S3Location, S3Trail

# AWS's CloudTrail table (https://docs.aws.amazon.com/athena/latest/ug/cloudtrail-logs.html),
# with every top-level field CloudTrail documents (objects as their JSON text)
COLUMNS = """\
  eventversion STRING,
  useridentity STRUCT<
    type: STRING, principalid: STRING, arn: STRING, accountid: STRING, invokedby: STRING,
    accesskeyid: STRING, username: STRING,
    onbehalfof: STRUCT<userid: STRING, identitystorearn: STRING>,
    sessioncontext: STRUCT<
      attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
      sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING,
        username: STRING>,
      ec2roledelivery: STRING,
      webidfederationdata: STRUCT<federatedprovider: STRING, attributes: MAP<STRING, STRING>>,
      sourceidentity: STRING>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
  eventtype STRING,
  apiversion STRING,
  managementevent STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  vpcendpointaccountid STRING,
  eventcategory STRING,
  tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>,
  sessioncredentialfromconsole STRING,
  edgedevicedetails STRING,
  insightdetails STRING,
  addendum STRING"""

PROJECTED = (
    "projection.enabled",
    "projection.account.type",
    "projection.account.values",
    "projection.region.type",
    "projection.region.values",
    "projection.day.type",
    "projection.day.range",
    "projection.day.format",
    "projection.day.interval",
    "projection.day.interval.unit",
    "storage.location.template",
)


@dataclass(slots=True)
class Layout:
    """What a trail's bucket holds: where its account folders are, which accounts and regions,
    since which day."""

    bucket: str
    base: str  # key prefix the account folders are under: [prefix/]AWSLogs/[o-ORG/]
    accounts: list[str]
    regions: list[str]
    oldest: date
    left_out: list[str]  # account folders under another base (a second organization...)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.base}"

    def properties(self) -> dict[str, str]:
        return {
            "projection.enabled": "true",
            "projection.account.type": "enum",
            "projection.account.values": ",".join(self.accounts),
            "projection.region.type": "enum",
            "projection.region.values": ",".join(self.regions),
            "projection.day.type": "date",
            "projection.day.range": f"{self.oldest:%Y/%m/%d},NOW",
            "projection.day.format": "yyyy/MM/dd",
            "projection.day.interval": "1",
            "projection.day.interval.unit": "DAYS",
            "storage.location.template": self.location + "${account}/CloudTrail/${region}/${day}",
        }


def discover(trail: S3Trail) -> Layout:
    """The trail's layout from the bucket's prefixes (delimiter listings, no object read)."""
    tps = trail.discover()
    if not tps:
        raise SourceError(
            f"no CloudTrail log folders under {trail.location.uri} "
            "(expected AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/)"
        )
    bases: dict[str, list[Any]] = {}
    for tp in tps:
        base = tp.prefix[: -len(f"{tp.account}/CloudTrail/{tp.region}/")]
        bases.setdefault(base, []).append(tp)
    base = max(bases, key=lambda b: len(bases[b]))
    chosen = bases[base]
    today = datetime.now(UTC).date()
    oldest = today
    for tp in chosen:
        days = trail.days(tp, None, today)
        if days:
            oldest = min(oldest, min(days))
    return Layout(
        trail.location.bucket,
        base,
        sorted({tp.account for tp in chosen}),
        sorted({tp.region for tp in chosen}),
        oldest,
        sorted({b for b in bases if b != base}),
    )


def ddl(database: str, table: str, layout: Layout) -> str:
    props = ",\n".join(f"  '{k}'='{v}'" for k, v in layout.properties().items())
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table}` (\n{COLUMNS}\n)\n"
        f"COMMENT 'CloudTrail logs of {layout.location} (trailtui athena setup)'\n"
        "PARTITIONED BY (`account` STRING, `region` STRING, `day` STRING)\n"
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n"
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
        f"LOCATION '{layout.location}'\n"
        f"TBLPROPERTIES (\n{props}\n)"
    )


_NAME = re.compile(r"^[a-z0-9_]{1,255}$")


def setup(
    url: str,
    database: str = "trailtui",
    table: str = "cloudtrail",
    workgroup: str = "primary",
    output: str = "",
    profile: str | None = None,
    region: str | None = None,
    say: Callable[[str], None] = print,
) -> TableSettings:
    """Create (or bring up to date) the table, check the workgroup, remember the settings."""
    database, table = database.lower(), table.lower()
    for n in (database, table):
        if not _NAME.match(n):
            raise SourceError(f"not an Athena name (letters, digits, _): {n!r}")
    if output and not output.startswith("s3://"):
        raise SourceError(f"--output: expected s3://BUCKET/prefix/, got {output!r}")
    if "'" in url or "`" in url:
        raise SourceError(f"a quote can't be part of the trail's location: {url!r}")
    try:
        loc = S3Location.parse(url)
    except ValueError as e:
        raise SourceError(str(e)) from e
    name = f"{database}.{table}"
    athena = make_client("athena", profile, region)
    wg_output = _workgroup(athena, workgroup, output, name, say)
    trail = S3Trail(make_client("s3", profile, region), loc, profile, region)
    try:
        layout = discover(trail)
    except SourceError:
        raise
    except Exception as e:
        raise SourceError(f"can't list {loc.uri}: {type(e).__name__}: {e}") from e
    for b in layout.left_out:
        say(f"left out: s3://{layout.bucket}/{b} (one table covers one layout; run setup on it)")
    runner = Runner(athena, name, workgroup, output if not wg_output else "")
    runner.run(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    existing = _table_properties(athena, database, table, name, workgroup)
    want = layout.properties()
    what = (
        f"{len(layout.accounts)} account{'s' if len(layout.accounts) != 1 else ''}, "
        f"{len(layout.regions)} region{'s' if len(layout.regions) != 1 else ''}, days from "
        f"{layout.oldest:%Y-%m-%d}"
    )
    if existing is None:
        runner.run(ddl(database, table, layout))
        say(f"created table {name} over {layout.location} ({what}), partition projection")
    elif any(existing.get(k) != v for k, v in want.items()):
        props = ", ".join(f"'{k}'='{v}'" for k, v in want.items())
        runner.run(f"ALTER TABLE `{database}`.`{table}` SET TBLPROPERTIES ({props})")
        say(f"updated table {name}: partition projection now {what}")
    else:
        say(f"table {name} is up to date ({what})")
    settings = TableSettings(
        workgroup=workgroup,
        output=output if not wg_output else "",
        region=athena.meta.region_name or "",
        profile=profile or "",
        location=loc.uri,
    )
    path = save_settings(name, settings)
    say(f"remembered workgroup {workgroup!r} for {name} in {path}: use --athena {name}")
    return settings


def _workgroup(
    athena: Any, workgroup: str, output: str, name: str, say: Callable[[str], None]
) -> str:
    """The workgroup's own result location ('' when it has none); a missing workgroup is
    created when a result location is given."""
    try:
        wg = athena.get_work_group(WorkGroup=workgroup)["WorkGroup"]
    except Exception as e:
        msg = str(getattr(e, "response", {}).get("Error", {}).get("Message", ""))
        if "not found" not in msg:
            raise SourceError(friendly(e, name, workgroup)) from e
        if not output:
            raise SourceError(
                f"no Athena workgroup {workgroup!r}: pass --output s3://RESULTS/ to create it"
            ) from e
        try:
            athena.create_work_group(
                Name=workgroup,
                Configuration={"ResultConfiguration": {"OutputLocation": output}},
                Description="trailtui: CloudTrail queries",
            )
        except Exception as e2:
            raise SourceError(friendly(e2, name, workgroup)) from e2
        say(f"created workgroup {workgroup!r} with results in {output}")
        return output
    have = str(wg.get("Configuration", {}).get("ResultConfiguration", {}).get("OutputLocation", ""))
    if not have and not output:
        raise SourceError(
            f"Athena workgroup {workgroup!r} has no query result location: pass --output s3://RESULTS/"
        )
    return have


def _table_properties(
    athena: Any, database: str, table: str, name: str, workgroup: str
) -> dict[str, str] | None:
    try:
        meta = athena.get_table_metadata(
            CatalogName="AwsDataCatalog", DatabaseName=database, TableName=table
        )["TableMetadata"]
    except Exception as e:
        code = str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))
        if code == "MetadataException":
            return None
        raise SourceError(friendly(e, name, workgroup)) from e
    return {str(k): str(v) for k, v in meta.get("Parameters", {}).items()}
