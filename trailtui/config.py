"""The settings file (TOML in the config dir): key remapping for now.

A hand-edited file with an error is reported with the file, the line and the problem; the app
starts anyway, and the file is never overwritten.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import locations


def config_file() -> Path:
    return locations.config_dir() / "config.toml"


@dataclass(slots=True)
class Settings:
    keys: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load_settings(path: Path | None = None) -> Settings:
    path = path or config_file()
    s = Settings()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return s
    except OSError as e:
        s.problems.append(f"{path}: unreadable: {e.strerror or e}")
        return s
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        s.problems.append(f"{path}: {e}")
        return s
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        s.problems.append(f'{path}: [keys] must be a table of binding id = "keys"')
        return s
    for k, v in keys.items():
        if isinstance(v, str) and v.strip():
            s.keys[str(k)] = v
        else:
            s.problems.append(f'{path}: keys.{k}: expected a string like "j,down"')
    return s
