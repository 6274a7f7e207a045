"""Sigma rules -> filters: every modifier and condition form, every skip reason, hostile rule
files, what keywords and `exists` mean here, and JSON paths over the real files.

Every rule here is written for these tests."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from trailtui.cli.main import main
from trailtui.detect.rules import MAX_FILE, Rule, Ruleset, load_rules, load_text
from trailtui.detect.run import by_level, event_ids, run, run_rule
from trailtui.filter.language import Filter, parse
from trailtui.filter.match import matches
from trailtui.records.event import parse_record
from trailtui.store.store import Store

from .conftest import REAL

HEAD = "title: {title}\nlogsource: {{product: aws, service: cloudtrail}}\nlevel: {level}\n"


def rule_yaml(detection: str, title: str = "t", level: str = "medium") -> str:
    body = "\n".join("  " + line for line in detection.strip("\n").splitlines())
    return HEAD.format(title=title, level=level) + "detection:\n" + body + "\n"


def load(detection: str, **kw: str) -> Ruleset:
    out = Ruleset()
    load_text(rule_yaml(detection, **kw), "test.yml", out)
    return out


def compiled(detection: str) -> str:
    got = load(detection)
    assert not got.skipped, got.skipped
    (rule,) = got.rules
    return rule.filter_text


def skipped(detection: str) -> str:
    got = load(detection)
    assert not got.rules, got.rules[0].filter_text
    (s,) = got.skipped
    return s.reason


# ---------------------------------------------------------------------------- modifiers


@pytest.mark.parametrize(
    ("detection", "text"),
    [
        ("sel: {eventName: StopInstances}\ncondition: sel", "eventName:StopInstances"),
        (
            "sel:\n  eventName: [StopInstances, TerminateInstances]\ncondition: sel",
            "eventName:StopInstances,TerminateInstances",
        ),
        (
            "sel:\n  eventSource: ec2.amazonaws.com\n  userIdentity.type: Root\ncondition: sel",
            "eventSource:ec2.amazonaws.com userIdentity.type:Root",
        ),
        ("sel: {eventName|contains: Stop}\ncondition: sel", "eventName:*Stop*"),
        ("sel: {eventName|startswith: Stop}\ncondition: sel", "eventName:Stop*"),
        ("sel: {eventName|endswith: Instances}\ncondition: sel", "eventName:*Instances"),
        (
            "sel: {userAgent|contains|all: [aws-cli, Python]}\ncondition: sel",
            "userAgent:*aws-cli* userAgent:*Python*",
        ),
        ("sel: {eventName: 'Stop?nstances'}\ncondition: sel", "eventName:Stop?nstances"),
        # an escaped wildcard is a literal * or ?: globs can't say that, a regex can
        (r"sel: {requestParameters.name: 'a\*b'}" + "\ncondition: sel",
         'requestParameters.name:"a*b"'),
        (r"sel: {requestParameters.name: 'a\*b*'}" + "\ncondition: sel",
         r"requestParameters.name:/\Aa\*b.*\Z/"),
        (r"sel: {requestParameters.name: 'a\\*'}" + "\ncondition: sel",
         r"requestParameters.name:a\*"),
        # a space, a comma, a quote or a parenthesis: a glob can't hold them bare
        ("sel: {userAgent: 'aws cli*'}\ncondition: sel", r"userAgent:/\Aaws\ cli.*\Z/"),
        ("sel: {requestParameters.x: 'a,b'}\ncondition: sel", 'requestParameters.x:"a,b"'),
        ("sel: {requestParameters.x: '10.0.0.0/8'}\ncondition: sel",
         'requestParameters.x:"10.0.0.0/8"'),
        ("sel: {eventName|re: '^Stop'}\ncondition: sel", "eventName:/(?-is:^Stop)/"),
        ("sel: {eventName|re|i: '^stop'}\ncondition: sel", "eventName:/(?i-s:^stop)/"),
        ("sel: {eventName|re|m: '^Stop$'}\ncondition: sel", "eventName:/(?m-is:^Stop$)/"),
        ("sel: {eventName|re|s: 'a.b'}\ncondition: sel", "eventName:/(?s-i:a.b)/"),
        ("sel: {eventName|re: '(?i)^stop'}\ncondition: sel", "eventName:/(?i-s:^stop)/"),
        # a regex that matches the empty value: the language's regex never does, '' says it
        ("sel: {requestParameters.x|re: '^a*$'}\ncondition: sel",
         r'requestParameters.x:/(?-is:^a*$)/,""'),
        ("sel: {requestParameters.x|re: 'a/b'}\ncondition: sel",
         r"requestParameters.x:/(?-is:a\x2fb)/"),
        ("sel: {sourceIPAddress|cidr: 10.0.0.0/8}\ncondition: sel", "sourceIPAddress:10.0.0.0/8"),
        (
            "sel: {sourceIPAddress|cidr: ['2001:db8::/32', '::1/128']}\ncondition: sel",
            "sourceIPAddress:2001:db8::/32,::1/128",
        ),
        ("sel: {requestParameters.x|exists: true}\ncondition: sel", 'requestParameters.x:*,""'),
        ("sel: {requestParameters.x|exists: false}\ncondition: sel", '-requestParameters.x:*,""'),
        ("sel: {errorCode: null}\ncondition: sel", '-errorCode:*,""'),
        ("sel: {requestParameters.x: ''}\ncondition: sel", 'requestParameters.x:""'),
        ("sel: {requestParameters.x: '*'}\ncondition: sel", 'requestParameters.x:?*,""'),
        ("sel: {eventName|cased: StopInstances}\ncondition: sel",
         r"eventName:/(?-i:\AStopInstances\Z)/"),
        ("sel: {eventName|cased|startswith: Stop}\ncondition: sel",
         r"eventName:/(?-i:\AStop.*\Z)/"),
        ("sel: {requestParameters.x|windash: -a}\ncondition: sel",
         'requestParameters.x:-a,"/a",–a,—a,―a'),
        ("sel: {requestParameters.x|base64: abc}\ncondition: sel", "requestParameters.x:YWJj"),
        ("sel: {requestParameters.x|base64offset|contains: abc}\ncondition: sel",
         "requestParameters.x:*YWJj*,*FiY*,*hYm*"),
        ("sel: {requestParameters.x|neq: a}\ncondition: sel", "-requestParameters.x:a"),
        ("sel: {requestParameters.count: 5}\ncondition: sel", "requestParameters.count:5"),
        ("sel: {requestParameters.force: true}\ncondition: sel", "requestParameters.force:true"),
        ("sel: {readOnly: false}\ncondition: sel", "readonly:false"),
        ("sel: {readOnly: null}\ncondition: sel", "-readonly:true,false"),
        ("sel: {eventType: AwsConsoleSignIn}\ncondition: sel", "eventtype:AwsConsoleSignIn"),
        ("sel: {resources.ARN|startswith: 'arn:aws:s3:::'}\ncondition: sel",
         "resources.ARN:arn:aws:s3:::*"),
        # keywords: free words (leading/trailing * add nothing to a substring)
        ("kw: [evil, '*bad*']\ncondition: kw", "(evil OR bad)"),
        ("kw:\n  '|all': [evil, bad]\ncondition: kw", "evil bad"),
        # as the record's JSON writes it: a quote is \" there
        ("kw: ['say \"hi\"']\ncondition: kw", r'"say \\\"hi\\\""'),
        ("kw: [5]\ncondition: kw", "5"),
    ],
)  # fmt: skip
def test_modifiers_compile_to_the_filter(detection: str, text: str) -> None:
    assert compiled(detection) == text
    parse(text)  # a normal filter: bookmarks take it


# ---------------------------------------------------------------------------- conditions


DETS = (
    "selection_a: {eventName: A}\nselection_b: {eventName: B}\n"
    "filter_x: {userIdentity.type: Root}\n_private: {eventName: P}\n"
)


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        ("selection_a and filter_x", "eventName:A userIdentity.type:Root"),
        ("selection_a or filter_x", "(eventName:A OR userIdentity.type:Root)"),
        ("selection_a and not filter_x", "eventName:A -userIdentity.type:Root"),
        ("not (selection_a or filter_x)", "-(eventName:A OR userIdentity.type:Root)"),
        ("1 of selection_*", "eventName:A,B"),
        ("all of selection_*", "eventName:A eventName:B"),
        ("1 of them", "(eventName:A,B OR userIdentity.type:Root)"),
        ("all of them", "eventName:A eventName:B userIdentity.type:Root"),
        ("_private and not 1 of filter*", "eventName:P -userIdentity.type:Root"),
        (
            "(selection_a or selection_b) and not (filter_x and _private)",
            "eventName:A,B -(userIdentity.type:Root eventName:P)",
        ),
        ("[selection_a, filter_x]", "(eventName:A OR userIdentity.type:Root)"),
    ],
)
def test_condition_forms(condition: str, text: str) -> None:
    assert compiled(DETS + f"condition: {condition}") == text


def test_list_of_maps_is_or_and_a_map_is_and() -> None:
    det = (
        "sel:\n  - eventName: A\n    userIdentity.type: Root\n  - eventSource: x.amazonaws.com\n"
        "condition: sel"
    )
    assert compiled(det) == "((eventName:A userIdentity.type:Root) OR eventSource:x.amazonaws.com)"


# ---------------------------------------------------------------------------- skipped


@pytest.mark.parametrize(
    ("detection", "reason"),
    [
        ("sel: {eventName: A}\ncondition: sel | count() > 5", "pipe syntax"),
        ("sel: {eventName: A}\ntimeframe: 5m\ncondition: sel", "timeframe"),
        ("sel: {requestParameters.x|near: a}\ncondition: sel", "Unknown modifier 'near'"),
        ("sel: {requestParameters.x|expand: '%admins%'}\ncondition: sel", "|expand"),
        ("sel: {requestParameters.x|utf16le: a}\ncondition: sel", "Unknown modifier 'utf16le'"),
        ("sel: {requestParameters.x|utf16be: a}\ncondition: sel", "|utf16be"),
        ("sel: {requestParameters.x|utf16: a}\ncondition: sel", "|utf16"),
        ("sel: {requestParameters.x|wide: a}\ncondition: sel", "|wide"),
        ("sel: {requestParameters.x|lt: 5}\ncondition: sel", "|lt"),
        ("sel: {requestParameters.x|gte: 5}\ncondition: sel", "|gte"),
        ("sel: {requestParameters.x|fieldref: eventName}\ncondition: sel", "|fieldref"),
        ("sel: {eventTime|hour: 3}\ncondition: sel", "|hour"),
        ("kw: ['ev*il']\ncondition: kw", "a wildcard inside a keyword"),
        ("kw: ['*']\ncondition: kw", "keyword '*'"),
        ("sel: {errorCode: ''}\ncondition: sel", "column"),
        ("sel: {user: alice}\ncondition: sel", "trailtui's user: field"),
        ("sel: {readOnly|contains: ru}\ncondition: sel", "readOnly"),
        ("sel: {requestParameters.x|re: 'a\\z'}\ncondition: sel", "Python can't read it"),
        ("sel: {requestParameters.x|re: '[a'}\ncondition: sel", "pySigma"),
        ("sel: {eventName: A}\ncondition: sel and nothere", "not defined"),
        (
            "sel: {eventName: A}\nf: {eventName: B}\ncondition: "
            + "sel and not (f or " * 40
            + "sel"
            + ")" * 40,
            "inside each other",
        ),
        (
            "sel: {eventName: A}\nf: {eventName: B}\ncondition: "
            + "sel and not (f or " * 200
            + "sel"
            + ")" * 200,
            "nested too deep",
        ),
    ],
)
def test_what_cant_be_said_is_skipped_with_the_reason(detection: str, reason: str) -> None:
    assert reason in skipped(detection)


def test_correlation_rules_and_unreadable_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "corr.yml").write_text(
        rule_yaml("sel: {eventName: ConsoleLogin}\ncondition: sel", title="base")
        + "name: base\n---\ntitle: many logins\ncorrelation:\n  type: event_count\n"
        "  rules: [base]\n  group-by: [sourceIPAddress]\n  timespan: 5m\n"
        "  condition: {gte: 10}\n"
    )
    (tmp_path / "broken.yaml").write_text("title: [unclosed\n")
    (tmp_path / "latin1.yml").write_bytes(b"title: caf\xe9\n")
    (tmp_path / "notes.txt").write_text("title: not a rule file\n")
    (tmp_path / "win.yml").write_text(
        "title: w\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}\n"
    )
    got = load_rules(tmp_path)
    assert [r.title for r in got.rules] == ["base"]
    reasons = {s.title or Path(s.path).name: s.reason for s in got.skipped}
    assert "correlation rule" in reasons["many logins"]
    assert "pySigma can't read it" in reasons["broken.yaml"]
    assert "can't read the file" in reasons["latin1.yml"]
    assert got.ignored == 1 and got.files == 4  # notes.txt is not a rule file


# ---------------------------------------------------------------------------- hostile files


def test_huge_and_deeply_nested_and_alias_bomb_files(tmp_path: Path) -> None:
    (tmp_path / "huge.yml").write_text("title: x\n#" + "x" * MAX_FILE + "\n")
    (tmp_path / "deep.yml").write_text(
        HEAD.format(title="deep", level="low") + "detection:\n  sel: " + "[" * 5000 + "]" * 5000
    )
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        bomb.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{', '.join(['*' + prev] * 9)}]")
    (tmp_path / "bomb.yml").write_text(
        HEAD.format(title="bomb", level="low")
        + "x-anchors:\n"
        + "".join("  " + b + "\n" for b in bomb)
        + "detection:\n  sel: {requestParameters.x: *i}\n  condition: sel\n"
    )
    got = load_rules(tmp_path)
    assert not got.rules
    reasons = {Path(s.path).name: s.reason for s in got.skipped}
    assert "over" in reasons["huge.yml"]
    assert set(reasons) == {"huge.yml", "deep.yml", "bomb.yml"}


def test_markup_and_control_characters_in_titles_and_values(tmp_path: Path) -> None:
    det = 'sel: {requestParameters.x: "\\e[31mred\\u202e\\n[b]x[/b]"}\ncondition: sel'
    got = load(det, title='"[bold red]pwn[/] \\e]8;;http://x\\a"')
    (rule,) = got.rules
    assert rule.title == "[bold red]pwn[/] \x1b]8;;http://x\x07"
    f = rule.filter
    assert f.terms[0].values[0].text == "\x1b[31mred\u202e\n[b]x[/b]"
    ev = parse_record(_rec("a", requestParameters={"x": "\x1b[31mRED\u202e\n[B]x[/b]"}))
    assert matches(f, ev)
    # the CLI prints neither the markup nor the control characters
    path = tmp_path / "r.yml"
    path.write_text(rule_yaml(det, title='"[bold red]pwn[/] \\e]8;;http://x\\a"', level="high"))
    store = Store(tmp_path / "c.sqlite")
    store.ingest([ev], "t")
    store.close()
    for fmt in ("table", "json"):
        out = _run_cli(["detect", "--rules", str(path), "--cache", str(tmp_path / "c.sqlite"),
                        "--format", fmt, "--show-filter"])  # fmt: skip
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
        assert "[bold red]pwn[/]" in out


def test_thousands_of_values_in_one_rule(tmp_path: Path) -> None:
    def rule(n: int) -> Rule:
        names = [f"Name{i}" for i in range(n)] + ["StopInstances"]
        det = "sel:\n  eventName:\n" + "".join(f"    - {x}\n" for x in names)
        det += "  requestParameters.x|contains:\n" + "".join(f"    - v{i}\n" for i in range(2000))
        (r,) = load(det + "condition: sel").rules
        return r

    store = _store(tmp_path, [_rec("a", eventName="StopInstances", requestParameters={"x": "v17"})])
    res = run_rule(store, rule(400), Filter())
    assert res.count == 1 and not res.error
    # past SQLite's expression depth (1000) the cache can't answer it: said, not a crash
    res = run_rule(store, rule(3000), Filter())
    assert res.count == 0 and "Expression tree is too large" in res.error
    store.close()


# ---------------------------------------------------------------------------- semantics here


def _rec(eid: str, **kw: Any) -> dict[str, Any]:
    return {"eventID": eid, "eventTime": "2024-05-01T00:00:00Z", "eventName": "X", **kw}


def _store(tmp_path: Path, recs: list[dict[str, Any]]) -> Store:
    store = Store(tmp_path / "c.sqlite")
    store.ingest([parse_record(r) for r in recs], "t")
    return store


def _hits(tmp_path: Path, detection: str, recs: list[dict[str, Any]]) -> list[str]:
    (rule,) = load(detection).rules
    store = _store(tmp_path, recs)
    try:
        local = sorted(r["eventID"] for r in recs if matches(rule.filter, parse_record(r)))
        res = run_rule(store, rule, Filter())
        assert sorted(event_ids(store, res.rowids)) == local
        return local
    finally:
        store.close()


def test_values_compare_case_insensitively_except_regex_and_cased(tmp_path: Path) -> None:
    recs = [_rec("a", eventName="StopInstances"), _rec("b", eventName="stopinstances")]
    assert _hits(tmp_path, "s: {eventName: STOPINSTANCES}\ncondition: s", recs) == ["a", "b"]
    assert _hits(tmp_path, "s: {eventName|re: '^Stop'}\ncondition: s", recs) == ["a"]
    assert _hits(tmp_path, "s: {eventName|cased: stopinstances}\ncondition: s", recs) == ["b"]


def test_null_exists_and_empty(tmp_path: Path) -> None:
    recs = [
        _rec("absent"),
        _rec("null", requestParameters={"x": None}),
        _rec("empty", requestParameters={"x": ""}),
        _rec("value", requestParameters={"x": "v"}),
        _rec("object", requestParameters={"x": {"k": 1}}),
    ]
    assert _hits(tmp_path, "s: {requestParameters.x: null}\ncondition: s", recs) == [
        "absent",
        "null",
    ]
    # the spec's exists is true for a present null too: the filter language reads null as
    # absent (a stated departure)
    assert _hits(tmp_path, "s: {requestParameters.x|exists: true}\ncondition: s", recs) == [
        "empty",
        "object",
        "value",
    ]
    assert _hits(tmp_path, "s: {requestParameters.x: ''}\ncondition: s", recs) == ["empty"]
    assert _hits(tmp_path, "s: {requestParameters.x: '*'}\ncondition: s", recs) == [
        "empty",
        "value",
    ]
    # not over a missing field is true (SQL's NULL doesn't leak through)
    assert _hits(tmp_path, "s: {requestParameters.x: v}\ncondition: not s", recs) == [
        "absent",
        "empty",
        "null",
        "object",
    ]


def test_windash_base64_and_arrays(tmp_path: Path) -> None:
    enc = base64.b64encode(b"whoami").decode()
    recs = [
        _rec("dash", requestParameters={"cmd": "run /c x"}),
        _rec("b64", requestParameters={"cmd": enc}),
        _rec("arr", resources=[{"ARN": "arn:aws:s3:::b"}, {"ARN": "arn:aws:iam::1:user/x"}]),
    ]
    assert _hits(tmp_path, "s: {requestParameters.cmd|windash|contains: ' -c '}\ncondition: s",
                 recs) == ["dash"]  # fmt: skip
    assert _hits(tmp_path, "s: {requestParameters.cmd|base64: whoami}\ncondition: s", recs) == [
        "b64"
    ]
    assert _hits(tmp_path, "s: {resources.ARN|contains: ':user/'}\ncondition: s", recs) == ["arr"]


def test_keywords_search_the_records_json_text(tmp_path: Path) -> None:
    recs = [
        _rec("quote", requestParameters={"x": 'say "hi" now'}),
        _rec("newline", requestParameters={"x": "a\nb"}),
        _rec("plain", requestParameters={"x": "nothing"}),
        _rec("number", requestParameters={"n": 5, "m": "y"}),
    ]
    assert _hits(tmp_path, "k: ['say \"hi\"']\ncondition: k", recs) == ["quote"]
    assert _hits(tmp_path, 'k: ["a\\nb"]\ncondition: k', recs) == ["newline"]
    # a quote in a keyword is looked for as JSON writes it inside a string: never across keys
    assert _hits(tmp_path, "k: ['\":\"']\ncondition: k", recs) == []
    # where free words part from "a substring of a value": they see key names (every record
    # here has an eventName key) and the JSON next to a number, true, false or null
    every = ["newline", "number", "plain", "quote"]
    assert _hits(tmp_path, "k: [eventname]\ncondition: k", recs) == every
    assert _hits(tmp_path, "k: ['5,']\ncondition: k", recs) == ["number"]


# ---------------------------------------------------------------------------- run


def test_run_counts_first_last_and_orders_by_level(tmp_path: Path) -> None:
    recs = [
        {"eventID": f"e{i}", "eventTime": f"2024-05-01T00:00:{i:02d}Z", "eventName": n}
        for i, n in enumerate(["A", "B", "A", "C", "A"])
    ]
    store = _store(tmp_path, recs)
    rules: list[Rule] = []
    for title, level, name in [("low a", "low", "A"), ("crit b", "critical", "B"),
                               ("high c", "high", "C"), ("none", "high", "Z")]:  # fmt: skip
        rules += load(f"s: {{eventName: {name}}}\ncondition: s", title=title, level=level).rules
    results = by_level(run(store, rules, Filter()))
    assert [(r.rule.title, r.count) for r in results] == [
        ("crit b", 1),
        ("high c", 1),
        ("none", 0),
        ("low a", 3),
    ]
    low = results[-1]
    assert low.first is not None and low.last is not None
    assert (low.first.second, low.last.second) == (0, 4)
    assert event_ids(store, low.rowids) == ["e4", "e2", "e0"]  # newest first
    # the window narrows every rule
    window = parse("since:2024-05-01T00:00:01 until:2024-05-01T00:00:03")
    (a,) = run(store, rules[:1], window)
    assert event_ids(store, a.rowids) == ["e2"]
    store.close()


# ---------------------------------------------------------------------------- real files


def _real_records() -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    for p in sorted((REAL / "invictus-ir" / "CloudTrail").glob("*.json")):
        recs += json.loads(p.read_text())["Records"]
    return recs


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    cache = tmp_path_factory.mktemp("real") / "c.sqlite"
    rc = main(["ingest", str(REAL / "invictus-ir" / "CloudTrail"), "--cache", str(cache)])
    assert rc == 0
    store = Store(cache)
    yield store
    store.close()


def _get(rec: Any, *keys: str) -> Any:
    for k in keys:
        rec = rec.get(k) if isinstance(rec, dict) else None
    return rec


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("userIdentity.type:AssumedRole", lambda r: _get(r, "userIdentity", "type") == "AssumedRole"),
        ("-userIdentity.type:*", lambda r: not _get(r, "userIdentity", "type")),
        ("requestParameters.bucketName:*", lambda r: bool(_get(r, "requestParameters", "bucketName"))),
        ("tlsDetails.tlsVersion:TLSv1.3", lambda r: _get(r, "tlsDetails", "tlsVersion") == "TLSv1.3"),
        ("resources.ARN:arn:aws:s3:::*",
         lambda r: any(str(x.get("ARN", "")).lower().startswith("arn:aws:s3:::")
                       for x in r.get("resources") or [])),
        ("errorCode:accessdenied eventSource:*.amazonaws.com",
         lambda r: r.get("errorCode") == "AccessDenied"),
        ("additionalEventData.MFAUsed:yes", lambda r: _get(r, "additionalEventData", "MFAUsed") == "Yes"),
        ("USERIDENTITY.SESSIONCONTEXT.SESSIONISSUER.TYPE:role",
         lambda r: _get(r, "userIdentity", "sessionContext", "sessionIssuer", "type") == "Role"),
    ],
)  # fmt: skip
def test_json_paths_over_the_real_files(real_store: Store, text: str, expect: Any) -> None:
    recs = _real_records()
    want = sorted({r["eventID"] for r in recs if expect(r)})
    got = sorted(r.event_id for r in real_store.window(parse(text), 0, 10_000))
    assert got == want and want, text


def test_a_rule_over_the_real_files(real_store: Store) -> None:
    det = (
        "sel:\n  eventSource: s3.amazonaws.com\n  eventName|startswith: [Get, List]\n"
        "filter:\n  userIdentity.type: AssumedRole\ncondition: sel and not filter"
    )
    (rule,) = load(det).rules
    res = run_rule(real_store, rule, Filter())
    want = {
        r["eventID"]
        for r in _real_records()
        if r["eventSource"] == "s3.amazonaws.com"
        and r["eventName"].startswith(("Get", "List"))
        and _get(r, "userIdentity", "type") != "AssumedRole"
    }
    assert set(event_ids(real_store, res.rowids)) == want and want


def _run_cli(argv: list[str]) -> str:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(argv)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    "window",
    [
        "",
        "since:2023-07-10T11:50:00 until:2023-07-10T12:10:00",
        "readonly:false",
        "region:us-east-1",
    ],
)
def test_run_together_equals_one_rule_at_a_time(real_store: Store, window: str) -> None:
    """run() decides column rules from one table pass and raw rules from one chunk pass:
    each rule's events (order, first, last) are what it finds alone, in any window."""
    detections = [
        "s: {eventName: [GetCallerIdentity, ListBuckets, nope]}\ncondition: s",
        "s: {eventSource: s3.amazonaws.com}\nf: {eventName|startswith: Get}\ncondition: s and not f",
        "s: {userIdentity.type: IAMUser, sourceIPAddress|cidr: 0.0.0.0/1}\ncondition: s",
        "s: {errorCode|contains: Denied}\ncondition: s",
        "s: {userAgent|contains: [aws-cli, Boto3]}\ncondition: s",
        "s: {eventName: NoSuchCall}\ncondition: s",
        "s: {eventSource: ec2.amazonaws.com, requestParameters.instanceType|startswith: t}\n"
        "condition: s",
        "k: [AssumeRole]\ncondition: k",
        "s: {requestParameters.bucketName|exists: true}\ncondition: s",
    ]
    rules: list[Rule] = []
    for i, d in enumerate(detections):
        rules += load(d, title=f"r{i}").rules
    assert len(rules) == len(detections)
    f = parse(window)
    together = run(real_store, rules, f)
    alone = [run_rule(real_store, r, f) for r in rules]
    assert any(r.count for r in alone)
    for a, b in zip(together, alone, strict=True):
        assert (a.rule.title, a.count, a.first, a.last, a.rowids) == (
            b.rule.title,
            b.count,
            b.first,
            b.last,
            b.rowids,
        ), a.rule.title
