"""Matching what only the raw record holds: free words (a case-insensitive substring anywhere
in the record's JSON), paths into the record, and the catalogue's fields the cache keeps no
column for.

All work a chunk at a time: a chunk is decompressed once (store/chunks.py keeps the recent
ones), a word (or a term's needle: its key, its key and how its value starts) is looked for
in the whole chunk (Hyperscan when it is installed: several GB/s; else ``bytes.translate`` +
``find``), the hits are turned into line numbers and only those lines are parsed for a term.
The chunk scan (store/scan.py) uses the matchers directly; SQL reaches them through
``tt_lines(chunk, idx, spec)`` (store/chunks.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import orjson

from ..fields import field_of
from ..filter.language import Expr, Term, Word, parse
from ..filter.match import raw_term_match
from ..records.event import loads

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

    __slots__ = ("_folded", "_hits", "_spans", "_starts", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._starts: list[int] | None = None
        self._spans: dict[int, tuple[int, int]] = {}  # lines a needle search found
        self._folded: bytes | None = None
        self._hits: dict[
            bytes, frozenset[int]
        ] = {}  # needle -> its lines (the pass's rules share them)

    @property
    def folded(self) -> bytes:
        """The data in ASCII lower case (made once: every matcher of a pass reads it)."""
        if self._folded is None:
            self._folded = self.data.translate(LOWER)
        return self._folded

    @property
    def starts(self) -> list[int]:  # line i is data[starts[i] : starts[i + 1] - 1]
        if self._starts is None:
            self._starts = line_starts(self.data)
        return self._starts

    @property
    def n(self) -> int:
        return len(self.starts) - 1

    def span(self, i: int) -> tuple[int, int]:
        """Where line i is: data[start:end], its newline left out."""
        sp = self._spans.get(i)
        if sp is None:
            s = self.starts
            sp = (s[i], s[i + 1] - 1)
        return sp

    def line(self, i: int) -> bytes:
        a, b = self.span(i)
        return self.data[a:b]

    def low(self, i: int) -> bytes:
        """Line i in ASCII lower case."""
        a, b = self.span(i)
        if self._folded is not None:
            return self._folded[a:b]
        return self.data[a:b].translate(LOWER)

    def note_hits(self, w: bytes, ends: Iterable[int]) -> None:
        """Where needle w ends in the data (ascending) -> the lines holding it, numbered by
        counting newlines from one hit to the next (C speed), and where they are: the line
        table is never needed for them."""
        if w in self._hits:
            return
        data, n = self.data, len(w)
        out: set[int] = set()
        line = last = 0  # the line number of `last`, the start of a line
        for e in ends:
            p = e - n
            if p < last:  # on the line of the hit before
                continue
            line += data.count(b"\n", last, p)
            out.add(line)
            end = data.find(b"\n", p)
            if end < 0:
                end = len(data)
            if line not in self._spans:
                q = data.rfind(b"\n", last, p)
                self._spans[line] = (q + 1 if q >= 0 else last, end)
            line, last = line + 1, end + 1
        self._hits[w] = frozenset(out)


def line_starts(data: bytes) -> list[int]:
    starts = [0]
    p = data.find(b"\n")
    while p >= 0:
        starts.append(p + 1)
        p = data.find(b"\n", p + 1)
    starts.append(len(data) + 1)
    return starts


Words = tuple[tuple[str, bool], ...]  # (word, negated)


class _Hyperscan:
    """Which of the words a buffer holds at all (caseless ASCII, one pass for all words)."""

    def __init__(self, words: list[bytes]) -> None:
        hs = self.hs = hyperscan_module()
        self.words = words
        self._every: Any = None  # every hit of each word (made when first needed)
        self._lock = threading.Lock()
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

    def note_hits(self, ch: Chunk, which: Iterable[int]) -> None:
        """The lines of the chunk holding these words, from where a second scan finds them
        (their folded text is never made: 0.5 ms a MB); left to the folded text's search
        when they are many (HIT_CAP: one Python call a hit)."""
        which = [i for i in which if self.words[i] not in ch._hits]
        if not which:
            return
        hs = self.hs
        with self._lock:  # scan threads share the matcher: one database, made once
            if self._every is None:
                db = hs.Database(mode=hs.HS_MODE_BLOCK)
                db.compile(
                    expressions=self.words,
                    ids=list(range(len(self.words))),
                    elements=len(self.words),
                    flags=[hs.HS_FLAG_CASELESS] * len(self.words),
                    literal=True,
                )
                self._every = db
        scratch = getattr(self._local, "every", None)
        if scratch is None:
            scratch = self._local.every = hs.Scratch(self._every)
        ends: dict[int, list[int]] = {i: [] for i in which}
        count = [0]

        def on_match(i: int, start: int, end: int, flags: int, ctx: object) -> bool:
            got = ends.get(i)
            if got is not None:
                got.append(end)
                count[0] += 1
            return count[0] > HIT_CAP  # True stops the scan

        try:
            self._every.scan(ch.data, match_event_handler=on_match, scratch=scratch)
        except hs.ScanTerminated:
            return
        for i, e in ends.items():
            ch.note_hits(self.words[i], sorted(e))


HIT_CAP = 64  # a chunk's needle hits taken from Hyperscan one by one, at most


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
        # one word first, alone: most chunks lack it, and one word scans ~2.5x faster than
        # two (Hyperscan, caseless: 5.9 vs 2.4 GB/s on bench/ingest.py's records)
        self._gate = (
            _Hyperscan([max(self.pos, key=len)])
            if self._hs is not None and self.pos and len(every) > 1
            else None
        )

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
        if self._hs is not None:
            if self._gate is not None and not self._gate.present(ch.data):
                return set()
            present = self._hs.present(ch.data)
        else:
            folded = ch.folded
            present = {i for i, w in enumerate(self.pos + self.neg) if w in folded}
        if any(i not in present for i in range(len(self.pos))):
            return set()
        negs = [w for i, w in enumerate(self.neg) if i + len(self.pos) in present]
        if not self.pos and not negs:
            return None
        if self._hs is not None:
            self._hs.note_hits(ch, present)
        out: set[int] | None = None
        for w in self.pos:
            hit = _lines_with(ch, w)
            out = hit if out is None else out & hit
            if not out:
                return set()
        if out is None:
            out = set(range(ch.n))
        for w in negs:
            out -= _lines_with(ch, w)
        return out


def _lines_with(ch: Chunk, w: bytes) -> set[int]:
    """The lines of the chunk that hold the (folded) needle; found once per chunk (from
    Hyperscan's hits, or in the chunk's folded text)."""
    got = ch._hits.get(w)
    if got is None:
        folded = ch.folded
        ends = []
        p = folded.find(w)
        while p >= 0:
            ends.append(p + len(w))
            end = folded.find(b"\n", p)
            if end < 0:
                break
            p = folded.find(w, end + 1)
        ch.note_hits(w, ends)
        got = ch._hits[w]
    return set(got)


def _needle(text: str) -> bytes | None:
    """How a string is written in a chunk's JSON (compact, by orjson), folded; None when it
    can't be said."""
    try:
        return orjson.dumps(text)[1:-1].translate(LOWER)
    except orjson.JSONEncodeError:
        return None


