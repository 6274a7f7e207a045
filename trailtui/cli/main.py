"""Command line: the parser (parser.py) and the dispatch. The commands live in one module
per command group (ingest, query, investigate: history/who/verify, evidence: bookmarks/case,
explore: no command), opening sources in opening.py; each command imports only its own module
(and heavy modules, boto3 and textual, lazily) so ``trailtui --help`` and the explorer's first
paint are fast."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    command = args.command
    if command == "ingest":
        from .ingest import cmd_ingest

        return cmd_ingest(args)
    if command == "query":
        from .query import cmd_query

        return cmd_query(args)
    if command in ("history", "who", "verify"):
        from .investigate import cmd_history, cmd_verify, cmd_who

        return {"history": cmd_history, "who": cmd_who, "verify": cmd_verify}[command](args)
    if command in ("bookmarks", "case"):
        from .evidence import cmd_bookmarks, cmd_case

        return cmd_bookmarks(args) if command == "bookmarks" else cmd_case(args)
    if command == "athena":
        from .athena import cmd_athena

        return cmd_athena(args)
    if command == "alarm":
        from .alarm import cmd_alarm

        return cmd_alarm(args)
    if command == "watch":
        from .watch import cmd_watch

        return cmd_watch(args)
    if command == "detect":
        from .detect import cmd_detect

        return cmd_detect(args)
    if command == "gaps":
        from .trust import cmd_gaps

        return cmd_gaps(args)
    from .explore import cmd_explore

    return cmd_explore(args)
