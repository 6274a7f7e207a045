"""Regexes for Athena: a filter's regex pushed only within the syntax that means the same in
Python (the local matcher), Java (Athena's regexp_like) and RE2; anything else stays local."""

from __future__ import annotations

import re


class Untranslatable(ValueError):
    """A value the SQL can't say within the superset rule (the term stays local)."""


def printable(c: str) -> bool:
    return " " <= c <= "~"


_CLASS_ESC = {"d": "0-9", "w": "0-9A-Za-z_", "s": " \\t\\n\\r\\f\\x0B"}
_OUT_ESC = {
    "d": "[0-9]",
    "w": "[0-9A-Za-z_]",
    "s": "[ \\t\\n\\r\\f\\x0B]",
    "D": "[^0-9]",
    "W": "[^0-9A-Za-z_]",
    "S": "[^ \\t\\n\\r\\f\\x0B]",
    "A": "\\A",
    "Z": "\\z",
    "n": "\\n",
    "t": "\\t",
    "r": "\\r",
    "f": "\\f",
    "v": "\\x0B",
}
_QUANT = re.compile(r"\{\d+(,\d*)?\}")


def regex(rx: str) -> str:
    """One of our regexes (Python, re.I|re.A|re.S, searched) as a pattern that means the same
    to Athena (Java) and RE2. Raises Untranslatable."""
    out: list[str] = ["(?is)"]
    i = 0
    quantified = False  # the previous piece was a quantifier
    while i < len(rx):
        c = rx[i]
        if not printable(c):
            raise Untranslatable(rx)
        if c == "\\":
            e = rx[i + 1] if i + 1 < len(rx) else ""
            if e in _OUT_ESC:
                out.append(_OUT_ESC[e])
            elif e == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", rx[i + 2 : i + 4]):
                out.append(rx[i : i + 4])
                i += 2
            elif e and printable(e) and not e.isalnum() and e != " ":
                out.append("\\" + e)
            else:
                raise Untranslatable(rx)  # \b, \1, \u..., \N, octal
            i += 2
            quantified = False
            continue
        if c == "[":
            piece, i = _class(rx, i)
            out.append(piece)
            quantified = False
            continue
        if c == "(":
            if rx.startswith("(?:", i):
                out.append("(?:")
                i += 3
            elif rx[i + 1 : i + 2] == "?":
                raise Untranslatable(rx)  # lookaround, named groups, inline flags
            else:
                out.append("(")
                i += 1
            quantified = False
            continue
        if c in "*+?{":
            m = _QUANT.match(rx, i) if c == "{" else None
            if c == "{" and m is None:
                if re.match(r"\{\d*,?\d*\}", rx[i:]):
                    raise Untranslatable(rx)  # {,n}: a quantifier to Python only
                out.append("\\{")  # a literal brace in Python
                i += 1
                quantified = False
                continue
            if quantified:
                if c == "?" and out[-1] != "?" and not out[-1].endswith("?"):
                    out[-1] += "?"  # lazy
                    i += 1
                    continue
                raise Untranslatable(rx)  # possessive or nested quantifiers
            piece = m.group(0) if m else c
            out.append(piece)
            i += len(piece)
            quantified = True
            continue
        if c == "$":
            out.append("(?:\\n?\\z)")
        elif c in "}]":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
        quantified = False
    return "".join(out)


def _class(rx: str, i: int) -> tuple[str, int]:
    j = i + 1
    out = ["["]
    if rx[j : j + 1] == "^":
        out.append("^")
        j += 1
    first = True
    while j < len(rx) and (rx[j] != "]" or first):
        first = False
        c = rx[j]
        if not printable(c) or c == "[" or rx.startswith("&&", j):
            raise Untranslatable(rx)  # Java's nested classes and intersections
        if c == "\\":
            e = rx[j + 1] if j + 1 < len(rx) else ""
            if e in _CLASS_ESC:
                out.append(_CLASS_ESC[e])
            elif e and (e in "ntrf" or (printable(e) and not e.isalnum())):
                out.append("\\" + e)
            else:
                raise Untranslatable(rx)
            j += 2
            continue
        out.append("\\" + c if c in "]^" else c)
        j += 1
    if j >= len(rx):
        raise Untranslatable(rx)
    out.append("]")
    return "".join(out), j + 1
