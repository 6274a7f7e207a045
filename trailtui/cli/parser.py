"""The argument parser: one sub-parser per command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from .common import EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _add_source_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--from",
        dest="from_paths",
        nargs="+",
        metavar="PATH",
        help="files or folders of CloudTrail logs (read into the cache first)",
    )
    src.add_argument("--demo", action="store_true", help="the bundled demo incident")
    p.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")


def _add_live_args(p: argparse.ArgumentParser) -> None:
    live = p.add_argument_group("live CloudTrail (LookupEvents)")
    live.add_argument(
        "--profile", metavar="NAME[,NAME]", help="AWS profile(s); several = several accounts"
    )
    live.add_argument("--region", metavar="REGION[,REGION]|all", help="region(s) to look up")
    live.add_argument(
        "--endpoint-url", metavar="URL", help="CloudTrail endpoint (default: boto3's)"
    )
    live.add_argument(
        "--log-group",
        metavar="NAME[,NAME]",
        help="read CloudTrail from CloudWatch Logs group(s) (name or ARN) instead of LookupEvents",
    )


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="trailtui",
        description="Explore AWS CloudTrail events from the terminal.",
        epilog="Commands: ingest, query, history, who, bookmarks, case, verify. Without a command, "
        "opens the explorer.",
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    ing = sub.add_parser("ingest", help="load files and folders into the cache")
    ing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ing.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")
    ing.add_argument("--force", action="store_true", help="re-read files already ingested")

    q = sub.add_parser(
        "query",
        help="print the events matching a filter",
        description="Print matching events, newest first. Exit 0 with matches, 1 with none, "
        "2 on bad usage.",
    )
    q.add_argument("filter", nargs="?", default="", help="filter, e.g. 'name:Stop* user:bob'")
    _add_source_args(q)
    q.add_argument(
        "--format", choices=("table", "json", "jsonl", "csv"), default="table", help="output"
    )
    q.add_argument("--limit", type=int, default=None, metavar="N", help="at most N events")
    q.add_argument("--since", metavar="WHEN", help="like since: in the filter (24h, 2024-05-01)")
    q.add_argument("--until", metavar="WHEN", help="like until: in the filter")
    q.add_argument("--bookmark", metavar="NAME", help="run a saved filter (ANDed with FILTER)")
    _add_live_args(q)

    b = sub.add_parser(
        "bookmarks",
        help="saved filters: save, list, show, delete, export, import",
        description="Saved filters live in bookmarks.toml in the config dir "
        "(TRAILTUI_CONFIG_DIR), readable and editable by hand.",
    )
    bsub = b.add_subparsers(dest="action", required=True, parser_class=_Parser)
    bs = bsub.add_parser("save", help="save a filter under a name")
    bs.add_argument("name")
    bs.add_argument("filter")
    bs.add_argument("--since", metavar="WHEN", help="a relative window (24h, 7d) or a start time")
    bs.add_argument("--until", metavar="WHEN", help="an end time")
    bs.add_argument("--source", default="", help="where it applies (demo, a path, ...)")
    bsub.add_parser("list", help="every bookmark")
    bsh = bsub.add_parser("show", help="one bookmark as TOML")
    bsh.add_argument("name")
    bd = bsub.add_parser("delete", help="delete a bookmark")
    bd.add_argument("name")
    be = bsub.add_parser("export", help="print bookmarks as TOML (all, or the names given)")
    be.add_argument("names", nargs="*")
    bi = bsub.add_parser(
        "import", help="add the bookmarks of a TOML file (same names are replaced)"
    )
    bi.add_argument("file", type=Path)

    v = sub.add_parser(
        "verify",
        help="validate trail log file integrity (digests, hashes, signatures)",
        description="Like `aws cloudtrail validate-logs`. Exit 0 when everything is valid, 1 otherwise.",
    )
    v.add_argument("location", metavar="s3://BUCKET[/PREFIX]")
    v.add_argument("--since", metavar="WHEN", default="24h")
    v.add_argument("--until", metavar="WHEN")
    _add_live_args(v)

    c = sub.add_parser("case", help="pinned evidence: show or export a case")
    csub = c.add_subparsers(dest="action", required=True, parser_class=_Parser)
    cshow = csub.add_parser("show", help="the pins of a case, oldest first")
    cshow.add_argument("--case", default="default")
    cexp = csub.add_parser("export", help="Markdown timeline + JSONL with SHA-256 + the filters")
    cexp.add_argument("--case", default="default")
    cexp.add_argument("--to", type=Path, default=None, metavar="DIR", help="folder (default: .)")

    h = sub.add_parser(
        "history",
        help="an EC2 instance's lifecycle, oldest first",
        description="Every lifecycle event of an instance with its state change, who, from "
        "where and with what. Exit 0 when there is any, 1 when none.",
    )
    h.add_argument("instance", metavar="INSTANCE_ID", help="i-…")
    _add_source_args(h)
    h.add_argument("--format", choices=("table", "jsonl"), default="table")
    _add_live_args(h)

    w = sub.add_parser(
        "who",
        help="who really made an event: the chain of credentials back to its origin",
        description="Follow the event's temporary credentials back through the STS calls that "
        "issued them. Exit 0 when the event is cached, 1 when not.",
    )
    w.add_argument("event_id", metavar="EVENT_ID")
    _add_source_args(w)
    w.add_argument("--format", choices=("text", "json"), default="text")
    _add_live_args(w)

    # the explorer's own options live on the main parser
    p.add_argument("--from", dest="from_paths", nargs="+", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--demo", action="store_true", help="open the bundled demo incident")
    p.add_argument("--filter", metavar="FILTER", help="open with this filter")
    p.add_argument("--bookmark", metavar="NAME", help="open with a saved filter")
    p.add_argument("--case", default="default", metavar="NAME", help="the case pins go to")
    _add_live_args(p)
    p.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")
    return p


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("trailtui")
    except Exception:
        return "unknown"
