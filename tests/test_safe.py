from __future__ import annotations

import json

from trailtui.safe import clean, clean_multiline, json_escape_unsafe

HOSTILE = [
    "\x1b[2J\x1b[31mred",
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "\x9b31m c1 csi",
    "abc\u202eevil\u202c",
    "nul\x00byte",
    "\u2066isolate\u2069",
]


def test_clean_removes_every_control() -> None:
    for s in HOSTILE:
        out = clean(s)
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out), repr(out)
        assert "\u202e" not in out and "\u2066" not in out


def test_clean_keeps_markup_text_literal_and_cuts() -> None:
    assert clean("[bold red]x[/]") == "[bold red]x[/]"
    assert clean("abcdef", 4) == "abc…"
    assert clean_multiline("a\n\tb\x1b") == "a\n\tb\ufffd"


def test_json_escape_keeps_the_same_json() -> None:
    for s in HOSTILE:
        text = json.dumps({"ua": s}, ensure_ascii=False, separators=(",", ":"))
        safe = json_escape_unsafe(text)
        assert json.loads(safe) == {"ua": s}
        assert "\x1b" not in safe and "\u202e" not in safe
