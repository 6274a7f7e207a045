"""The explorer on a 1M-event cache, measured inside the app.

    uv run python bench/tui.py [N]

TRAILTUI_BENCH_PAINTS=K runs each first paint K times (7); TRAILTUI_BENCH_PAINT_ONLY=1 stops
after the first paint figures.

Prints: process start -> first painted list (a real process in tmux; the app notes the
moment its first window is on screen: the first frame written with it, and the app idle after
it), beside a bare Textual app's first frame in the same run; filter change -> repainted first
window (p95); work per cursor move and per page down (p95); peak RSS.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bigcache import big_cache

FILTERS = [
    "name:StopInstances",
    "user:mallory",
    "-name:Describe*,Decrypt",
    "error:*",
    "ip:203.0.113.0/24",
    "resource:i-0badc0ffee0000001",
    "user:skeddly-*",
    "readonly:false region:eu-west-1",
    "name:Stop*",
    "key:ASIAMALL0RYEXAMPLE01",
    "",
    "source:iam readonly:false",
]


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


HOOK = Path(__file__).resolve().parent / "_firstpaint.py"


def first_paint(cache: Path | None, runs: int = 7) -> list[tuple[float, float, float, float]]:
    """(seconds from spawn to the app idle after its first painted frame, RSS MB, process
    age then, seconds from spawn to that frame): the explorer on the cache, or a bare Textual
    app (Static + Footer) when cache is None."""
    out = []
    for _ in range(runs):
        mark = Path(tempfile.mktemp(prefix="trailtui-paint-"))
        name = f"bench-{uuid.uuid4().hex[:6]}"
        # as a user's machine runs it: bytecode cached (an environment that forbids writing it
        # makes every start compile ~500 modules, the bare app's and ours alike)
        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        what = "bare" if cache is None else f"trailtui --cache {cache}"
        t0 = time.time()
        # a private tmux server (-L), so the app gets this environment
        subprocess.run(
            ["tmux", "-L", name, "new-session", "-d", "-s", name, "-x", "120", "-y", "40",
             f"{sys.executable} {HOOK} {mark} {what}"],
            env=env, check=True,
        )  # fmt: skip
        deadline = time.time() + 30
        while not mark.exists() and time.time() < deadline:
            time.sleep(0.01)
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)
        if mark.exists():
            when, rss_kb, age, frame = mark.read_text().split()
            out.append((float(when) - t0, float(rss_kb) / 1024, float(age), float(frame) - t0))
            mark.unlink()
    return out


async def in_app(cache: Path) -> dict[str, list[float]]:
    from trailtui.store.store import Store
    from trailtui.ui.app import TrailApp

    store = Store(cache)
    app = TrailApp(store, None, "bench")
    res: dict[str, list[float]] = {"filter": [], "move": [], "pagedown": []}
    async with app.run_test(size=(120, 40)) as pilot:
        lst = app.event_list

        async def until_first_window() -> None:
            """Until the first page is in and the screen refresh after it has run."""
            while 0 not in lst.pages:
                await asyncio.sleep(0.001)
            painted = asyncio.Event()
            app.call_after_refresh(painted.set)
            await painted.wait()

        await until_first_window()
        for _ in range(3):
            for text in FILTERS:
                t = time.perf_counter()
                app.set_filter_text(text)
                await until_first_window()
                res["filter"].append(time.perf_counter() - t)
        app.set_filter_text("")
        await until_first_window()
        while lst.total is None:
            await asyncio.sleep(0.01)
        h = lst.size.height

        def paint() -> None:
            for y in range(h):
                lst.render_line(y)

        for action, key in ((lst.action_cursor_down, "move"), (lst.action_page_down, "pagedown")):
            for _ in range(300):
                t = time.perf_counter()
                action()
                paint()
                res[key].append(time.perf_counter() - t)
                await pilot.pause()  # let page fetches land, as between real key presses
    store.close()
    return res


def main() -> None:
    if sys.argv[1:2] == ["--in-app"]:
        return in_app_report(Path(sys.argv[2]))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    cache = big_cache(n)
    # interleaved, so both see the same machine load; one run each first writes the bytecode
    first_paint(None, 1)
    first_paint(cache, 1)
    paints: list[tuple[float, float, float, float]] = []
    bares: list[tuple[float, float, float, float]] = []
    runs = int(os.environ.get("TRAILTUI_BENCH_PAINTS", "7"))
    for _ in range(runs):
        bares += first_paint(None, 1)
        paints += first_paint(cache, 1)
    secs = [p[0] for p in paints]
    ages = [p[2] for p in paints]
    frames = [p[3] for p in paints]
    bare = statistics.median(p[0] for p in bares)
    bare_frame = statistics.median(p[3] for p in bares)
    # each run against the bare app started just before it (the machine's load drifts)
    pairs = [p[0] - b[0] for p, b in zip(paints, bares, strict=True)]
    frame_pairs = [p[3] - b[3] for p, b in zip(paints, bares, strict=True)]
    print(f"cache: {cache} ({n:,} events)")
    print(
        f"start -> first painted list: median {statistics.median(secs):.3f}s  max {max(secs):.3f}s "
        f"from the bench's spawn via tmux; median {statistics.median(ages):.2f}s by the process's "
        f"own age (/proc, 10 ms ticks)  ({len(secs)} runs; RSS then "
        f"{max(p[1] for p in paints):.0f} MB)"
    )
    print(
        f"a bare Textual app (Static + Footer), same run: median {bare:.3f}s  "
        f"max {max(p[0] for p in bares):.3f}s; the explorer is "
        f"+{statistics.median(secs) - bare:.3f}s after it (target <= +0.1s; "
        f"run by run: median +{statistics.median(pairs):.3f}s)"
    )
    print(
        f"the first frame written with the list: median {statistics.median(frames):.3f}s; "
        f"the bare app's first frame {bare_frame:.3f}s: +{statistics.median(frames) - bare_frame:.3f}s "
        f"(run by run: median +{statistics.median(frame_pairs):.3f}s)"
    )
    if os.environ.get("TRAILTUI_BENCH_PAINT_ONLY"):
        return
    # the in-app figures come from a fresh process, so its peak RSS is the app's alone
    subprocess.run([sys.executable, __file__, "--in-app", str(cache)], check=True)


def in_app_report(cache: Path) -> None:
    r = asyncio.run(in_app(cache))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"filter change -> first window: p95 {p95(r['filter']) * 1000:.1f}ms  median {statistics.median(r['filter']) * 1000:.1f}ms  (target p95 <= 100ms, {len(r['filter'])} changes)"
    )
    print(f"cursor move: p95 {p95(r['move']) * 1000:.2f}ms  (target <= 16ms)")
    print(f"page down:   p95 {p95(r['pagedown']) * 1000:.2f}ms  (target <= 16ms)")
    print(
        f"peak RSS of the app after {len(r['filter'])} filter changes and 600 moves: {rss:.0f} MB  (target <= 200 MB)"
    )


if __name__ == "__main__":
    main()
