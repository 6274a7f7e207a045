"""Every path trailtui uses, from platformdirs, each overridable by an environment variable."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

APP = "trailtui"


def _dir(env: str, kind: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(getattr(platformdirs, kind)(APP, appauthor=False))


def cache_dir() -> Path:
    """SQLite caches (TRAILTUI_CACHE_DIR)."""
    return _dir("TRAILTUI_CACHE_DIR", "user_cache_dir")


def config_dir() -> Path:
    """Bookmarks, key map, settings (TRAILTUI_CONFIG_DIR)."""
    return _dir("TRAILTUI_CONFIG_DIR", "user_config_dir")


def data_dir() -> Path:
    """Cases, pins, exports by default (TRAILTUI_DATA_DIR)."""
    return _dir("TRAILTUI_DATA_DIR", "user_data_dir")


def default_cache_db() -> Path:
    return cache_dir() / "events.sqlite"


def demo_cache_db() -> Path:
    return cache_dir() / "demo.sqlite"


def ensure_private_dir(path: Path) -> Path:
    """Create a folder readable by its owner only (audit data lives there)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path
