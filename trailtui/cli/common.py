"""What every command shares: exit statuses, the one-line error, filters from the command line."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from datetime import datetime

    from ..evidence.bookmarks import Bookmark
    from ..filter.language import Filter


EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"trailtui: error: {message}\n")
    raise SystemExit(EXIT_USAGE)


def parse_at(text: str, now: datetime) -> Filter:
    from ..filter.language import FilterSyntaxError, parse

    try:
        return parse(text, now)
    except FilterSyntaxError as e:
        fail(f"filter: {e}")


def build_filter(text: str, since: str | None = None, until: str | None = None) -> Filter:
    from ..filter.language import FilterSyntaxError, parse

    full = text
    if since:
        full += f' since:"{since}"'
    if until:
        full += f' until:"{until}"'
    try:
        return parse(full)
    except FilterSyntaxError as e:
        fail(f"filter: {e}")


def bookmark_named(name: str) -> Bookmark:
    from ..evidence.bookmarks import Bookmarks
    from ..evidence.tomlfile import BookmarkError

    try:
        return Bookmarks().get(name)
    except BookmarkError as e:
        fail(str(e))
