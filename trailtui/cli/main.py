"""Command line: the parser (parser.py) and the dispatch. The commands live in one module
per command group (ingest, query, investigate: history/who/verify, evidence: bookmarks/case,
explore: no command), opening sources in opening.py; heavy modules (boto3, textual) are
imported lazily so ``trailtui --help`` is fast."""

from __future__ import annotations

from collections.abc import Sequence

from .parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .evidence import cmd_bookmarks, cmd_case
    from .explore import cmd_explore
    from .ingest import cmd_ingest
    from .investigate import cmd_history, cmd_verify, cmd_who
    from .query import cmd_query

    try:
        if args.command == "ingest":
            return cmd_ingest(args)
        if args.command == "query":
            return cmd_query(args)
        if args.command == "history":
            return cmd_history(args)
        if args.command == "who":
            return cmd_who(args)
        if args.command == "bookmarks":
            return cmd_bookmarks(args)
        if args.command == "case":
            return cmd_case(args)
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "athena":
            from .athena import cmd_athena

            return cmd_athena(args)
        if args.command == "alarm":
            from .alarm import cmd_alarm

            return cmd_alarm(args)
        if args.command == "watch":
            from .watch import cmd_watch

            return cmd_watch(args)
        if args.command == "detect":
            from .detect import cmd_detect

            return cmd_detect(args)
        if args.command == "gaps":
            from .trust import cmd_gaps

            return cmd_gaps(args)
        return cmd_explore(args)
    except KeyboardInterrupt:
        return 130
