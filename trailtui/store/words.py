"""Reading raw records back from their chunks, and matching what only the raw record holds:
free words (a case-insensitive substring anywhere in the record's JSON) and fields the cache
keeps no column for (``tt_field``).

Both work a chunk at a time: a chunk is decompressed once (a small cache keeps the recent
ones), a word is looked for in the whole chunk (Hyperscan when it is installed: several GB/s;
else ``bytes.translate`` + ``find``) and the hits are turned into line numbers, and what a
chunk gave is kept for the next row of the same chunk. SQL reaches this through the functions
``tt_words(chunk, idx, spec)`` and ``tt_field(chunk, idx, path)``.
"""

from __future__ import annotations

import bisect
import json
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any

import orjson
import zstandard

from ..fields import text_at
from ..filter.language import Term, parse
from ..filter.match import path_match
from ..records.event import loads
from .codec import decompress_chunk

LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")

_hs: Any = None  # hyperscan, imported on the first word scan (20 ms: most opens need none)


def hyperscan_module() -> Any:
    """Hyperscan if it is installed (optional: 6x faster caseless search here than
    translate + find; the pure-Python path gives the same answers), else None."""
    global _hs
    if _hs is None:
        try:
            import hyperscan
        except ImportError:  # pragma: no cover - depends on the platform's wheels
            _hs = False
        else:
            _hs = hyperscan
    return _hs or None


