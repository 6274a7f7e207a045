"""trailtui detect: Sigma rules for CloudTrail over the window; which fired, how often, when."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import EXIT_NO_MATCH, EXIT_OK, build_filter, fail
from .opening import open_sources, read_headless
from .trust import warn_tampering

if TYPE_CHECKING:
    from ..detect.rules import Ruleset
    from ..detect.run import Result
    from ..store.store import Store

HIGH = 4  # Rule.rank of level high (critical is 5)


def rules_path(arg: Path | None) -> Path:
    """--rules, else the rules folder in the config dir."""
    if arg is not None:
        return arg
    from .. import locations

    return locations.config_dir() / "rules"


def cmd_detect(args: argparse.Namespace) -> int:
    from ..detect.rules import load_rules
    from ..detect.run import by_level, run
    from ..safe import clean

    path = rules_path(args.rules)
    if args.rules is None and not path.exists():
        fail(
            f"no rules: pass --rules FILE|FOLDER, or put Sigma rules (.yml) in {path} "
            "(e.g. SigmaHQ's rules/cloud/aws/cloudtrail)"
        )
    try:
        ruleset = load_rules(path)
    except OSError as e:
        fail(str(e))
    if not ruleset.files:
        fail(f"no Sigma rule files (.yml, .yaml) in {path}")
    err = sys.stderr
    if not ruleset.rules:
        err.write(
            f"trailtui: no CloudTrail rule to evaluate in {clean(str(path), 200)} "
            f"({_counts(ruleset)})\n"
        )
    f = build_filter("", args.since, args.until)
    opened = open_sources(args)
    json_out = args.format == "json"
    read_headless(opened, f, None, quiet=json_out)
    warn_tampering(opened, f)
    store = opened.store
    tty = err.isatty() and not json_out

    def progress(done: int, total: int) -> None:
        if tty:
            err.write(f"\rtrailtui: rule {done:,} of {total:,}   ")
            err.flush()

    try:
        results = by_level(run(store, ruleset.rules, f, opened.scope, progress=progress))
        if tty and ruleset.rules:
            err.write("\r" + " " * 40 + "\r")
        if json_out:
            print_json(store, results, ruleset, args.show_filter)
        else:
            print_table(results, ruleset, args.show_filter)
        sys.stdout.flush()
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        store.close()
    if args.exit_code and any(r.count and r.rule.rank >= HIGH for r in results):
        return EXIT_NO_MATCH  # 1: a rule of level high or critical fired
    return EXIT_OK


def _counts(ruleset: Ruleset, fired: int | None = None, failed: int = 0) -> str:
    parts = [f"{len(ruleset.rules) - failed:,} evaluated"]
    if fired is not None:
        parts.append(f"{fired:,} fired")
    parts.append(f"{len(ruleset.skipped) + failed:,} skipped")
    if ruleset.ignored:
        parts.append(f"{ruleset.ignored:,} for other log sources ignored")
    return ", ".join(parts)


def _iso(r: Result, which: str) -> str | None:
    t = r.first if which == "first" else r.last
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def print_json(store: Store, results: list[Result], ruleset: Ruleset, show_filter: bool) -> None:
    from ..detect.run import event_ids

    rules: list[dict[str, Any]] = []
    skipped = [
        {"id": s.id, "title": s.title, "reason": s.reason, "path": s.path} for s in ruleset.skipped
    ]
    for r in results:
        if r.error:
            skipped.append(
                {"id": r.rule.id, "title": r.rule.title, "reason": r.error, "path": r.rule.path}
            )
            continue
        item: dict[str, Any] = {
            "id": r.rule.id,
            "title": r.rule.title,
            "level": r.rule.level,
            "count": r.count,
            "first": _iso(r, "first"),
            "last": _iso(r, "last"),
            "eventIDs": event_ids(store, r.rowids),
        }
        if show_filter:
            item["filter"] = r.rule.filter_text
        rules.append(item)
    # ASCII: rule titles and reasons are hostile text (no control or bidi character reaches
    # the terminal)
    sys.stdout.write(json.dumps({"rules": rules, "skipped": skipped}, indent=2) + "\n")


def print_table(results: list[Result], ruleset: Ruleset, show_filter: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..safe import clean

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=240, color_system=None)
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    fired = [r for r in results if r.count and not r.error]
    styles = {"critical": "bold red", "high": "red", "medium": "yellow"}
    if fired:
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for col in ("level", "count", "rule", "first (UTC)", "last (UTC)"):
            table.add_column(col, justify="right" if col == "count" else "left")
        for r in fired:
            level = r.rule.level or "-"
            table.add_row(
                Text(level, style=styles.get(level, "")),
                f"{r.count:,}",
                Text(clean(r.rule.title, 90)),
                _fmt(r, "first"),
                _fmt(r, "last"),
            )
        console.print(table)
    else:
        err.print(Text("no rule fired"))
    if show_filter:
        for r in results:
            console.print(Text(f"\n{clean(r.rule.title, 120)} ({r.rule.level or '-'})"))
            console.print(Text("  " + clean(r.rule.filter_text)))
    for s in ruleset.skipped:
        err.print(Text(f"skipped {clean(s.title or s.path, 90)}: {clean(s.reason, 300)}"))
    for r in results:
        if r.error:
            err.print(Text(f"skipped {clean(r.rule.title, 90)}: {clean(r.error, 300)}"))
    failed = sum(1 for r in results if r.error)
    err.print(Text(_counts(ruleset, len(fired), failed), style="dim"))


def _fmt(r: Result, which: str) -> str:
    t = r.first if which == "first" else r.last
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")
