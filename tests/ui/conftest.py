from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trailtui.sources.demo import DEMO_END
from trailtui.store.store import Store
from trailtui.ui.app import TrailApp


@pytest.fixture
def make_app(demo_db: Path) -> Callable[..., TrailApp]:
    stores: list[Store] = []

    def make(**kw: object) -> TrailApp:
        store = Store(demo_db)
        stores.append(store)
        return TrailApp(store, None, "demo:incident", now=DEMO_END, **kw)  # type: ignore[arg-type]

    yield make  # type: ignore[misc]
    for s in stores:
        s.close()
