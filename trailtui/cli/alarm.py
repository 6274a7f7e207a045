"""trailtui alarm create|list|delete: saved filters as CloudWatch metric filters and alarms
(monitor/alarms.py), and the CIS benchmark's CloudTrail monitoring set (--preset cis)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .common import EXIT_OK, bookmark_named, fail

if TYPE_CHECKING:
    from ..monitor.alarms import Alarms, AlarmSpec

CASE_NOTE = (
    "how values match: exactly as typed, case-sensitive (CloudWatch has no case-insensitive "
    "comparison; trailtui's own filter ignores case), * = any characters"
)


def _one(value: str | None, what: str) -> str | None:
    if value and "," in value:
        fail(f"{what}: one at a time for alarms")
    return value or None


def _alarms(args: argparse.Namespace) -> Alarms:
    from ..monitor.alarms import Alarms, clients

    try:
        return Alarms(*clients(_one(args.profile, "--profile"), _one(args.region, "--region")))
    except Exception as e:  # boto3 configuration problems: one line
        fail(f"{type(e).__name__}: {e}")


def _specs(args: argparse.Namespace) -> list[AlarmSpec]:
    from ..filter.metric import NotExact
    from ..monitor.alarms import AlarmError, AlarmSpec
    from ..monitor.cis import PRESETS

    if bool(args.bookmark) == bool(args.preset):
        fail("alarm create: --bookmark NAME or --preset cis")
    if args.preset:
        named = [(c.name, c.filter, "") for c in PRESETS[args.preset]]
    else:
        b = bookmark_named(args.bookmark)
        window = " ".join(x for x in (b.window, b.since, b.until) if x)
        named = [(b.name, b.filter, window)]
    specs = []
    for name, text, window in named:
        try:
            spec = AlarmSpec.of(name, text, args.log_group, args.topic, args.threshold, args.period)
        except NotExact as e:
            fail(f"bookmark {name!r} can't be an alarm exactly: {e}")
        except AlarmError as e:
            fail(str(e))
        if window:
            sys.stderr.write(
                f"trailtui: the bookmark's window ({window}) doesn't apply: an alarm counts "
                "events as they arrive\n"
            )
        specs.append(spec)
    return specs


def cmd_alarm(args: argparse.Namespace) -> int:
    from ..monitor.alarms import AlarmError
    from ..safe import clean

    out = sys.stdout
    if args.action == "create":
        specs = _specs(args)
        alarms = None if args.dry_run else _alarms(args)
        out.write(CASE_NOTE + "\n")
        for spec in specs:
            if alarms is not None:
                try:
                    alarms.create(spec)
                except AlarmError as e:
                    fail(str(e))
            verb = "would create" if args.dry_run else "created"
            out.write(
                f"\n{verb} {spec.name}: alarm when ≥ {spec.threshold:g} events in "
                f"{spec.period} s on {clean(spec.group, 200)} → {spec.topic}\n"
                f"  filter:  {clean(spec.filter_text, 1000)}\n"
                f"  pattern: {clean(spec.plan.pattern, 1100)}\n"
            )
            if not args.preset:
                for line in spec.plan.how + spec.plan.dropped:
                    out.write(f"  {clean(line, 400)}\n")
        return EXIT_OK
    alarms = _alarms(args)
    try:
        if args.action == "list":
            rows = alarms.ours()
            if not rows:
                sys.stderr.write("no trailtui alarms (trailtui alarm create)\n")
                return 1
            for a in rows:
                out.write(
                    f"{clean(a.name, 120):<40} {a.state:<17} ≥{a.threshold:g}/{a.period}s  "
                    f"{clean(a.group, 80)}  {clean(a.filter_text, 200)}\n"
                )
            return EXIT_OK
        for line in alarms.delete(args.name):
            out.write(f"deleted {clean(line, 300)}\n")
        return EXIT_OK
    except AlarmError as e:
        fail(str(e))
