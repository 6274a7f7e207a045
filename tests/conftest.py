from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the real home: every trailtui path points into tmp."""
    monkeypatch.setenv("TRAILTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRAILTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TRAILTUI_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated demo cache for the whole session (tests copy it if they write)."""
    from trailtui.sources.demo import ensure_demo_store

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    ensure_demo_store(path).close()
    return path


@pytest.fixture
def demo_store(demo_db: Path) -> Iterator[object]:
    from trailtui.store import Store

    s = Store(demo_db)
    yield s
    s.close()


def real_files() -> list[Path]:
    return sorted(
        p for p in REAL.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".gz")
    )
