"""JSON paths and boolean expressions in the filter language: parsing, reading back, the
cache against the real files in tests/data, and hostile paths and records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trailtui.filter.language import FilterSyntaxError, Group, Term, Word, expr_text, parse
from trailtui.filter.match import matches
from trailtui.records.event import parse_record
from trailtui.store.store import Store

from .conftest import REAL

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_paths_and_names() -> None:
    f = parse("userIdentity.type:Root eventSource:cloudtrail.amazonaws.com Name:x", NOW)
    assert [t.field for t in f.terms] == ["userIdentity.type", "eventSource", "name"]
    assert f.terms[0].path and f.terms[1].path and not f.terms[2].path
    f = parse('a.b-c.d_e:1 x.y:10.0.0.0/8 x.y:"0.0.0.0/0" x.y:"" x.y:*', NOW)
    assert [v.kind for t in f.terms for v in t.values] == [
        "exact",
        "cidr",
        "exact",
        "exact",
        "glob",
    ]
    assert f.terms[3].values[0].text == ""


def test_precedence_not_and_or() -> None:
    f = parse("a:1 b:2 OR NOT c:3 d:4", NOW)
    (g,) = f.groups
    assert g.op == "or" and not f.terms
    left, right = g.items
    assert isinstance(left, Group) and left.op == "and"
    assert isinstance(right, Group) and right.op == "and"
    assert right.items[0] == Term("c", parse("c:3", NOW).terms[0].values, negated=True)
    # AND is a space; parentheses group; -( ) and NOT ( ) negate a group; not not = nothing
    f = parse("x AND (y or z) -(p q) not not w", NOW)
    assert [w.text for w in f.words] == ["x", "w"]
    assert [(g.op, g.negated) for g in f.groups] == [("or", False), ("and", True)]
    assert parse('"or" "AND"', NOW).words == (Word("or"), Word("AND"))


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("(a", 0, "expected ')'"),
        ("a )", 2, "without a '('"),
        ("(a))", 3, "without a '('"),
        ("()", 0, "inside '( )'"),
        ("a OR", 2, "both sides of OR"),
        ("OR a", 0, "both sides of OR"),
        ("a AND OR b", 2, "both sides of AND"),
        ("(since:2d)", 1, "only at the top level"),
        ("NOT since:2d", 4, "only at the top level"),
        ("nmae:x", 0, "did you mean name?"),
        ("(name:a)b", 8, "a space after ')'"),
        ("-", 0, None),
    ],
)
def test_syntax_errors_say_where(text: str, where: int, says: str | None) -> None:
    if says is None:
        parse(text, NOW)  # a lone '-' is a word, as before
        return
    with pytest.raises(FilterSyntaxError) as e:
        parse(text, NOW)
    assert says in e.value.message
    assert e.value.pos == where


def test_reading_back_gives_the_same_filter() -> None:
    texts = [
        'userIdentity.type:Root,"AWS Service" -userIdentity.invokedBy:* x.y:""',
        '(name:Stop* OR user:bob) -(source:ec2 region:us-east-1) NOT (a.b:/^x/ OR "two words")',
        'word "-dash" "or" "name:x" "(paren" a.b:"10.0.0.0/8" a.b:10.0.0.0/8',
        "((a OR b) (c OR (d -e)))",
        "ip:::1/128 x.y:::1/128,2001:db8::/32",
    ]
    for text in texts:
        f = parse(text, NOW)
        again = parse(" ".join(expr_text(e) for e in f.conjuncts), NOW)
        assert again.conjuncts == f.conjuncts, text


def test_hostile_paths_and_nesting() -> None:
    with pytest.raises(FilterSyntaxError, match="at most"):
        parse("a" + ".b" * 200 + ":x", NOW)
    with pytest.raises(FilterSyntaxError, match="inside each other"):
        parse("(" * 100 + "a" + ")" * 100, NOW)
    assert parse("(" * 60 + "a" + ")" * 60, NOW).words == (Word("a"),)


# --------------------------------------------------------------------------- the real files


def _real_records() -> list[dict[str, Any]]:
    out = []
    for p in sorted((REAL / "invictus-ir" / "CloudTrail").glob("*.json")):
        out += json.loads(p.read_text())["Records"]
    return out


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[Any]]]:
    recs = _real_records()
    events = [parse_record(r) for r in recs]
    store = Store(tmp_path_factory.mktemp("paths") / "c.sqlite")
    store.ingest(events, "real")
    yield store, recs
    store.close()


def _ids(store: Store, text: str) -> set[str]:
    return {r.event_id for r in store.window(parse(text, NOW), 0, 100_000)}


def test_path_filters_over_the_real_files(real_store: tuple[Store, list[Any]]) -> None:
    store, recs = real_store

    def where(pred: Any) -> set[str]:
        return {r["eventID"] for r in recs if pred(r)}

    rp = lambda r: r.get("requestParameters") or {}  # noqa: E731
    cases = {
        # a key two levels down; a glob; case-insensitive value and key
        "requestParameters.secretId:arn:aws:secretsmanager:*": where(
            lambda r: str(rp(r).get("secretId", "")).startswith("arn:aws:secretsmanager:")
        ),
        "REQUESTPARAMETERS.resourceType:parameter": where(
            lambda r: str(rp(r).get("resourceType", "")).lower() == "parameter"
        ),
        # through arrays: any element's values
        "requestParameters.filters.values:i-0dbc91f429e48eeed": where(
            lambda r: any(
                "i-0dbc91f429e48eeed" in f.get("values", []) for f in rp(r).get("filters", [])
            )
        ),
        # absent or null
        "-requestParameters:*": where(lambda r: not r.get("requestParameters")),
        "userIdentity.type:IAMUser": where(lambda r: r["userIdentity"].get("type") == "IAMUser"),
        "-userIdentity.type:*": where(lambda r: not r["userIdentity"].get("type")),
        # OR across fields, NOT of a group
        "eventName:GetUser OR requestParameters.resourceType:Parameter": where(
            lambda r: r["eventName"] == "GetUser" or rp(r).get("resourceType") == "Parameter"
        ),
        "NOT (eventName:Decrypt OR eventName:GetUser) userIdentity.type:IAMUser": where(
            lambda r: (
                r["eventName"] not in ("Decrypt", "GetUser")
                and r["userIdentity"].get("type") == "IAMUser"
            )
        ),
    }
    for text, expected in cases.items():
        assert expected, text  # the data has some
        assert _ids(store, text) == expected, text
        assert store.count(parse(text, NOW)) == len(expected), text


def test_hostile_records(tmp_path: Path) -> None:
    deep: Any = "bottom"
    for _ in range(1000):
        deep = {"a": deep}
    recs = [
        {"eventID": "deep", "eventTime": "2024-06-01T10:00:00Z", "eventName": "X",
         "requestParameters": {"nest": deep, "a": {"a": {"a": "[b]x[/b]"}}}},
        {"eventID": "huge", "eventTime": "2024-06-01T10:00:01Z", "eventName": "Y",
         "requestParameters": {"k" * 5000: "v" * 100_000, "list": [[["deep"]], {"x": 1}]}},
        {"eventID": "dup", "eventTime": "2024-06-01T10:00:02Z", "eventName": "Z",
         "requestParameters": {"Type": "a", "TYPE": "b"}},
    ]  # fmt: skip
    events = [parse_record(r) for r in recs]
    store = Store(tmp_path / "c.sqlite")
    try:
        store.ingest(events, "hostile")
        cases = {
            "requestParameters.a.a.a:[b]x[/b]": {"deep"},
            "requestParameters.list:deep": {"huge"},
            "requestParameters.list.x:1": {"huge"},
            "requestParameters." + "k" * 200 + ":*": set(),
            "requestParameters.type:b": {"dup"},  # any key equal in another case
            "requestParameters.nest:*": {"deep"},
            '(requestParameters.a.a.a:"[b]x[/b]" OR "vvvv") -eventName:Z': {"deep", "huge"},
        }
        for text, expected in cases.items():
            f = parse(text, NOW)
            assert _ids(store, text) == expected, text
            assert {e.event_id for e in events if matches(f, e)} == expected, text
    finally:
        store.close()
