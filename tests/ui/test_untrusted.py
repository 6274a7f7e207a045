"""CloudTrail text is attacker-controlled: nothing in it may act as markup or a control
sequence in the list or the detail viewer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.segment import Segment
from textual.strip import Strip

from trailtui.records.event import parse_record
from trailtui.store.store import Row, Store
from trailtui.ui.app import TrailApp

from .helpers import list_segments, settle

PAYLOADS = [
    "[bold red]x[/]",
    "[link=https://evil.example]x[/link]",
    "\x1b[2J\x1b[31mCSI",
    "\x1b]8;;https://evil.example\x07osc8\x1b]8;;\x07",
    "\u202eevil-bidi\u202c",
    "nul\x00byte",
    "\x9bc1-csi",
]


def _records() -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(PAYLOADS):
        out.append(
            {
                "eventID": f"evil-{i}",
                "eventTime": f"2024-05-01T00:00:{i:02d}Z",
                "eventName": p,
                "eventSource": "ec2.amazonaws.com",
                "userIdentity": {
                    "type": "IAMUser",
                    "userName": p,
                    "arn": f"arn:aws:iam::1:user/{p}",
                },
                "userAgent": p,
                "sourceIPAddress": p,
                "errorCode": p,
                "errorMessage": p,
                "requestParameters": {"evil": p, p: p},
                "resources": [{"ARN": p, "type": "AWS::X::Y"}],
            }
        )
    return out


def _check_segments(segs: list[Segment], where: str) -> None:
    for seg in segs:
        text = seg.text
        assert "\x1b" not in text and "\x00" not in text and "\x9b" not in text, (where, text)
        assert "\u202e" not in text and "\u202c" not in text, (where, text)
        assert not any(ord(c) < 0x20 for c in text), (where, repr(text))
        if seg.style is not None:
            assert not seg.style.link, (where, seg.style)


async def test_hostile_fields_in_list_and_detail(tmp_path: Path) -> None:
    store = Store(tmp_path / "evil.sqlite")
    store.ingest([parse_record(r) for r in _records()], "evil")
    app = TrailApp(store, None, "evil")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        assert app.event_list.total == len(PAYLOADS)
        rows = list_segments(app)
        for segs in rows:
            _check_segments(segs, "list")
        text = "\n".join("".join(s.text for s in segs) for segs in rows)
        assert "[bold red]x[/]" in text  # markup stays literal text
        assert "[link=https://evil" in text
        for i in range(len(PAYLOADS)):
            app.event_list.cursor = i
            await settle(pilot)
            tree = app.detail.event_tree
            for y in range(tree.size.height):
                _check_segments(list(tree.render_line(y)), f"tree {i}")
            title = app.query_one("#detail-title")
            _check_segments(list(title.render_line(0)), "title")  # type: ignore[attr-defined]
            await pilot.press("enter", "t")  # the highlighted JSON view
            await pilot.pause()
            body = app.query_one("#detail-json-body")
            for y in range(min(body.size.height, 60)):
                strip: Strip = body.render_line(y)  # type: ignore[attr-defined]
                _check_segments(list(strip), f"json {i}")
            await pilot.press("t", "escape")
        app.event_list.cursor = 0  # the "[bold red]x[/]" event (newest last: index 6)
        app.event_list.cursor = len(PAYLOADS) - 1
        await settle(pilot)
        labels = [str(n.label) for n in app.detail.event_tree.root.children]
        assert any('"[bold red]x[/]"' in lbl for lbl in labels), labels
    store.close()


class SlowStore(Store):
    """A source made 2 s slow per call."""

    def window(self, *a: Any, **kw: Any) -> list[Row]:
        time.sleep(2)
        return super().window(*a, **kw)

    def count(self, *a: Any, **kw: Any) -> int:
        time.sleep(2)
        return super().count(*a, **kw)

    def histogram(self, *a: Any, **kw: Any) -> list[int]:
        time.sleep(2)
        return super().histogram(*a, **kw)

    def facet(self, *a: Any, **kw: Any) -> list[tuple[str, int]]:
        time.sleep(2)
        return super().facet(*a, **kw)


async def test_keys_stay_responsive_with_a_slow_source(demo_db: Path) -> None:
    store = SlowStore(demo_db)
    app = TrailApp(store, None, "slow")
    async with app.run_test(size=(120, 40)) as pilot:
        # the app's own start first (its first layout, ~0.3 s): no store call on the way either
        t = time.perf_counter()
        await pilot.pause()
        assert time.perf_counter() - t < 2.0
        waits: list[float] = []

        async def press(*keys: str) -> None:
            for key in keys:
                t = time.perf_counter()
                await pilot.press(key)
                waits.append(time.perf_counter() - t)

        await press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await press("q", "slash", *"user:sk")
        assert app.bar.input.value == "user:sk"
        await press("enter")  # a new filter while the first is still loading
        await press("w", "L", "j", "k")
        # each call to the store takes 2 s; no key waited for one
        assert max(waits) < 1.0, waits
        assert app.event_list.total is None  # still loading, and that's fine
        await settle(pilot, rounds=200)
        assert app.filter_text == "user:sk"
        assert app.event_list.total == Store.count(store, app.filter)
    store.close()
