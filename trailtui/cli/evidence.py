"""trailtui bookmarks and trailtui case."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_NO_MATCH, EXIT_OK, fail

if TYPE_CHECKING:
    pass


def cmd_bookmarks(args: argparse.Namespace) -> int:
    from ..evidence.bookmarks import BUILTIN, Bookmark, Bookmarks
    from ..evidence.tomlfile import BookmarkError
    from ..filter.language import DURATION, FilterSyntaxError, parse
    from ..safe import clean

    bm = Bookmarks()
    try:
        if args.action == "save":
            try:
                parse(args.filter)
            except FilterSyntaxError as e:
                fail(f"filter: {e}")
            window = since = ""
            if args.since:
                if DURATION.match(args.since.strip()):
                    window = args.since.strip()
                else:
                    since = args.since.strip()
            b = Bookmark(args.name, args.filter, window, since, args.until or "", args.source)
            parse(b.filter_text())  # the bounds are valid too
            bm.save(b)
            sys.stderr.write(f"saved {clean(b.name, 80)} in {bm.path}\n")
        elif args.action == "list":
            rows = bm.all()
            own = {b.name.lower() for b in rows}
            rows += [make() for name, make in BUILTIN.items() if name not in own]
            for b in rows:
                when = b.window or (f"{b.since}..{b.until}" if b.since or b.until else "any time")
                used = f"  last used {b.last_used}" if b.last_used else ""
                note = "  (built-in)" if b.source == "built-in" else ""
                cells = (clean(b.name, 80), clean(b.filter, 1000), clean(when + used + note, 200))
                sys.stdout.write("\t".join(cells) + "\n")
            return EXIT_OK if rows else EXIT_NO_MATCH
        elif args.action == "show":
            sys.stdout.write(bm.export_text([bm.get(args.name).name]))
        elif args.action == "delete":
            bm.delete(args.name)
        elif args.action == "export":
            sys.stdout.write(bm.export_text(args.names or None))
        elif args.action == "import":
            names = bm.import_file(args.file)
            sys.stderr.write(f"imported {len(names)} bookmarks into {bm.path}\n")
    except BookmarkError as e:
        fail(str(e))
    except FilterSyntaxError as e:
        fail(f"filter: {e}")
    return EXIT_OK


def cmd_case(args: argparse.Namespace) -> int:
    from ..evidence.cases import Case
    from ..evidence.export import case_markdown, export_case
    from ..evidence.tomlfile import BookmarkError

    try:
        case = Case.open(args.case)
        pins = case.pins()
    except BookmarkError as e:
        fail(str(e))
    if not pins:
        sys.stderr.write(f"case {case.name} has no pins ({case.path})\n")
        return EXIT_NO_MATCH
    if args.action == "show":
        sys.stdout.write(case_markdown(case.name, pins))
        return EXIT_OK
    paths = export_case(case.name, pins, args.to or Path.cwd())
    for p in paths:
        sys.stderr.write(f"wrote {p}\n")
    return EXIT_OK
