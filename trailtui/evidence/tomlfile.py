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


class BookmarkError(ValueError):
    """A file that can't be read or a name that can't be used; the message says which."""


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F or 0xD800 <= o <= 0xDFFF:
            out.append(f"\\u{o:04X}" if o < 0x10000 and not 0xD800 <= o <= 0xDFFF else "\\uFFFD")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_str(str(v))


def dump_tables(header: str, name: str, rows: list[dict[str, Any]]) -> str:
    """A TOML document: a comment header and one [[name]] table per row (None values left out)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for row in rows:
        lines.append("")
        lines.append(f"[[{name}]]")
        for k, v in row.items():
            if v is None or (v == "" and k not in ("filter",)):
                continue
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


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