_LITERAL_START = frozenset("-0123456789tfTF")  # a value that may be a JSON number or boolean


def term_needles(t: Term) -> list[frozenset[bytes]]:
    """What the JSON text of a record must hold for a raw-record term (not negated) to match
    it: each set one of whose texts must be there. The key ends the path (``"type":``); when
    every value says how it starts, the key followed by the value (``"type":"root``) or by an
    array (``"type":[``) - in compact JSON a scalar follows its key directly; a glob that
    doesn't say how it starts, its longest literal run anywhere (``*assumed-role*``)."""
    fld = field_of(t.field)
    path = t.field if fld.path else fld.record[0] if len(fld.record) == 1 else ""
    key = _needle(path.rsplit(".", 1)[-1]) if path else None
    if key is None:
        return []
    k = b'"' + key + b'":'
    alts: set[bytes] = {k + b"["}
    anywhere = False
    for v in t.values:
        if v.kind not in ("exact", "glob"):
            return [frozenset([k])]
        start = v.text if v.kind == "exact" else re.split(r"[*?]", v.text)[0]
        if start:
            n = _needle(start)
            if n is None:
                return [frozenset([k])]
            alts.add(k + b'"' + n + (b'"' if v.kind == "exact" else b""))
            if start[0] in _LITERAL_START:
                alts.add(k + n)
            continue
        run = max(re.split(r"[*?]", v.text), key=len)
        n = _needle(run) if len(run) >= 3 else None
        if n is None:
            return [frozenset([k])]
        alts.add(n)
        anywhere = True
    # each holds the key, unless a literal run stands for a value: then the key is asked too
    return [frozenset([k]), frozenset(alts)] if anywhere else [frozenset(alts)]


