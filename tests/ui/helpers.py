from __future__ import annotations

from rich.segment import Segment
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from trailtui.ui.app import TrailApp


async def _workers_done(app: TrailApp) -> None:
    while True:
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue  # a superseded worker; wait for the rest


async def settle(pilot: Pilot[int], rounds: int = 50) -> None:
    """Wait until the workers are done and the list has its count (never sleeps blindly)."""
    app = pilot.app
    assert isinstance(app, TrailApp)
    for _ in range(rounds):
        await _workers_done(app)
        await pilot.pause()
        lst = app.event_list
        if (
            lst.total is not None
            and not lst.pending
            and not any(not w.is_finished for w in app.workers)
        ):
            break
    # the detail view follows the cursor after a short debounce
    await pilot.pause(0.1)
    await _workers_done(app)
    await pilot.pause()


def list_segments(app: TrailApp) -> list[list[Segment]]:
    lst = app.event_list
    return [list(lst.render_line(y)) for y in range(lst.size.height)]


def list_text(app: TrailApp) -> list[str]:
    return ["".join(s.text for s in segs).rstrip() for segs in list_segments(app)]
