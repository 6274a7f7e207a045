"""The histogram's counts (each of its query plans: the ts index alone, the chunks the postings
name, a time window) agree with the events the list shows, binned in Python."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trailtui.filter.language import parse
from trailtui.sources.demo import DEMO_END
from trailtui.store.store import Store

FILTERS = [
    "",
    "since:6h",
    "since:2d until:1d",
    "name:StopInstances",
    "name:Stop*",
    "-name:Describe*",
    "error:*",
    "user:mallory",
    "since:1d name:StopInstances",
    "since:3d readonly:false",
    "name:NoSuchEventAnywhere",
    "AssumeRole",
]


@pytest.mark.parametrize("text", FILTERS)
@pytest.mark.parametrize("bins", [1, 7, 100])
def test_histogram_bins_the_filters_events(demo_store: Store, text: str, bins: int) -> None:
    f = parse(text, DEMO_END)
    rng = demo_store.time_range()
    assert rng == demo_store.time_range()
    assert rng is not None
    start, end = rng
    if f.since is not None:
        start = int(f.since.timestamp() * 1000)
    if f.until is not None:
        end = int(f.until.timestamp() * 1000)
    else:
        end = max(end, int((DEMO_END - timedelta(seconds=1)).timestamp() * 1000))
    span = end - start + 1
    want = [0] * bins
    for row in demo_store.window(f, 0, 1_000_000, None):
        if start <= row.ts <= end:
            want[(row.ts - start) * bins // span] += 1
    assert demo_store.histogram(f, start, end, bins) == want


def test_time_range_of_an_empty_scope(demo_store: Store) -> None:
    assert demo_store.time_range([]) is None
    assert demo_store.time_range([-1]) is None