def _lines_any(ch: Chunk, needles: Iterable[bytes]) -> set[int]:
    out: set[int] = set()
    for n in needles:
        out |= _lines_with(ch, n)
    return out


def _word_needle(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass").translate(LOWER)


def expr_needles(e: Expr) -> list[frozenset[bytes]]:
    """What a record's JSON text must hold for the expression to match it (see
    term_needles): an AND needs its sides', an OR one of each side's, a NOT nothing."""
    if isinstance(e, Term):
        return [] if e.negated else term_needles(e)
    if isinstance(e, Word):
        return [] if e.negated or "\n" in e.text else [frozenset([_word_needle(e.text)])]
    if e.negated:
        return []
    sides = [expr_needles(x) for x in e.items]
    if e.op == "and":
        return [req for side in sides for req in side]
    if any(not side for side in sides):
        return []
    return [frozenset().union(*(side[-1] for side in sides))]


class _Line:
    """One line being decided: its folded text, and its record parsed when first needed."""

    __slots__ = ("_rec", "line", "low")

    def __init__(self, line: bytes, low: bytes) -> None:
        self.line, self.low, self._rec = line, low, _UNPARSED

    @property
    def rec(self) -> Any:
        if self._rec is _UNPARSED:
            try:
                self._rec = loads(self.line)
            except (ValueError, RecursionError):
                self._rec = None
        return self._rec


_UNPARSED = object()


class LineMatcher:
    """What only the raw records hold, against the lines of a chunk: free words (a
    WordMatcher), terms read from the record (paths, and the catalogue's fields the cache
    keeps no column for) and OR / NOT groups of those. Needles pick the lines that may match;
    only those are parsed. ``spec``: those words, terms and groups as filter text."""

    def __init__(self, spec: str) -> None:
        f = parse(spec)
        assert f.since is None and f.until is None, spec
        self.words = WordMatcher(tuple((w.text, w.negated) for w in f.words)) if f.words else None
        # what must hold (terms, groups) with the needles that pick its lines
        self.pos: list[tuple[Expr, list[frozenset[bytes]]]] = [
            (t, term_needles(t)) for t in f.terms if not t.negated
        ]
        self.pos += [(g, expr_needles(g)) for g in f.groups]
        self.neg = [(Term(t.field, t.values), term_needles(t)) for t in f.terms if t.negated]
        every = sorted({n for _, reqs in self.pos for req in reqs for n in req})
        self._hs = _Hyperscan(every) if every and hyperscan_module() is not None else None
        self._ids = {n: i for i, n in enumerate(every)}
        self._needles: dict[Term, list[frozenset[bytes]]] = {}

    def lines(self, ch: Chunk, only: Sequence[int] | None = None) -> set[int] | None:
        """The matching lines (None: every line); of ``only`` those lines when given."""
        out = self.words.lines(ch, only) if self.words is not None else None
        if (not self.pos and not self.neg) or (out is not None and not out):
            return out
        if only is not None:
            out = set(only) if out is None else out & set(only)
            if len(out) * 8 < len(ch.data) // 1024:
                return {i for i in out if self._line(ch.line(i))}
        present: set[int] | None = None
        if self._hs is not None:
            present = self._hs.present(ch.data)
            for _, reqs in self.pos:
                if any(not any(self._ids[n] in present for n in req) for req in reqs):
                    return set()
        for _, reqs in self.pos:
            if not reqs:
                continue
            # the last set says the most (the key and the value): its lines first, the
            # others (the key alone) tested on those lines only
            last = reqs[-1] if present is None else [n for n in reqs[-1] if self._ids[n] in present]
            if self._hs is not None:
                self._hs.note_hits(ch, [self._ids[n] for n in last])
            hit = _lines_any(ch, last)
            out = hit if out is None else out & hit
            for req in reqs[:-1]:
                out = {i for i in out if any(n in ch.low(i) for n in req)}
            if not out:
                return set()
        seen: dict[int, _Line] = {}

        def line(i: int) -> _Line:
            x = seen.get(i)
            if x is None:
                x = seen[i] = _Line(ch.line(i), ch.low(i))
            return x

        if self.pos:
            if out is None:
                out = set(range(ch.n))
            # the needles chose these lines: a term is decided on the record alone
            out = {
                i
                for i in out
                if all(
                    raw_term_match(e, line(i).rec)
                    if isinstance(e, Term)
                    else self._holds(e, line(i))
                    for e, _ in self.pos
                )
            }
        for t, reqs in self.neg:
            maybe = None
            for req in reqs:
                hit = _lines_any(ch, req)
                maybe = hit if maybe is None else maybe & hit
            if maybe is None:
                maybe = set(range(ch.n))
            if out is not None:
                maybe &= out
            drop = {i for i in maybe if raw_term_match(t, line(i).rec)}
            if drop:
                out = (set(range(ch.n)) if out is None else out) - drop
        return out

    def requirements(self) -> list[frozenset[bytes]]:
        """What a chunk must hold for any of its lines to match (each set: one of them)."""
        words = [frozenset([w]) for w in self.words.pos] if self.words is not None else []
        return words + [req for _, reqs in self.pos for req in reqs]

    def _holds(self, e: Expr, ln: _Line) -> bool:
        """One expression on one line (exactly)."""
        if isinstance(e, Word):
            return (_word_needle(e.text) in ln.low) != e.negated
        if isinstance(e, Term):
            reqs = self._needles.get(e)
            if reqs is None:
                reqs = self._needles[e] = term_needles(e)
            hit = all(any(n in ln.low for n in req) for req in reqs) and raw_term_match(e, ln.rec)
            return hit != e.negated
        if e.op == "and":
            return all(self._holds(x, ln) for x in e.items) != e.negated
        return any(self._holds(x, ln) for x in e.items) != e.negated

    def _line(self, line: bytes) -> bool:
        """One line (the few lines a field filter chose)."""
        ln = _Line(line, line.translate(LOWER))
        if not all(self._holds(e, ln) for e, _ in self.pos):
            return False
        for t, reqs in self.neg:
            if all(any(n in ln.low for n in req) for req in reqs) and raw_term_match(t, ln.rec):
                return False
        return True


class ChunkScan:
    """Which of many needles a chunk holds (caseless, one pass; Hyperscan when installed)."""

    def __init__(self, needles: list[bytes]) -> None:
        self.needles = needles
        self._hs = _Hyperscan(needles) if needles and hyperscan_module() is not None else None

    def present(self, ch: Chunk) -> set[int]:
        if not self.needles:
            return set()
        if self._hs is not None:
            return self._hs.present(ch.data)
        folded = ch.folded
        return {i for i, n in enumerate(self.needles) if n in folded}


@lru_cache(maxsize=64)
def matcher(spec: str) -> LineMatcher:
    return LineMatcher(spec)


class SpecScan:
    """Which of many raw-record specs a chunk may match: one scan of it for all their
    needles (a spec with none may match any chunk)."""

    def __init__(self, specs: Sequence[str]) -> None:
        reqs = [matcher(s).requirements() for s in specs]
        needles = sorted({n for r in reqs for req in r for n in req})
        number = {n: i for i, n in enumerate(needles)}
        self._wanted = [[frozenset(number[n] for n in req) for req in r] for r in reqs]
        self._scan = ChunkScan(needles)

    def may(self, ch: Chunk) -> list[int]:
        """The specs (their positions) whose every requirement the chunk meets."""
        present = self._scan.present(ch)
        return [
            j
            for j, need in enumerate(self._wanted)
            if all(not req.isdisjoint(present) for req in need)
        ]
