"""Saved filters as CloudWatch alarms: a metric filter on the trail's log group (the pattern
compiled exactly by filter/metric.py) counting matches into the ``trailtui`` namespace, and
an alarm on that metric notifying an SNS topic.

Ours are named ``trailtui-<bookmark>`` (alarm, metric filter and metric alike) and tagged
``trailtui:log-group`` / ``trailtui:filter``; list and delete only ever touch that prefix.
boto3 is imported lazily; endpoints are boto3's (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,
AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL_SNS...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..filter.language import parse
from ..filter.metric import MetricPlan, compile_exact

NAMESPACE = "trailtui"
PREFIX = "trailtui-"
TOPIC_ARN = re.compile(r"^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$")


class AlarmError(RuntimeError):
    """One clear line: what went wrong and what to do."""


def alarm_name(bookmark: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", bookmark.strip()).strip("-")
    if not slug:
        raise AlarmError(f"can't make an alarm name of {bookmark!r}")
    return (slug if slug.startswith(PREFIX) else PREFIX + slug)[:255]


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    name: str
    filter_text: str
    plan: MetricPlan
    group: str
    topic: str
    threshold: float = 1.0
    period: int = 300

    @classmethod
    def of(
        cls,
        bookmark: str,
        filter_text: str,
        group: str,
        topic: str,
        threshold: float = 1.0,
        period: int = 300,
    ) -> AlarmSpec:
        """Raises NotExact (the part the pattern can't say) or AlarmError."""
        if (
            period < 10
            or (period < 60 and period not in (10, 20, 30))
            or (period >= 60 and period % 60)
        ):
            raise AlarmError("--period: 10, 20, 30 or a multiple of 60 seconds")
        if threshold <= 0:
            raise AlarmError("--threshold: more than 0 events")
        if not TOPIC_ARN.match(topic):
            raise AlarmError(f"--topic: not an SNS topic ARN: {topic!r}")
        plan = compile_exact(parse(filter_text))
        return cls(alarm_name(bookmark), filter_text, plan, group, topic, threshold, period)


@dataclass(frozen=True, slots=True)
class AlarmInfo:
    name: str
    state: str
    threshold: float
    period: int
    group: str
    filter_text: str
    reason: str


def clients(profile: str | None, region: str | None) -> tuple[Any, Any, Any]:
    """(logs, cloudwatch, sns) for a profile and region."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    cfg = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="trailtui")
    kw: dict[str, Any] = {"config": cfg}
    if region:
        kw["region_name"] = region
    return (
        session.client("logs", **kw),
        session.client("cloudwatch", **kw),
        session.client("sns", **kw),
    )


def friendly(exc: BaseException, what: str) -> str:
    resp = getattr(exc, "response", None)
    err = resp.get("Error", {}) if isinstance(resp, dict) else {}
    code = str(err.get("Code", ""))
    msg = str(err.get("Message", "")) or str(exc)
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return f"{what}: not allowed ({msg})"[:300]
    if type(exc).__name__ in ("NoCredentialsError", "ProfileNotFound", "NoRegionError"):
        return f"{what}: {exc}"
    if "Token" in type(exc).__name__ or code == "ExpiredTokenException":
        return f"{what}: credentials expired or missing: sign in again (aws sso login)"
    return f"{what}: {code or type(exc).__name__}: {msg}"[:300]


class Alarms:
    def __init__(self, logs: Any, cloudwatch: Any, sns: Any) -> None:
        self.logs, self.cw, self.sns = logs, cloudwatch, sns

    def check(self, spec: AlarmSpec) -> None:
        """The log group and the topic exist (PutMetricFilter on a missing group is an
        error in AWS; the topic is only used when the alarm fires)."""
        try:
            groups = self.logs.describe_log_groups(logGroupNamePrefix=spec.group).get(
                "logGroups", []
            )
        except Exception as e:
            raise AlarmError(friendly(e, f"log group {spec.group!r}")) from e
        if not any(g.get("logGroupName") == spec.group for g in groups):
            raise AlarmError(f"no log group {spec.group!r}: check --log-group and --region")
        try:
            self.sns.get_topic_attributes(TopicArn=spec.topic)
        except Exception as e:
            code = str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("NotFound", "NotFoundException"):
                raise AlarmError(f"no SNS topic {spec.topic}: create it first") from e
            raise AlarmError(friendly(e, f"SNS topic {spec.topic}")) from e

    def create(self, spec: AlarmSpec) -> None:
        self.check(spec)
        try:
            self.logs.put_metric_filter(
                logGroupName=spec.group,
                filterName=spec.name,
                filterPattern=spec.plan.pattern,
                metricTransformations=[
                    {"metricName": spec.name, "metricNamespace": NAMESPACE, "metricValue": "1"}
                ],
            )
        except Exception as e:
            raise AlarmError(friendly(e, f"metric filter {spec.name}")) from e
        try:
            self.cw.put_metric_alarm(
                AlarmName=spec.name,
                AlarmDescription=f"trailtui filter on {spec.group}: {spec.filter_text}"[:1024],
                ActionsEnabled=True,
                AlarmActions=[spec.topic],
                MetricName=spec.name,
                Namespace=NAMESPACE,
                Statistic="Sum",
                Period=spec.period,
                EvaluationPeriods=1,
                Threshold=spec.threshold,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData="notBreaching",
                Tags=[
                    {"Key": "trailtui:log-group", "Value": spec.group[:256]},
                    {"Key": "trailtui:filter", "Value": spec.filter_text[:256]},
                ],
            )
        except Exception as e:
            raise AlarmError(friendly(e, f"alarm {spec.name}")) from e

    def ours(self) -> list[AlarmInfo]:
        out: list[AlarmInfo] = []
        try:
            pages = self.cw.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=PREFIX, AlarmTypes=["MetricAlarm"]
            )
            for page in pages:
                for a in page.get("MetricAlarms", []):
                    if a.get("Namespace") != NAMESPACE:
                        continue
                    desc = str(a.get("AlarmDescription", ""))
                    group, _, text = desc.removeprefix("trailtui filter on ").partition(": ")
                    out.append(
                        AlarmInfo(
                            str(a["AlarmName"]),
                            str(a.get("StateValue", "")),
                            float(a.get("Threshold", 0)),
                            int(a.get("Period", 0)),
                            group,
                            text,
                            str(a.get("StateReason", "")),
                        )
                    )
        except Exception as e:
            raise AlarmError(friendly(e, "describe alarms")) from e
        return out

    def delete(self, name: str) -> list[str]:
        """The alarm and its metric filters; what was deleted."""
        name = name if name.startswith(PREFIX) else PREFIX + name
        try:
            found = self.cw.describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
        except Exception as e:
            raise AlarmError(friendly(e, f"alarm {name}")) from e
        if not any(a.get("Namespace") == NAMESPACE for a in found):
            raise AlarmError(f"no trailtui alarm named {name!r} (trailtui alarm list)")
        done = []
        try:
            filters = self.logs.describe_metric_filters(
                metricName=name, metricNamespace=NAMESPACE
            ).get("metricFilters", [])
            for mf in filters:
                self.logs.delete_metric_filter(
                    logGroupName=mf["logGroupName"], filterName=mf["filterName"]
                )
                done.append(f"metric filter {mf['filterName']} on {mf['logGroupName']}")
            self.cw.delete_alarms(AlarmNames=[name])
            done.append(f"alarm {name}")
        except Exception as e:
            raise AlarmError(friendly(e, f"delete {name}")) from e
        return done
