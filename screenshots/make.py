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
    from trailtui.sources.demo import DEMO_END, ensure_demo_store
    from trailtui.ui.app import TrailApp

    store = ensure_demo_store(Path(os.environ["TRAILTUI_CACHE_DIR"]) / "demo.sqlite")
    app = TrailApp(store, None, "demo:incident", now=DEMO_END, initial_filter=initial)
    async with app.run_test(size=(120, 40)) as pilot:
        app.bar.input.cursor_blink = False
        await settle(pilot)  # type: ignore[arg-type]
        await steps(pilot)
        await settle(pilot)  # type: ignore[arg-type]
        svg = app.export_screenshot(title=f"trailtui — {name}")
    (HERE / f"{name}.svg").write_text(svg, encoding="utf-8")
    store.close()
    print(f"wrote screenshots/{name}.svg")


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


if __name__ == "__main__":
    os.environ.setdefault("TRAILTUI_CACHE_DIR", tempfile.mkdtemp(prefix="trailtui-shots-"))
    os.environ.setdefault("TRAILTUI_CONFIG_DIR", tempfile.mkdtemp(prefix="trailtui-shots-cfg-"))
    asyncio.run(main())
