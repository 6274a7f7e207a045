"""Regenerate the SVG screenshots of the main states from the demo.

uv run python screenshots/make.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.ui.helpers import settle  # noqa: E402  (the tests' wait: workers done, list counted)


async def shoot(name: str, steps: Callable[[object], Awaitable[None]], initial: str = "") -> None:
    from trailtui.detect.demo import DEMO_RULES
    from trailtui.sources.demo import DEMO_END, ensure_demo_store
    from trailtui.ui.app import TrailApp

    store = ensure_demo_store(Path(os.environ["TRAILTUI_CACHE_DIR"]) / "demo.sqlite")
    app = TrailApp(
        store, None, "demo:incident", now=DEMO_END, initial_filter=initial, rules=DEMO_RULES
    )
    async with app.run_test(size=(120, 40)) as pilot:
        app.bar.input.cursor_blink = False
        await settle(pilot)  # type: ignore[arg-type]
        await steps(pilot)
        await settle(pilot)  # type: ignore[arg-type]
        svg = app.export_screenshot(title=f"trailtui — {name}")
    (HERE / f"{name}.svg").write_text(svg, encoding="utf-8")
    store.close()
    print(f"wrote screenshots/{name}.svg")


async def shoot_follow() -> None:
    """Follow mode on a folder being written to: the demo's events re-timed to the last hour,
    five more delivered while the explorer follows (the cursor stays on its event)."""
    import gzip
    import json
    from datetime import UTC, datetime, timedelta

    from trailtui.filter.language import Filter
    from trailtui.sources.base import Follow
    from trailtui.sources.demo import ensure_demo_store
    from trailtui.sources.folder import FolderTrail
    from trailtui.store.store import Store
    from trailtui.ui.app import TrailApp

    demo = ensure_demo_store(Path(os.environ["TRAILTUI_CACHE_DIR"]) / "demo.sqlite")
    raws = [json.loads(raw) for _, raw in demo.iter_raw(Filter(), None, 45)]
    demo.close()
    now = datetime.now(UTC).replace(microsecond=0)
    for i, r in enumerate(raws):
        r["eventTime"] = (now - timedelta(seconds=40 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    folder = Path(tempfile.mkdtemp(prefix="trailtui-follow-"))

    def deliver(name: str, recs: list[dict[str, object]]) -> None:
        with gzip.open(folder / name, "wt") as fh:
            json.dump({"Records": recs}, fh)

    deliver("111122223333_CloudTrail_us-east-1_1.json.gz", raws[5:])
    store = Store(folder / "cache.sqlite")
    src = FolderTrail([folder])
    src.follow = Follow(0.3, timedelta(minutes=20), "looking for new files every 3 s")
    app = TrailApp(store, None, str(folder), sources=[src], follow=True)
    async with app.run_test(size=(120, 40)) as pilot:
        app.bar.input.cursor_blink = False
        for _ in range(100):
            await pilot.pause(0.05)
            if app.event_list.total == 40:
                break
        await pilot.press("j", "j", "j")
        for i, r in enumerate(raws[:5]):
            r["eventTime"] = (now + timedelta(seconds=20 + i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        deliver("111122223333_CloudTrail_us-east-1_2.json.gz", raws[:5])
        for _ in range(100):
            await pilot.pause(0.05)
            if app.event_list.total == 45 and app.event_list.cursor == 8 and app.event_list.current:
                break
        await pilot.pause(0.5)
        svg = app.export_screenshot(title="trailtui — follow")
    (HERE / "follow.svg").write_text(svg, encoding="utf-8")
    store.close()
    print("wrote screenshots/follow.svg")


async def main() -> None:
    async def nothing(p: object) -> None:
        return None

    async def completion(p: object) -> None:
        await p.press("slash", *"user:sk")  # type: ignore[attr-defined]

    async def tree(p: object) -> None:
        await p.press("enter", *["down"] * 7)  # type: ignore[attr-defined]

    async def help_(p: object) -> None:
        await p.press("question_mark")  # type: ignore[attr-defined]

    async def history(p: object) -> None:
        await p.press("h")  # type: ignore[attr-defined]

    async def who(p: object) -> None:
        await p.press("i")  # type: ignore[attr-defined]

    async def picker(p: object) -> None:
        from trailtui.evidence.bookmarks import Bookmark, Bookmarks

        for name, f, w in (
            ("incident", "name:StopInstances resource:i-0badc0ffee0000001", ""),
            ("errors this week", "error:*", "7d"),
            ("mallory", "user:mallory", ""),
            ("console without MFA", 'name:ConsoleLogin "\\"MFAUsed\\":\\"No\\""', ""),
        ):
            Bookmarks().save(Bookmark(name, f, window=w))
        await p.press("b")  # type: ignore[attr-defined]

    async def detections(p: object) -> None:
        from trailtui.ui.screens.detections import DetectionsScreen

        await p.press("D")  # type: ignore[attr-defined]
        for _ in range(200):
            await p.pause(0.05)  # type: ignore[attr-defined]
            s = p.app.screen  # type: ignore[attr-defined]
            if isinstance(s, DetectionsScreen) and s.result is not None:
                return

    async def pins(p: object) -> None:
        await p.press("m", *"night stop; key issued to mallory 3 min before", "enter")  # type: ignore[attr-defined]
        await p.press("P")  # type: ignore[attr-defined]

    incident = "name:StopInstances resource:i-0badc0ffee0000001"
    await shoot("bookmarks", picker)
    await shoot("pins", pins, incident)
    await shoot("history", history, "resource:i-0d15ea5e0000000a1 name:StopInstances")
    await shoot("who", who, incident)
    await shoot("main", nothing)
    await shoot("completion", completion)
    await shoot("detail-tree", tree, incident)
    await shoot("help", help_)
    await shoot("detections", detections)
    await shoot_follow()


if __name__ == "__main__":
    os.environ.setdefault("TRAILTUI_CACHE_DIR", tempfile.mkdtemp(prefix="trailtui-shots-"))
    os.environ.setdefault("TRAILTUI_CONFIG_DIR", tempfile.mkdtemp(prefix="trailtui-shots-cfg-"))
    asyncio.run(main())
