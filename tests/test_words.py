"""Free words over a chunk: Hyperscan (when installed) and the pure-Python fallback find the
same lines as a plain ASCII-folded search line by line."""

from __future__ import annotations

import random

import pytest

from trailtui.store import words
from trailtui.store.words import Chunk, WordMatcher

LINES = [
    b'{"eventName":"StopInstances","userAgent":"aws-cli/2","sourceIPAddress":"10.0.0.1"}',
    b'{"eventName":"stopinstances","errorCode":"AccessDenied","note":"caf\xc3\xa9 ALICE"}',
    b'{"eventName":"GetObject","requestParameters":{"key":"a%b_c\\\\d"},"x":"Terraform/1.5"}',
    b'{"eventName":"Describe","userIdentity":{"userName":"alice"},"n":12345}',
    b'{"eventName":"X","errorMessage":"access denied for ALICE on arn:aws:s3:::b"}',
]
WORDS = ["stop", "ALICE", "accessdenied", "café", "a%b_c", "terraform", "12345", "zzz", "\\\\d"]


def _expected(lines: list[bytes], ws: tuple[tuple[str, bool], ...]) -> set[int]:
    out = set()
    for i, line in enumerate(lines):
        low = line.translate(words.LOWER)
        if all((w.encode().translate(words.LOWER) in low) != neg for w, neg in ws):
            out.add(i)
    return out


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_word_lines_agree_with_a_plain_search(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine == "python":
        monkeypatch.setattr(words, "_hs", False)
    elif words.hyperscan_module() is None:
        pytest.skip("hyperscan is not installed")
    rng = random.Random(7)
    for _ in range(300):
        lines = [rng.choice(LINES) for _ in range(rng.randint(1, 12))]
        ch = Chunk(b"\n".join(lines))
        ws = tuple((rng.choice(WORDS), rng.random() < 0.3) for _ in range(rng.randint(1, 3)))
        got = WordMatcher(ws).lines(ch)
        want = _expected(lines, ws)
        assert (set(range(len(lines))) if got is None else got) == want, ws
        only = sorted(rng.sample(range(len(lines)), rng.randint(1, len(lines))))
        got_only = WordMatcher(ws).lines(ch, only)
        assert ({*only} if got_only is None else got_only & {*only}) == want & {*only}, ws


def test_a_word_with_a_newline_matches_no_record() -> None:
    ch = Chunk(b'{"a":"x"}\n{"a":"y"}')
    assert WordMatcher((('x"}\n{"a', False),)).lines(ch) == set()
    assert WordMatcher((('x"}\n{"a', True),)).lines(ch) is None


def test_the_lines_a_needle_is_found_on_are_read_without_line_starts() -> None:
    """The lines holding a needle are numbered by counting newlines between hits, and read
    back from where the search found them: the same lines, with the same text, as a plain
    line-by-line search (first and last lines, several hits on a line, empty lines), from
    the folded text's search or from Hyperscan's hits (the folded text never made)."""
    rng = random.Random(11)
    hs = words.hyperscan_module() is not None
    for _ in range(300):
        lines = [rng.choice([*LINES, b"", b"stop"]) for _ in range(rng.randint(1, 12))]
        w = rng.choice(WORDS).encode().translate(words.LOWER)
        want = {i for i, ln in enumerate(lines) if w in ln.translate(words.LOWER)}
        for engine in ("find", "hyperscan") if hs else ("find",):
            ch = Chunk(b"\n".join(lines))
            if engine == "hyperscan":
                words._Hyperscan([w]).note_hits(ch, [0])
                assert ch._folded is None
            got = words._lines_with(ch, w)
            assert got == want, engine
            assert ch._starts is None  # found without numbering every line
            assert {i: ch.line(i) for i in got} == {i: lines[i] for i in got}
            assert {i: ch.low(i) for i in got} == {i: lines[i].translate(words.LOWER) for i in got}
