"""The explorer's who line asks only whether the origin's IP is seen anywhere else (one event
looked for): it says so exactly when the full chain's ip_note does (two counts)."""

from __future__ import annotations

import sqlite3

import pytest

from trailtui.filter.language import Filter, parse
from trailtui.investigate.identity import only_here, who
from trailtui.store.store import Store


def test_only_here_agrees_with_ip_note(demo_store: Store) -> None:
    rows = demo_store.window(Filter(), 0, 40) + demo_store.window(
        parse("name:StopInstances"), 0, 20
    )
    seen = {True: 0, False: 0}
    for row in rows:
        full = who(demo_store, row.event_id)
        quick = who(demo_store, row.event_id, ip_counts=False)
        assert full is not None and quick is not None
        assert quick.ip_note == ""
        assert [x.to_json() for x in quick.links] == [x.to_json() for x in full.links]
        assert (quick.origin, quick.origin_kind) == (full.origin, full.origin_kind)
        alone = only_here(demo_store, quick)
        assert alone == ("seen nowhere else" in full.ip_note), (row.event_id, full.ip_note)
        seen[alone] += 1
    assert seen[True] and seen[False]  # both answers were asked


def test_only_here_stops_when_cancelled(demo_store: Store) -> None:
    for row in demo_store.window(parse("name:StopInstances"), 0, 20):
        chain = who(demo_store, row.event_id, ip_counts=False)
        if (
            chain is not None
            and chain.links[-1].source_ip[:1].isdigit()
            and any(link.access_key for link in chain.links)
        ):
            with pytest.raises(sqlite3.OperationalError):
                only_here(demo_store, chain, lambda: True)
            return
    raise AssertionError("no chain with an IP and a key in the demo")
