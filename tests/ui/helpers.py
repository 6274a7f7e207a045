from __future__ import annotations

from rich.segment import Segment
from textual.pilot import Pilot
from textual.timer import Timer
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
    # the detail view follows the cursor after a short debounce, and an event's instance strip
    # after a longer rest (STRIP_AFTER): until their timers have fired, then their workers
    await pilot.pause(0.1)
    for _ in range(rounds):
        if not any(_pending(t) for t in (app._detail_timer, app._strip_timer)):
            break
        await pilot.pause(0.05)
    await _workers_done(app)
    await pilot.pause()


def _pending(timer: Timer | None) -> bool:
    """A timer set and not fired yet (nor stopped)."""
    task = None if timer is None else timer._task
    return task is not None and not task.done()


def list_segments(app: TrailApp) -> list[list[Segment]]:
    lst = app.event_list
    return [list(lst.render_line(y)) for y in range(lst.size.height)]


def list_text(app: TrailApp) -> list[str]:
    return ["".join(s.text for s in segs).rstrip() for segs in list_segments(app)]
