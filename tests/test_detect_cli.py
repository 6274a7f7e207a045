"""trailtui detect: rules from --rules or the config dir's rules folder, over the demo and over
files read with --from; table and JSON; --show-filter; --exit-code; a compiled filter is a
normal filter (bookmarks save takes it, query gives the same events)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trailtui.cli.main import main

from .conftest import REAL

RULES = {
    "stops.yml": """
title: Instances stopped by a scheduler
id: 5d1c0b7e-1111-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
level: medium
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: [StopInstances, TerminateInstances]
  condition: selection
""",
    "keys.yaml": """
title: Access keys created
id: 5d1c0b7e-1111-4000-8000-000000000002
logsource: {product: aws, service: cloudtrail}
level: high
detection:
  selection:
    eventName: CreateAccessKey
  condition: selection
---
title: Nothing like this happens
id: 5d1c0b7e-1111-4000-8000-000000000003
logsource: {product: aws, service: cloudtrail}
level: critical
detection:
  selection:
    eventName|startswith: NoSuchCall
  condition: selection
""",
    "sub/counted.yml": """
title: Too many logins
logsource: {product: aws, service: cloudtrail}
level: high
detection:
  selection: {eventName: ConsoleLogin}
  timeframe: 10m
  condition: selection
""",
    "sub/windows.yml": """
title: A Windows rule
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\\\\cmd.exe'}
  condition: selection
""",
    "README.md": "not a rule",
}


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    for name, text in RULES.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text.lstrip())
    return root


@pytest.fixture
def demo_cache(demo_db: Path) -> Path:
    cache = Path(os.environ["TRAILTUI_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copy(demo_db, cache / "demo.sqlite")
    return cache / "demo.sqlite"


def test_table_lists_what_fired_by_level_then_count(
    rules: Path, demo_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detect", "--rules", str(rules), "--demo"]) == 0
    cap = capsys.readouterr()
    lines = [line for line in cap.out.splitlines() if line.strip()]
    assert lines[0].split()[:3] == ["level", "count", "rule"]
    assert lines[1].split()[0] == "high" and "Access keys created" in lines[1]
    assert lines[2].split()[0] == "medium" and "Instances stopped" in lines[2]
    assert len(lines) == 3  # the critical rule found nothing: not in the table
    assert "skipped Too many logins: timeframe" in cap.err
    assert "3 evaluated, 2 fired, 1 skipped, 1 for other log sources ignored" in cap.err


def test_json_lists_every_evaluated_rule_with_its_event_ids(
    rules: Path, demo_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detect", "--rules", str(rules), "--demo", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    got = {r["title"]: r for r in data["rules"]}
    assert [r["level"] for r in data["rules"]] == ["critical", "high", "medium"]
    assert got["Nothing like this happens"]["count"] == 0
    assert got["Nothing like this happens"]["eventIDs"] == []
    stops = got["Instances stopped by a scheduler"]
    assert stops["id"] == "5d1c0b7e-1111-4000-8000-000000000001"
    assert stops["count"] == len(stops["eventIDs"]) > 0
    assert stops["first"] <= stops["last"]
    assert [(s["title"], s["reason"][:9]) for s in data["skipped"]] == [
        ("Too many logins", "timeframe")
    ]
    # the same events as the query of the same filter
    assert main(["query", "source:ec2 name:StopInstances,TerminateInstances", "--demo",
                 "--format", "jsonl"]) == 0  # fmt: skip
    ids = [json.loads(line)["eventID"] for line in capsys.readouterr().out.splitlines()]
    assert ids == stops["eventIDs"]


def test_show_filter_gives_a_filter_bookmarks_take(
    rules: Path, demo_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detect", "--rules", str(rules / "stops.yml"), "--demo", "--show-filter"]) == 0
    out = capsys.readouterr().out
    text = "eventSource:ec2.amazonaws.com eventName:StopInstances,TerminateInstances"
    assert text in out
    assert main(["detect", "--rules", str(rules / "stops.yml"), "--demo", "--format", "json",
                 "--show-filter"]) == 0  # fmt: skip
    (rule,) = json.loads(capsys.readouterr().out)["rules"]
    assert rule["filter"] == text
    assert main(["bookmarks", "save", "stops", rule["filter"]]) == 0
    capsys.readouterr()
    assert main(["query", "--bookmark", "stops", "--demo", "--format", "jsonl"]) == 0
    ids = [json.loads(line)["eventID"] for line in capsys.readouterr().out.splitlines()]
    assert ids == rule["eventIDs"]


def test_exit_code_when_high_or_critical_fired(
    rules: Path, demo_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detect", "--rules", str(rules), "--demo", "--exit-code"]) == 1
    assert main(["detect", "--rules", str(rules / "stops.yml"), "--demo", "--exit-code"]) == 0
    # the window: before the keys were created, only... nothing high fires
    assert main(["detect", "--rules", str(rules), "--demo", "--exit-code", "--until",
                 "2000-01-01"]) == 0  # fmt: skip
    assert "no rule fired" in capsys.readouterr().err


def test_default_rules_folder_in_the_config_dir(
    rules: Path, demo_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(os.environ["TRAILTUI_CONFIG_DIR"]) / "rules"
    with pytest.raises(SystemExit) as ei:
        main(["detect", "--demo"])
    assert ei.value.code == 2
    assert str(folder) in capsys.readouterr().err
    shutil.copytree(rules, folder)
    assert main(["detect", "--demo", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["rules"]) == 3


def test_bad_rule_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for arg in (tmp_path / "nope", tmp_path):
        with pytest.raises(SystemExit) as ei:
            main(["detect", "--rules", str(arg)])
        assert ei.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert "no such file or folder" in err[0] and "no Sigma rule files" in err[1]


def test_from_files_and_help(rules: Path, tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "trailtui", "detect", "--rules", str(rules), "--from",
         str(REAL / "invictus-ir" / "CloudTrail"), "--format", "json"],
        capture_output=True, text=True, env=os.environ, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {x["title"]: x["count"] for x in data["rules"]}["Access keys created"] >= 0
    h = subprocess.run(
        [sys.executable, "-m", "trailtui", "detect", "--help"],
        capture_output=True, text=True, env=os.environ, timeout=60,
    )  # fmt: skip
    assert str(Path(os.environ["TRAILTUI_CONFIG_DIR"]) / "rules") in "".join(h.stdout.split())
