"""TOML files shared by people and processes: read with line numbers in errors, written
under a lock to a temporary file renamed into place (0600), never over a file with an error."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from ..safe import json_escape_unsafe


class BookmarkError(ValueError):
    """A file that can't be read or a name that can't be used; the message says which."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(v: Any) -> Any:
    """``v`` with lone surrogates (from JSON escapes in a record) as U+FFFD: UTF-8 can't hold them."""
    if isinstance(v, str):
        return _SURROGATE.sub("\ufffd", v)
    if isinstance(v, list):
        return [_encodable(x) for x in v]
    if isinstance(v, dict):
        return {k: _encodable(x) for k, x in v.items()}
    return v


def dump_tables(header: str, name: str, rows: list[dict[str, Any]]) -> str:
    """A TOML document: a comment header and one [[name]] table per row (None values and
    empty strings other than ``filter`` left out)."""
    out = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    for row in rows:
        kept = {
            k: _encodable(v) for k, v in row.items() if v is not None and (v != "" or k == "filter")
        }
        # written as the table [name] (subtables [name.x] follow it), then made an element of
        # the array of tables: tomli-w would write short rows as an inline array, which a
        # [[name]] added by hand below could not extend
        text = tomli_w.dumps({name: kept}).removeprefix(f"[{name}]\n")
        # tomli-w escapes C0 controls and DEL; the rest of what a terminal would act on (C1,
        # bidi controls: `bookmarks show` prints this) is escaped as \uXXXX too. tomli-w
        # writes every string as a one-line basic string and no tab outside one, so such
        # characters only occur inside strings, where the escape reads back as the same.
        text = "\n".join(json_escape_unsafe(line) for line in text.split("\n"))
        out += f"\n[[{name}]]\n{text}"
    return out


_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_tables(path: Path, name: str) -> list[dict[str, Any]]:
    """The [[name]] tables of a TOML file ([] when there is none). Raises BookmarkError
    naming the file, the line and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as e:
        raise BookmarkError(f"{path}: unreadable: {e}") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _LINE.search(msg)
        where = f"line {m.group(1)}" if m else "somewhere"
        raise BookmarkError(f"{path}: {where}: {_LINE.sub('', msg).strip()}") from e
    rows = data.get(name, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BookmarkError(f"{path}: '{name}' must be a list of [[{name}]] tables")
    return rows


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def update_file(
    path: Path, name: str, header: str, change: Callable[[list[dict[str, Any]]], None]
) -> None:
    """Read-modify-write under the lock; refuses (BookmarkError) when the file has an error."""
    with locked(path):
        rows = load_tables(path, name)
        change(rows)
        write_atomic(path, dump_tables(header, name, rows))


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
