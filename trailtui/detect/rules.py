"""Sigma rules from a file or a folder: pySigma reads them, the CloudTrail ones (logsource
product aws, service cloudtrail) are compiled to one filter each (compile.py); every rule that
can't be evaluated exactly is kept with the reason, never half-evaluated.

Rule files are hostile input: files over MAX_FILE bytes, YAML pySigma can't read (alias bombs,
nesting past Python's recursion limit, non-UTF-8 text), rules with errors are each one skipped
entry; files that are not ``.yml``/``.yaml`` are ignored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..filter.language import Filter
from .compile import Unsayable, any_of, check, condition_expr, modifier_problems

MAX_FILE = 1024 * 1024  # bytes of one rule file (SigmaHQ's are a few kB)
MAX_FILES = 20_000  # rule files read from one folder
LEVELS = ("informational", "low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Rule:
    """A CloudTrail Sigma rule said as one filter."""

    id: str
    title: str
    level: str  # informational, low, medium, high, critical, or '' when the rule has none
    path: str  # the file it came from
    filter_text: str
    filter: Filter

    @property
    def rank(self) -> int:
        """Its level's rank (0: none, 1: informational ... 5: critical)."""
        return LEVELS.index(self.level) + 1 if self.level in LEVELS else 0


@dataclass(frozen=True, slots=True)
class Skipped:
    """A rule (or a file) that is not evaluated, and why (one line)."""

    id: str
    title: str
    path: str
    reason: str


@dataclass(slots=True)
class Ruleset:
    """What a file or folder held: the rules, the skipped, and how many rules were for other
    log sources (not CloudTrail: ignored). ``rules, skipped = load_rules(p)`` works too."""

    rules: list[Rule] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    ignored: int = 0
    files: int = 0

    def __iter__(self) -> Iterator[Any]:
        return iter((self.rules, self.skipped))


def one_line(text: object, limit: int = 300) -> str:
    s = re.sub(r"\s+", " ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def rule_files(path: Path) -> list[Path]:
    """The .yml/.yaml files of a folder (every level; symlinked folders not followed), sorted;
    a file is itself whatever its name."""
    if not path.is_dir():
        return [path]
    out: list[Path] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith((".yml", ".yaml")):
                out.append(Path(root) / name)
                if len(out) >= MAX_FILES:
                    return out
    return out


def load_rules(path: Path) -> Ruleset:
    """The CloudTrail rules of a Sigma rule file or folder (raises OSError when the path
    can't be read at all)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    out = Ruleset()
    for p in rule_files(path):
        out.files += 1
        load_file(p, out)
    return out


def load_file(p: Path, out: Ruleset) -> None:
    """The rules of one file, added to ``out``."""
    try:
        size = p.stat().st_size
        if size > MAX_FILE:
            out.skipped.append(
                Skipped("", p.name, str(p), f"file of {size:,} bytes: over {MAX_FILE:,}")
            )
            return
        text = p.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        out.skipped.append(Skipped("", p.name, str(p), one_line(f"can't read the file: {e}")))
        return
    load_text(text, str(p), out)


def load_text(text: str, where: str, out: Ruleset) -> None:
    """The rules of one YAML text (one or several documents), added to ``out``."""
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaRuleLocation

    name = Path(where).name
    try:
        coll = SigmaCollection.from_yaml(
            text,
            collect_errors=True,
            source=SigmaRuleLocation(Path(where)),
            resolve_references=False,
        )
    except RecursionError:
        out.skipped.append(Skipped("", name, where, "YAML nested too deep to read"))
        return
    except Exception as e:  # yaml errors, pySigma errors: whatever the file holds
        out.skipped.append(Skipped("", name, where, one_line(f"pySigma can't read it: {e}")))
        return
    if not coll.rules and coll.errors:
        out.skipped.append(Skipped("", name, where, one_line(f"pySigma: {coll.errors[0]}")))
        return
    for r in coll.rules:
        _add_rule(r, where, out)


def _add_rule(r: Any, where: str, out: Ruleset) -> None:
    """One pySigma rule: a Rule, a Skipped, or ignored (another log source)."""
    rid = str(r.id) if getattr(r, "id", None) else ""
    title = str(getattr(r, "title", "") or "")
    kind = type(r).__name__
    if kind != "SigmaRule":
        what = "a correlation rule" if kind == "SigmaCorrelationRule" else f"a {kind}"
        out.skipped.append(
            Skipped(rid, title, where, f"{what}: it relates several events; not evaluated")
        )
        return
    if r.errors:
        out.skipped.append(Skipped(rid, title, where, one_line(f"pySigma: {r.errors[0]}")))
        return
    ls = r.logsource
    if (ls.product or "").lower() != "aws" or (ls.service or "").lower() != "cloudtrail":
        out.ignored += 1
        return
    level = str(r.level.name).lower() if r.level is not None else ""
    try:
        text_, f = compile_rule(r)
    except Unsayable as e:
        out.skipped.append(Skipped(rid, title, where, one_line(e)))
        return
    out.rules.append(Rule(rid, title, level, where, text_, f))


def compile_rule(r: Any) -> tuple[str, Filter]:
    """A pySigma rule's filter text and Filter. Raises Unsayable with the reason."""
    from sigma.exceptions import SigmaError

    det = r.detection
    if "timeframe" in det.detections:
        raise Unsayable("timeframe: it counts events over time; not evaluated")
    why = modifier_problems(det.detections.values())
    if why:
        raise Unsayable(why)
    try:
        exprs = [condition_expr(c.parsed) for c in det.parsed_condition]
    except SigmaError as e:
        raise Unsayable(one_line(f"condition: {e}")) from None
    except RecursionError:
        raise Unsayable("the condition is nested too deep") from None
    return check(any_of(exprs))
