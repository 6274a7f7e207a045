from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trailtui.cli.main import main

from .conftest import REAL


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailtui", *args],
        capture_output=True,
        text=True,
        env=os.environ,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def demo_cache(demo_db: Path, tmp_path: Path) -> Path:
    """The session's demo cache copied where --demo looks for it."""
    cache = Path(os.environ["TRAILTUI_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copy(demo_db, cache / "demo.sqlite")
    return cache / "demo.sqlite"


def test_query_demo_table(demo_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "name:StopInstances resource:i-0badc0ffee0000001", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-19 03:12:07" in out and "SkeddlyScheduler/skeddly-7f3a2c1e" in out
    assert "203.0.113.66" in out


def test_query_says_how_many_match_past_the_limit(
    demo_cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trailtui.cli import query
    from trailtui.store.db import Interrupted
    from trailtui.store.store import Store

    assert main(["query", "name:StopInstances", "--demo", "--limit", "1"]) == 0
    assert re.search(r"^1 event \(of [\d,]+ matching\)$", capsys.readouterr().err, re.M)
    assert query.COUNT_BUDGET > 0

    def slow(*args: object) -> int:  # a count past its moment (a raw filter on 1M events)
        raise Interrupted("cancelled")

    monkeypatch.setattr(Store, "count", slow)
    assert main(["query", "name:StopInstances", "--demo", "--limit", "1"]) == 0
    assert "1 event (more match: not counted)" in capsys.readouterr().err


def test_exit_codes(demo_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "name:NoSuchThing", "--demo"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    # the demo window holds a tampering call: said first, whatever the filter matches
    assert err[0].startswith("trailtui: warning: tampering in the window: VPC flow logs deleted")
    assert err[1:] == ["no events match"]
    assert main(["query", "name:NoSuchThing", "--demo", "--until", "2026-11-10"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == ["no events match"]
    with pytest.raises(SystemExit) as ei:
        main(["query", "nmae:x", "--demo"])
    assert ei.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 1" in err[0] and "unknown field" in err[0]
    with pytest.raises(SystemExit) as ei:
        main(["query", "--format", "xml"])
    assert ei.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_jsonl_is_raw_records_for_jq(tmp_path: Path) -> None:
    src = REAL / "invictus-ir" / "CloudTrail"
    r = run("query", "error:ThrottlingException", "--from", str(src), "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 102
    recs = [json.loads(line) for line in lines]
    assert all(rec["errorCode"] == "ThrottlingException" for rec in recs)
    times = [rec["eventTime"] for rec in recs]
    assert times == sorted(times, reverse=True)
    originals = {
        r["eventID"]: r for p in src.glob("*.json") for r in json.loads(p.read_text())["Records"]
    }
    assert all(originals[rec["eventID"]] == rec for rec in recs)


def test_json_output_reads_back_as_a_trail_file(tmp_path: Path) -> None:
    r = run("query", "", "--from", str(REAL / "plaso"), "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["Records"]) == 15
    out = tmp_path / "again.json"
    out.write_text(r.stdout)
    r2 = run("query", "", "--from", str(out), "--format", "jsonl", "--limit", "3")
    assert len(r2.stdout.splitlines()) == 3


def test_csv_and_limit(demo_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "user:mallory", "--demo", "--format", "csv", "--limit", "5"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 5 and all("mallory" in r["who"] for r in rows)


def test_from_scopes_the_query_to_that_source(tmp_path: Path) -> None:
    assert run("ingest", str(REAL / "invictus-ir")).returncode == 0
    r = run("query", "", "--from", str(REAL / "plaso"), "--format", "jsonl")
    assert len(r.stdout.splitlines()) == 15
    r = run("query", "", "--format", "jsonl")
    assert len(r.stdout.splitlines()) == 2900 + 15


def test_ingest_summary_reports_rejects(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(REAL / "plaso" / "aws_cloudtrail_lookupevents.jsonl", folder)
    (folder / "broken.json").write_text('{"Records": [')
    r = run("ingest", str(folder))
    assert r.returncode == 0, r.stderr
    assert "6 events added" in r.stderr
    assert "broken.json" in r.stderr and "invalid JSON" in r.stderr
    r = run("ingest", str(folder))
    assert "0 events added" in r.stderr and "unchanged" in r.stderr


def test_missing_path_is_usage_error() -> None:
    r = run("query", "x", "--from", "/no/such/path")
    assert r.returncode == 2 and "no such file" in r.stderr


def test_hostile_text_never_reaches_the_terminal(tmp_path: Path) -> None:
    rec = {
        "eventID": "evil",
        "eventTime": "2024-05-01T00:00:00Z",
        "eventName": "Get\x1b[2JObject",
        "userIdentity": {
            "type": "IAMUser",
            "userName": "[bold red]x[/] \x1b]8;;https://evil\x07l\x1b]8;;\x07",
        },
        "userAgent": "\u202eevil\x00",
        "sourceIPAddress": "1.2.3.4",
    }
    f = tmp_path / "evil.json"
    f.write_text(json.dumps({"Records": [rec]}))
    for fmt in ("table", "jsonl", "json", "csv"):
        r = run("query", "", "--from", str(f), "--format", fmt)
        assert r.returncode == 0, r.stderr
        if fmt != "csv":
            assert "\x1b" not in r.stdout and "\u202e" not in r.stdout and "\x00" not in r.stdout, (
                fmt
            )
    r = run("query", "", "--from", str(f), "--format", "table")
    assert "[bold red]x[/]" in r.stdout
    r = run("query", "", "--from", str(f), "--format", "jsonl")
    assert json.loads(r.stdout) == rec


def test_help_and_python_m() -> None:
    r = run("--help")
    assert r.returncode == 0 and "ingest" in r.stdout
    r = run("query", "--help")
    assert "--format" in r.stdout


# A filter may begin with a negation, as users type it: argparse must not take it for an option.
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["query", "-name:Describe*"], {"filter": "-name:Describe*"}),
        (["query", "-name:Describe* region:eu-west-1"], {"filter": "-name:Describe* region:eu-west-1"}),
        (["query", "-name:Describe*", "region:eu-west-1"], {"filter": "-name:Describe* region:eu-west-1"}),
        (["query", "--demo", "--limit", "5", "-name:Describe*"], {"filter": "-name:Describe*", "limit": 5, "demo": True}),
        (["query", "-name:Describe*", "--limit", "5", "--format", "jsonl"], {"filter": "-name:Describe*", "limit": 5, "format": "jsonl"}),
        (["query", "--since", "2d", "-error:*"], {"filter": "-error:*", "since": "2d"}),
        (["query", "--since=2d", "-error:*"], {"filter": "-error:*", "since": "2d"}),
        (["query", "-name:Describe*", "-error:*"], {"filter": "-name:Describe* -error:*"}),
        (["query", "-name:Describe* -error:*"], {"filter": "-name:Describe* -error:*"}),
        (["query", '-"quoted words"'], {"filter": '-"quoted words"'}),
        (["query", '-"quoted"', "-word"], {"filter": '-"quoted" -word'}),
        (["query", "-hello"], {"filter": "-hello"}),  # not -h with 'ello'
        (["query", "name:x", "--demo", "-error:*"], {"filter": "name:x -error:*", "demo": True}),
        (["query", "--from", "a", "b", "-name:x", "region:y"], {"from_paths": ["a", "b"], "filter": "-name:x region:y"}),
        (["query", "--lim", "5", "-x"], {"filter": "-x", "limit": 5}),
        (["query", "--", "-name:x"], {"filter": "-name:x"}),
        (["query", "--limit", "-1"], {"filter": "", "limit": -1}),  # a number stays a number
        (["query"], {"filter": ""}),
        (["bookmarks", "save", "quiet", "-name:Describe*", "--since", "24h", "-error:*"], {"name": "quiet", "filter": "-name:Describe* -error:*", "since": "24h"}),
        (["--filter", "-name:Describe*", "--demo"], {"command": None, "filter": "-name:Describe*", "demo": True}),
        (["--demo", "--fil", "-name:Describe* -error:*"], {"filter": "-name:Describe* -error:*"}),
        (["--filter=-name:Describe*"], {"filter": "-name:Describe*"}),
        (["--from", "a", "--filter", "-x"], {"from_paths": ["a"], "filter": "-x"}),
    ],
)  # fmt: skip
def test_a_filter_may_begin_with_a_negation(argv: list[str], expected: dict[str, object]) -> None:
    from trailtui.cli.parser import build_parser

    args = vars(build_parser().parse_args(argv))
    assert {k: args[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "--bogus"], "unrecognized arguments: --bogus"),
        (["query", "-name:x", "--bogus"], "unrecognized arguments: --bogus"),
        (["query", "--limit", "-x"], "argument --limit: expected one argument"),
        (["query", "--since", "-name:x"], "argument --since: expected one argument"),
        (["query", "--format", "xml", "-name:x"], "invalid choice: 'xml'"),
        (["--filter", "--demo"], "argument --filter: expected one argument"),
        (["--demo", "-name:x"], "unrecognized arguments: -name:x"),  # the explorer: --filter
        (["ingest", "-x"], "required"),
        (["bookmarks", "save", "-name:x"], "required"),
    ],
)
def test_options_and_their_errors_stay(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "\0" not in err[0]


def test_negated_filters_run(demo_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["query", "--limit", "-1", "--demo"])
    assert ei.value.code == 2
    assert capsys.readouterr().err == "trailtui: error: --limit must be 0 or more\n"
    with pytest.raises(SystemExit) as ei:
        main(["query", "-h"])
    assert ei.value.code == 0 and "--format" in capsys.readouterr().out

    want = ["--demo", "--format", "jsonl", "--", "-name:Describe* -error:* region:us-east-1"]
    assert main(["query", *want]) == 0
    expected = capsys.readouterr().out.splitlines()
    recs = [json.loads(line) for line in expected]
    assert recs and all(
        not r["eventName"].startswith("Describe")
        and "errorCode" not in r
        and r["awsRegion"] == "us-east-1"
        for r in recs
    )
    typed = ["-name:Describe*", "--demo", "-error:*", "--format", "jsonl", "region:us-east-1"]
    assert main(["query", *typed]) == 0
    assert capsys.readouterr().out.splitlines() == expected

    # as a shell passes them, and where the other commands take a filter
    r = run("query", "-name:Describe*", "--demo", "--format", "jsonl", "--limit", "3")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3
    r = run("bookmarks", "save", "quiet", "-name:Describe*", "--since", "24h")
    assert r.returncode == 0, r.stderr
    from trailtui.evidence.bookmarks import Bookmarks

    assert Bookmarks().get("quiet").filter == "-name:Describe*"
    r = run("--demo", "--filter", "-name:Describe*")  # not a terminal: a summary
    assert r.returncode == 0, r.stderr