class Chunk:
    """A decompressed chunk: the records, one a line (where each line starts is found when
    first needed: most chunks a word scan reads hold no hit)."""

    __slots__ = ("_starts", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:  # line i is data[starts[i] : starts[i + 1] - 1]
        if self._starts is None:
            self._starts = line_starts(self.data)
        return self._starts

    @property
    def n(self) -> int:
        return len(self.starts) - 1

    def line(self, i: int) -> bytes:
        s = self.starts
        return self.data[s[i] : s[i + 1] - 1]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1


def line_starts(data: bytes) -> list[int]:
    starts = [0]
    p = data.find(b"\n")
    while p >= 0:
        starts.append(p + 1)
        p = data.find(b"\n", p + 1)
    starts.append(len(data) + 1)
    return starts


Words = tuple[tuple[str, bool], ...]  # (word, negated)


def words_spec(words: Words) -> str:
    return json.dumps([[w, n] for w, n in words])


class _Hyperscan:
    """Which of the words a buffer holds at all (caseless ASCII, one pass for all words)."""

    def __init__(self, words: list[bytes]) -> None:
        hs = self.hs = hyperscan_module()
        self.db = hs.Database(mode=hs.HS_MODE_BLOCK)
        flags = hs.HS_FLAG_CASELESS | hs.HS_FLAG_SINGLEMATCH
        self.db.compile(
            expressions=words,
            ids=list(range(len(words))),
            elements=len(words),
            flags=[flags] * len(words),
            literal=True,
        )
        self._local = threading.local()

    def present(self, data: bytes) -> set[int]:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self.hs.Scratch(self.db)
        found: set[int] = set()

        def on_match(i: int, start: int, end: int, flags: int, ctx: object) -> None:
            found.add(i)

        self.db.scan(data, match_event_handler=on_match, scratch=scratch)
        return found


class WordMatcher:
    """Free words against the lines of a chunk: every positive word and no negated one."""

    def __init__(self, words: Words) -> None:
        # a word with a newline can't be in a record (compact JSON escapes it)
        self.never = any("\n" in w for w, neg in words if not neg)
        self.pos = [w.encode("utf-8", "surrogatepass").translate(LOWER) for w, n in words if not n]
        self.neg = [
            w.encode("utf-8", "surrogatepass").translate(LOWER)
            for w, n in words
            if n and "\n" not in w
        ]
        every = self.pos + self.neg
        self._hs = _Hyperscan(every) if every and hyperscan_module() is not None else None

    def line_matches(self, line: bytes) -> bool:
        low = line.translate(LOWER)
        return all(w in low for w in self.pos) and not any(w in low for w in self.neg)

    def lines(self, ch: Chunk, only: Sequence[int] | None = None) -> set[int] | None:
        """The matching lines (None: every line); of ``only`` those lines when given."""
        if self.never:
            return set()
        if only is not None and len(only) * 8 < len(ch.data) // 1024:
            # a few lines of a big chunk (a field filter chose them): test just those
            return {i for i in only if self.line_matches(ch.line(i))}
        data = ch.data
        folded: bytes | None = None
        if self._hs is not None:
            present = self._hs.present(data)
        else:
            folded = data.translate(LOWER)
            present = {i for i, w in enumerate(self.pos + self.neg) if w in folded}
        if any(i not in present for i in range(len(self.pos))):
            return set()
        negs = [w for i, w in enumerate(self.neg) if i + len(self.pos) in present]
        if not self.pos and not negs:
            return None
        if folded is None:
            folded = data.translate(LOWER)
        out: set[int] | None = None
        for w in self.pos:
            hit = _lines_with(folded, w, ch)
            out = hit if out is None else out & hit
            if not out:
                return set()
        if out is None:
            out = set(range(ch.n))
        for w in negs:
            out -= _lines_with(folded, w, ch)
        return out


def _lines_with(folded: bytes, w: bytes, ch: Chunk) -> set[int]:
    out: set[int] = set()
    p = folded.find(w)
    while p >= 0:
        i = ch.line_of(p)
        out.add(i)
        p = folded.find(w, ch.starts[i + 1])
    return out


@lru_cache(maxsize=32)
def matcher(spec: str) -> WordMatcher:
    return WordMatcher(tuple((str(w), bool(n)) for w, n in json.loads(spec)))


def _needle(text: str) -> bytes | None:
    """How a string is written in a chunk's JSON, folded (None: it can't be said)."""
    try:
        return orjson.dumps(text)[1:-1].translate(LOWER)
    except orjson.JSONEncodeError:
        return None


@lru_cache(maxsize=256)
def path_term(spec: str) -> tuple[Term, bytes | None, tuple[bytes, ...] | None]:
    """A path term (its text), the key its record must hold, and the texts one of which it
    must hold too (None: any record with the key may match)."""
    f = parse(spec)
    assert len(f.terms) == 1 and not f.words and not f.groups, spec
    t = f.terms[0]
    key = _needle(t.field.rsplit(".", 1)[-1])
    needles: list[bytes] = []
    for v in t.values:
        n: bytes | None = None
        if v.kind == "exact":
            n = _needle(v.text) if v.text else b'""'
        elif v.kind == "glob":
            runs = [r for r in re.split(r"[*?]", v.text) if r]
            n = _needle(max(runs, key=len)) if runs else None
        if not n:
            return t, None if key is None else b'"' + key + b'":', None
        needles.append(n)
    return t, None if key is None else b'"' + key + b'":', tuple(needles)


def path_lines(ch: Chunk, spec: str) -> set[int]:
    """The lines of a chunk a path term (not negated) matches: only the records that hold
    its key (and one of its values' texts, when they have one) are parsed."""
    t, key, needles = path_term(spec)
    folded = ch.data.translate(LOWER)
    if key is not None:
        if key not in folded:
            return set()
        cand = sorted(_lines_with(folded, key, ch))
    else:
        cand = list(range(ch.n))
    starts = ch.starts
    out = set()
    for i in cand:
        if needles is not None:
            low = folded[starts[i] : starts[i + 1] - 1]
            if not any(n in low for n in needles):
                continue
        try:
            rec = loads(ch.line(i))
        except (ValueError, RecursionError):
            continue
        if path_match(t, rec):
            out.add(i)
    return out


def field_values(ch: Chunk, path: str) -> list[str]:
    """The text at a dotted path of every record of the chunk ('' when absent): only the
    records that hold the path's last key are parsed."""
    key = b'"' + path.rsplit(".", 1)[-1].encode() + b'":'
    if key not in ch.data:
        return [""] * ch.n
    out = []
    for i in range(ch.n):
        line = ch.line(i)
        if key in line:
            try:
                out.append(text_at(loads(line), path))
            except ValueError:
                out.append("")
        else:
            out.append("")
    return out


Connect = Callable[[], AbstractContextManager[sqlite3.Connection]]


class ChunkReader:
    """Decompressed chunks of one cache, the most recent kept (up to ``budget`` bytes), and
    what the word matchers and field paths gave for them."""

    def __init__(self, connect: Connect, budget: int = 6 * 1024**2) -> None:
        self._connect = connect
        self._budget = budget
        self._lru: OrderedDict[int, Chunk] = OrderedDict()
        self._size = 0
        self._derived: OrderedDict[tuple[str, str, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()
            self._derived.clear()
            self._size = 0

    def get(self, chunk: int) -> Chunk | None:
        with self._lock:
            ch = self._lru.get(chunk)
            if ch is not None:
                self._lru.move_to_end(chunk)
                return ch
        with self._connect() as c:
            row = c.execute("SELECT data FROM blobs WHERE chunk = ?", (chunk,)).fetchone()
        if row is None:
            return None
        try:
            return self.put(chunk, bytes(row[0]))
        except zstandard.ZstdError:  # a damaged chunk: its events read as missing, never a crash
            return None

    def put(self, chunk: int, blob: bytes) -> Chunk:
        data = decompress_chunk(blob)
        ch = Chunk(data)
        with self._lock:
            if chunk not in self._lru:
                self._lru[chunk] = ch
                self._size += len(data)
                while self._size > self._budget and len(self._lru) > 1:
                    _, old = self._lru.popitem(last=False)
                    self._size -= len(old.data)
        return ch

    def many(self, chunks: Sequence[int]) -> Iterator[tuple[int, Chunk]]:
        """The chunks, in the order given (those not cached read in one query)."""
        with self._lock:
            missing = [c for c in chunks if c not in self._lru]
        blobs: dict[int, bytes] = {}
        if missing:
            with self._connect() as c:
                for i in range(0, len(missing), 500):
                    part = missing[i : i + 500]
                    q = f"SELECT chunk, data FROM blobs WHERE chunk IN ({','.join('?' * len(part))})"
                    blobs.update((int(k), bytes(v)) for k, v in c.execute(q, part))
        for cid in chunks:
            blob = blobs.get(cid)
            ch = self.put(cid, blob) if blob is not None else self.get(cid)
            if ch is not None:
                yield cid, ch

    def line(self, chunk: int, idx: int) -> bytes | None:
        ch = self.get(chunk)
        if ch is None or not 0 <= idx < ch.n:
            return None
        return ch.line(idx)

    def _cached(self, kind: str, spec: str, chunk: int, make: Callable[[Chunk], Any]) -> Any:
        key = (kind, spec, chunk)
        with self._lock:
            v = self._derived.get(key)
            if v is not None:
                return v
        ch = self.get(chunk)
        v = make(ch) if ch is not None else None
        with self._lock:
            self._derived[key] = v
            if len(self._derived) > 50_000:
                self._derived.popitem(last=False)
        return v

    def word_lines(self, spec: str, chunk: int, ch: Chunk | None = None) -> set[int] | None:
        """The lines of a chunk the words match (None: every line)."""
        m = matcher(spec)
        if ch is not None:
            return m.lines(ch)
        got = self._cached(
            "w", spec, chunk, lambda c: _AllLines if (s := m.lines(c)) is None else s
        )
        return None if got is _AllLines else got  # type: ignore[no-any-return]

    def _words(self, chunk: int, idx: int, spec: str) -> bool:
        lines = self.word_lines(spec, chunk)
        return lines is None or idx in lines

    def _field(self, chunk: int, idx: int, path: str) -> str:
        vals = self._cached("f", path, chunk, lambda c: field_values(c, path))
        if vals is None or not 0 <= idx < len(vals):
            return ""
        return str(vals[idx])

    def _path(self, chunk: int, idx: int, spec: str) -> bool:
        lines = self._cached("p", spec, chunk, lambda c: path_lines(c, spec))
        return lines is not None and idx in lines

    def register(self, c: sqlite3.Connection) -> None:
        c.create_function("tt_words", 3, self._words, deterministic=True)
        c.create_function("tt_field", 3, self._field, deterministic=True)
        c.create_function("tt_path", 3, self._path, deterministic=True)


class _AllLinesType:
    pass


_AllLines = _AllLinesType()
