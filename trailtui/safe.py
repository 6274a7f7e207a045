"""CloudTrail text is attacker-controlled: make it safe to put on a terminal.

``clean`` removes what a terminal would act on — ESC and every C0/C1 control (so no CSI,
OSC 8 links or title changes), DEL, and the Unicode bidi controls that reorder what is
shown (Trojan Source). Tabs and newlines become spaces for one-line cells. It returns plain
text: callers wrap it in ``rich.text.Text`` (never markup), so ``[bold]`` stays literal.
"""

from __future__ import annotations

import re

# C0 (except nothing), DEL, C1, bidi embeddings/overrides/isolates, LRM/RLM/ALM, and the
# zero-width joiners that can hide text; plus U+FFF9-FFFB interlinear annotations
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb]"
)
_WS = {"\t": " ", "\n": " ", "\r": " "}


def _sub(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _WS:
        return _WS[ch]
    return "\ufffd" if ch in "\x1b\x9b\x9d" else ""


def clean(text: str, limit: int | None = None) -> str:
    """One safe line of text (optionally cut to ``limit`` characters with an ellipsis)."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_sub, text)


_UNSAFE_ML = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb]"
)


def clean_multiline(text: str) -> str:
    """Like ``clean`` but keeps newlines and tabs (for pretty-printed JSON)."""
    if _UNSAFE_ML.search(text) is None:
        return text
    return _UNSAFE_ML.sub(_sub, text)


def json_escape_unsafe(json_text: str) -> str:
    """Escape terminal-unsafe characters inside a JSON text as \\uXXXX (still the same JSON:
    such characters can only occur inside strings)."""
    if _UNSAFE.search(json_text) is None:
        return json_text
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json_text)
