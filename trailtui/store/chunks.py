"""Raw records read back from their chunks: the recent chunks kept decompressed (within a byte
budget), the lines a scan matched kept for reading the page it found, and what the matchers
of store/words.py gave for a chunk kept for the next row of the same chunk (SQL's
``tt_lines(chunk, idx, spec)``, which asks row by row)."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import zstandard

from .codec import decompress_chunk
from .words import Chunk, matcher

Connect = Callable[[], AbstractContextManager[sqlite3.Connection]]
FOUND_BYTES = 4 * 1024**2  # matched lines a ChunkReader keeps (a page or two of a scan's finds)


class ChunkReader:
    """Decompressed chunks of one cache, the most recent kept (up to ``budget`` bytes), and
    what the word matchers and field paths gave for them."""

    def __init__(self, connect: Connect, budget: int = 6 * 1024**2) -> None:
        self._connect = connect
        self._budget = budget
        self._lru: OrderedDict[int, Chunk] = OrderedDict()
        self._size = 0
        self._derived: OrderedDict[tuple[str, str, int], Any] = OrderedDict()
        self._hot: dict[str, tuple[int, set[int] | None]] = {}  # tt_lines: spec -> last chunk
        # lines a scan matched, kept so the page it found is read without its chunks again
        self._found: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._found_bytes = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._found.clear()
            self._found_bytes = 0
            self._lru.clear()
            self._derived.clear()
            self._hot.clear()
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
            try:
                ch = self.put(cid, blob) if blob is not None else self.get(cid)
            except zstandard.ZstdError:  # a damaged chunk: its events read as missing
                continue
            if ch is not None:
                yield cid, ch

    def keep_lines(self, chunk: int, ch: Chunk, lines: Iterable[int]) -> None:
        """Remember these lines of a chunk a scan read (the most recent, up to FOUND_BYTES)."""
        got = [((chunk, i), ch.line(i)) for i in lines]
        with self._lock:
            for k, line in got:
                old = self._found.pop(k, None)
                self._found_bytes += len(line) - (len(old) if old is not None else 0)
                self._found[k] = line
            while self._found_bytes > FOUND_BYTES and self._found:
                self._found_bytes -= len(self._found.popitem(last=False)[1])

    def line(self, chunk: int, idx: int) -> bytes | None:
        with self._lock:
            kept = self._found.get((chunk, idx))
        if kept is not None:
            return kept
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
        """The lines of a chunk the raw-record spec matches (None: every line)."""
        m = matcher(spec)
        if ch is not None:
            return m.lines(ch)
        got = self._cached(
            "w", spec, chunk, lambda c: _AllLines if (s := m.lines(c)) is None else s
        )
        if got is None:  # a damaged or missing chunk: nothing in it matches
            return set()
        return None if got is _AllLines else got  # type: ignore[no-any-return]

    def _lines(self, chunk: int, idx: int, spec: str) -> bool:
        # SQL asks row by row, a chunk's rows one after another: the last answer per spec
        hot = self._hot.get(spec)
        if hot is not None and hot[0] == chunk:
            lines = hot[1]
        else:
            lines = self.word_lines(spec, chunk)
            if len(self._hot) > 64:
                self._hot.clear()
            self._hot[spec] = (chunk, lines)
        return lines is None or idx in lines

    def register(self, c: sqlite3.Connection) -> None:
        c.create_function("tt_lines", 3, self._lines, deterministic=True)


class _AllLinesType:
    pass


_AllLines = _AllLinesType()
