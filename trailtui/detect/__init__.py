"""Detections: Sigma rules for CloudTrail, each compiled to one filter of the filter language
(compile.py), loaded from a file or folder (rules.py) and run over the cache (run.py)::

    rules, skipped = load_rules(path)          # a Ruleset: .rules, .skipped, .ignored
    results = run(store, rules, window, scope)  # one cache query per rule
    for r in by_level(results): r.rule.title, r.count, r.first, r.last, r.rowids
"""

from __future__ import annotations

from .rules import Rule, Ruleset, Skipped, load_rules
from .run import Result, by_level, event_ids, rule_filter, run

__all__ = [
    "Result",
    "Rule",
    "Ruleset",
    "Skipped",
    "by_level",
    "event_ids",
    "load_rules",
    "rule_filter",
    "run",
]
