"""trailtui athena setup: the CloudTrail table over a trail's bucket (sources/athena_setup.py)."""

from __future__ import annotations

import argparse
import sys

from .common import EXIT_OK, fail


def cmd_athena(args: argparse.Namespace) -> int:
    from ..safe import clean
    from ..sources.athena_setup import setup
    from ..sources.base import SourceError

    def say(line: str) -> None:
        sys.stdout.write(clean(line, 400) + "\n")

    try:
        setup(
            args.location,
            args.database,
            args.table,
            args.workgroup,
            args.output,
            args.profile,
            args.region,
            say,
        )
    except SourceError as e:
        fail(str(e))
    return EXIT_OK
