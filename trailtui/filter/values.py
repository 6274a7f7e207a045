"""How one value compares: ASCII case folding (exactly SQLite's NOCASE and LIKE), globs,
regexes, CIDR ranges. Shared by the local matcher and every backend's compiler."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(s: str) -> str:
    """ASCII-only lower-casing, exactly what SQLite's NOCASE/LIKE do."""
    return s.translate(_ASCII_LOWER)


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.ASCII | re.DOTALL)


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in fold(pattern):
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def glob_like(pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch in "%_\\":
            out.append("\\" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=64)
def network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def ip_in(value: str | None, cidr: str) -> bool:
    if not value:
        return False
    try:
        return ipaddress.ip_address(value) in network(cidr)
    except ValueError:
        return False


def ipv4_int(value: str) -> int | None:
    """The integer of a dotted IPv4 address (indexed for CIDR ranges), else None."""
    parts = value.split(".")
    if len(parts) != 4:
        return None
    try:
        n = 0
        for p in parts:
            if not p.isdigit() or len(p) > 3:
                return None
            b = int(p)
            if b > 255:
                return None
            n = n * 256 + b
        return n
    except ValueError:
        return None
