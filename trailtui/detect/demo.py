"""The demo's own Sigma rules (written for trailtui's demo incident, not copied from anywhere):
what the detections screen runs with --demo when no rules were given."""

from __future__ import annotations

from pathlib import Path

DEMO_RULES = Path(__file__).resolve().parent / "demo_rules"
