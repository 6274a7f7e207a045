"""The filter pushed down to CloudTrail LookupEvents: one attribute per call sequence, the
rest applied locally."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from ..fields import CATALOGUE, FIELDS
from .language import Filter

# filter field -> LookupEvents AttributeKey, most selective first (DESIGN.md). user: is
# not pushed: the API's Username is the IAM user name or the *session* name, while user:
# also matches role names, display names and ARNs, so Username=X would drop events that
# match (a role's sessions, for user:RoleName) and the answer would be wrong.
PUSHDOWN_ORDER: tuple[tuple[str, str], ...] = tuple(
    (f.name, f.lookup) for f in sorted(CATALOGUE, key=lambda f: f.lookup_rank) if f.lookup
)

MAX_PUSHDOWN_CALLS = 5


@dataclass(slots=True)
class PushdownPlan:
    """How to ask LookupEvents for a superset of the filter's events.

    ``calls`` holds one LookupAttributes list per API call sequence (each with at most one
    attribute; ``[]`` = no attribute, every event of the window). Everything else in the
    filter is applied locally to what comes back.
    """

    calls: list[list[dict[str, str]]]
    start: datetime | None
    end: datetime | None
    pushed: str = ""  # the filter field sent to the API, '' for none

    @property
    def full_scan(self) -> bool:
        return not self.pushed


def pushdown(f: Filter) -> PushdownPlan:
    for fname, key in PUSHDOWN_ORDER:
        for t in f.terms:
            if t.field != fname or t.negated or len(t.values) > MAX_PUSHDOWN_CALLS:
                continue
            if not all(v.kind in ("exact", "bool") for v in t.values):
                continue
            vals: list[str] = []
            for v in t.values:
                expand = FIELDS[fname].expand
                vals.append(expand(v.text)[-1] if expand is not None else v.text)
            calls = [[{"AttributeKey": key, "AttributeValue": x}] for x in dict.fromkeys(vals)]
            return PushdownPlan(calls, f.since, f.until, fname)
    return PushdownPlan([[]], f.since, f.until, "")
