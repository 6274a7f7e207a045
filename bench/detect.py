"""`trailtui detect` at scale: 100 generated Sigma rules over the 1M-event cache.

Prints the time to load and compile the rules, the total time to run them (one cache query
each), the slowest rules with their compiled filter, and anchors measured in the same run: a
plain `name:` query (column), a path term and a free word, each as the rules run them (ids,
no rows). Target: 100 rules over 1M events in 10 s or less.

    uv run python bench/detect.py            # builds bench/out/cache-1000000.sqlite if missing
    TRAILTUI_BENCH_CACHE=/path/to/cache.sqlite uv run python bench/detect.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bigcache import big_cache

from trailtui.detect.rules import Rule, load_rules
from trailtui.detect.run import Result, run, run_rule
from trailtui.filter.language import Filter, parse
from trailtui.store.store import Store

# names the demo trail holds, and names SigmaHQ-style rules look for that it doesn't
PRESENT = [
    "StopInstances",
    "StartInstances",
    "TerminateInstances",
    "RunInstances",
    "CreateUser",
    "CreateAccessKey",
    "AttachUserPolicy",
    "AssumeRole",
    "ConsoleLogin",
    "DeleteFlowLogs",
    "CreateTags",
    "GetRole",
    "ListBuckets",
    "DescribeInstances",
]
ABSENT = [
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutBucketPolicy",
    "PutBucketAcl",
    "DeleteBucketPolicy",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "DeactivateMFADevice",
    "DeleteDetector",
    "DisableKey",
    "ScheduleKeyDeletion",
    "ModifySnapshotAttribute",
    "ModifyImageAttribute",
    "SharedSnapshotCopyInitiated",
    "PutEventSelectors",
    "DeleteRolePolicy",
    "PutUserPolicy",
    "GetPasswordData",
    "CreateNetworkAclEntry",
]
SOURCES = {
    "ec2.amazonaws.com": ["StopInstances", "RunInstances", "ModifySnapshotAttribute"],
    "iam.amazonaws.com": ["CreateUser", "AttachUserPolicy", "PutUserPolicy", "DeleteRolePolicy"],
    "sts.amazonaws.com": ["AssumeRole", "GetSessionToken", "GetFederationToken"],
    "cloudtrail.amazonaws.com": ["StopLogging", "DeleteTrail", "UpdateTrail"],
    "s3.amazonaws.com": ["PutBucketPolicy", "ListBuckets", "PutBucketAcl"],
    "kms.amazonaws.com": ["DisableKey", "ScheduleKeyDeletion"],
    "signin.amazonaws.com": ["ConsoleLogin"],
}
LEVELS = ["low", "medium", "high", "critical"]


def _rule(i: int, detection: str, condition: str = "selection") -> str:
    lines = [
        f"title: bench rule {i}",
        f"id: 00000000-0000-4000-8000-{i:012d}",
        "logsource: {product: aws, service: cloudtrail}",
        f"level: {LEVELS[i % 4]}",
        "detection:",
        *("    " + line for line in detection.strip().splitlines()),
        f"    condition: {condition}",
    ]
    return "\n".join(lines) + "\n"


def generate(n: int = 100, seed: int = 16) -> list[tuple[str, str]]:
    """(kind, YAML) of n varied rules."""
    rnd = random.Random(seed)
    out: list[tuple[str, str]] = []
    kinds = (
        ["names"] * 30
        + ["source+name"] * 20
        + ["identity"] * 10
        + ["requestParameters"] * 15
        + ["contains"] * 15
        + ["keywords"] * 10
    )
    for i, kind in enumerate(kinds[:n]):
        if kind == "names":
            names = rnd.sample(PRESENT, 1) + rnd.sample(ABSENT, rnd.randint(2, 5))
            det = "selection:\n  eventName:\n" + "".join(f"    - {x}\n" for x in names)
        elif kind == "source+name":
            src = rnd.choice(list(SOURCES))
            names = SOURCES[src]
            det = f"selection:\n  eventSource: {src}\n  eventName:\n" + "".join(
                f"    - {x}\n" for x in names
            )
        elif kind == "identity":
            t = rnd.choice(["Root", "IAMUser", "AWSAccount", "FederatedUser"])
            det = (
                f"selection:\n  userIdentity.type: {t}\n"
                "filter:\n  eventName|startswith: [Describe, List, Get]\n"
            )
            out.append((kind, _rule(i, det, "selection and not filter")))
            continue
        elif kind == "requestParameters":
            det = rnd.choice(
                [
                    "selection:\n  eventName: RunInstances\n  requestParameters.instanceType|startswith: p3",
                    "selection:\n  requestParameters.roleSessionName|contains: skeddly",
                    "selection:\n  requestParameters.force: true",
                    "selection:\n  eventSource: ec2.amazonaws.com\n  requestParameters.instancesSet.items.instanceId|startswith: i-0",
                    "selection:\n  requestParameters.userName|endswith: -admin",
                    "selection:\n  requestParameters.policyArn|contains: AdministratorAccess",
                ]
            )
        elif kind == "contains":
            det = rnd.choice(
                [
                    "selection:\n  userAgent|contains: [kali, parrot, pentoo, nmap]",
                    "selection:\n  errorCode|contains: [Denied, Unauthorized]",
                    "selection:\n  eventName|contains: [Delete, Disable]\n  eventSource|endswith: .amazonaws.com",
                    "selection:\n  sourceIPAddress|cidr: 203.0.113.0/24",
                    "selection:\n  userIdentity.arn|contains: assumed-role",
                ]
            )
        else:  # keywords
            word = rnd.choice(["skeddly", "AKIAIOSFODNN7", "203.0.113.", "terraform", "evil"])
            det = f"keywords:\n  - {word}"
            out.append((kind, _rule(i, det, "keywords")))
            continue
        out.append((kind, _rule(i, det)))
    return out


def _ids(store: Store, f: Filter) -> tuple[float, int]:
    t = time.perf_counter()
    q = store.queries
    n = len(q.ids(q.plan(f, None), 0, None))
    return time.perf_counter() - t, n


def main() -> None:
    cache = big_cache(1_000_000)
    store = Store(cache, readonly=True)
    total = store.total()
    with tempfile.TemporaryDirectory() as tmp:
        kinds: dict[str, str] = {}
        for i, (kind, text) in enumerate(generate()):
            (Path(tmp) / f"rule_{i:03d}.yml").write_text(text)
            kinds[f"bench rule {i}"] = kind
        t0 = time.perf_counter()
        ruleset = load_rules(Path(tmp))
        t_load = time.perf_counter() - t0
    rules = ruleset.rules
    print(f"cache: {cache} ({total:,} events)")
    print(
        f"load + compile: {t_load:.2f} s for {len(rules)} rules "
        f"({len(ruleset.skipped)} skipped: {[s.reason for s in ruleset.skipped]})"
    )
    anchors = {
        "name:StopInstances (column)": "name:StopInstances",
        "requestParameters.force:true (path)": "requestParameters.force:true",
        "skeddly (free word)": "skeddly",
    }
    for label, text in anchors.items():
        dt, n = _ids(store, parse(text))
        print(f"anchor {label}: {dt * 1000:.0f} ms, {n:,} events")
    window = Filter()
    timed: list[tuple[float, Result]] = []
    t0 = time.perf_counter()
    for rule in rules:
        t = time.perf_counter()
        res = run_rule(store, rule, window)
        timed.append((time.perf_counter() - t, res))
    t_run = time.perf_counter() - t0
    fired = sum(1 for _, r in timed if r.count)
    print(f"one rule at a time: {t_run:.2f} s for {len(rules)} rules ({fired} fired)")
    # as detect and the explorer run them: the raw-only rules share one pass over the chunks
    t0 = time.perf_counter()
    together = run(store, rules, window)
    t_all = time.perf_counter() - t0
    same = [r.rowids for _, r in timed] == [r.rowids for r in together]
    print(
        f"run: {t_all:.2f} s for {len(rules)} rules as detect runs them "
        f"({sum(1 for r in together if r.count)} fired; same events as one at a time: {same}), "
        "target <= 10 s"
    )
    by_kind: dict[str, float] = {}
    for dt, r in timed:
        k = kinds.get(r.rule.title, "?")
        by_kind[k] = by_kind.get(k, 0.0) + dt
    print("by kind: " + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(by_kind.items())))
    print("slowest:")
    for dt, r in sorted(timed, key=lambda x: -x[0])[:8]:
        rule: Rule = r.rule
        print(
            f"  {dt * 1000:7.0f} ms  {r.count:>9,}  {kinds.get(rule.title, '?'):<18} {rule.filter_text}"
        )
    store.close()


if __name__ == "__main__":
    main()
