"""The Athena statement around a plan's WHERE (filter/athena.py): the window's time bounds
as text at whole seconds, the day partitions the window's log files are filed under (the
day they were delivered: up to ``DELIVERY_SLACK`` after the window's end), the table's
quoted name, and the statement itself (the log files holding matches, newest first)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from .athena import DELIVERY_SLACK, AthenaPlan, lit


def _second(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


TIME_SHAPE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[Zz]$"


def time_sql(start: datetime | None, end: datetime | None) -> str:
    """eventtime within [start, end], as text at whole seconds; other spellings admitted."""
    conds = []
    if start is not None:
        conds.append(f"eventtime >= {lit(_second(start))}")
    if end is not None:
        conds.append(
            f"eventtime < {lit(_second(end.replace(microsecond=0) + timedelta(seconds=1)))}"
        )
    if not conds:
        return ""
    return f"(NOT regexp_like(eventtime, {lit(TIME_SHAPE)}) OR ({' AND '.join(conds)}))"


def day(d: date) -> str:
    return f"{d:%Y/%m/%d}"


def days_sql(first: date, last: date) -> str:
    """The day partitions [first, last]."""
    if first == last:
        return f'"day" = {lit(day(first))}'
    return f'"day" BETWEEN {lit(day(first))} AND {lit(day(last))}'


def last_day(end: datetime) -> date:
    """The newest day partition a window ending at ``end`` needs (files delivered later)."""
    return (end + DELIVERY_SLACK).astimezone(UTC).date()


def query_sql(
    table: str,
    plan: AthenaPlan,
    first: date,
    last: date,
    start: datetime | None,
    end: datetime | None,
) -> str:
    """The log files ("$path") holding the plan's events of the window, in the day
    partitions [first, last], newest first, with how many events each, the newest, and the
    file's size (Trino's hidden column: a file read before is not fetched again)."""
    conds = [days_sql(first, last)]
    conds += [c for c in (plan.partitions, time_sql(start, end), plan.where) if c]
    return (
        'SELECT "$path" AS path, count(*) AS events, max(eventtime) AS newest, '
        'max("$file_size") AS size '
        f"FROM {table} WHERE " + " AND ".join(conds) + ' GROUP BY "$path" ORDER BY newest DESC'
    )


def quote_table(name: str) -> str:
    """``db.table`` as quoted identifiers (raises ValueError for anything else)."""
    parts = name.split(".")
    if len(parts) != 2 or not all(re.fullmatch(r"[A-Za-z0-9_]+", p) for p in parts):
        raise ValueError(f"expected DATABASE.TABLE (letters, digits, _), got {name!r}")
    return ".".join(f'"{p.lower()}"' for p in parts)
