"""Ingest benchmark: CloudTrail folders as S3 delivers them, through the CLI only.

    uv run python bench/ingest.py [--events 200000,1000000] [--out DIR] [--keep] [--skip-queries]

For each size it generates (once, then reuses; under bench/out/ingest/ by default) a folder laid
out like `aws s3 sync` of a trail bucket:
``AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_X16.json.gz``
(2 accounts x 3 regions, one gzip'd ``{"Records": [...]}`` file per account-region about every 5
minutes, heavy-tailed file sizes with busy days and quiet nights, records copied from the real
CloudTrail records in tests/data/real/ with fresh ids, times, regions, accounts and source IPs).
Everything is seeded except the newest slot, which is the time of generation: a folder is reused
while its manifest's parameters match (delete it to move it to today).

It then measures, in the same run and on the same files:

- the anchor ``zcat FILES | jq -c '.Records[]' > /dev/null`` (events/s);
- ``trailtui ingest FOLDER --cache DB`` into a fresh cache: wall time, events/s, ratio to jq,
  bytes per event on disk (every file of the cache, -wal/-shm included, after the process
  exits), peak RSS (wait4 rusage of the child; a sampled sum over its process tree is shown too
  when it is bigger) and CPU time in cores;
- for the biggest size, the same folder cut into 5 chronological parts of equal events,
  ingested one after another into one cache: the rate of each part as the cache grows;
- on the biggest cache, whole-process ``trailtui query --limit 100 --format jsonl`` for one
  filter of every kind of the language (median of 3 runs).

The product is driven only through ``python -m trailtui`` (never imported), with
TRAILTUI_CACHE_DIR / TRAILTUI_CONFIG_DIR / TRAILTUI_DATA_DIR pointed under the out folder.
Caches are deleted at the end unless --keep; the generated folders are always kept.

Targets (from the cache-rewrite issue), printed beside the figures; this is not a pass/fail test:
ingest >= 2x zcat|jq, aiming at 100,000 events/s; <= 400 B/event on disk; peak RSS <= 300 MB;
every query <= 1 s whole-process.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import ipaddress
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "real"
DEFAULT_OUT = ROOT / "bench" / "out" / "ingest"

GEN_VERSION = 1  # bump when the generated data changes shape: cached folders are rebuilt
SEED = 20261124
ACCOUNTS = ("111122223333", "444455556666")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
ACCOUNT_WEIGHT = (1.0, 0.6)
REGION_WEIGHT = (1.0, 0.5, 0.25)
SLOT = 300  # seconds: CloudTrail delivers a file per account-region about every 5 minutes
# events per file: lognormal around exp(MU) scaled by the hour's activity, plus rare bursts;
# tuned for ~116 events/file on average, i.e. ~8,600 files per 1M events
MU, SIGMA = 4.9, 1.4
BURST_P, BURST_X = 0.004, (8.0, 30.0)
MAX_PER_FILE = 6000
GZIP_LEVEL = 6
SERVICE_SOURCES = (
    "ec2.amazonaws.com",
    "lambda.amazonaws.com",
    "autoscaling.amazonaws.com",
    "cloudformation.amazonaws.com",
    "ssm.amazonaws.com",
    "config.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "AWS Internal",
)
ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

TARGET_RATIO = 2.0
TARGET_RATE = 100_000
TARGET_BYTES = 400
TARGET_RSS_MB = 300
TARGET_QUERY_S = 1.0
PARTS = 5
QUERY_RUNS = 3


# ---------------------------------------------------------------- generation


@dataclass(frozen=True)
class FileSpec:
    rel: str  # path under the folder
    account: str
    region: str
    start: int  # epoch seconds of the 5-minute slot the events fall in
    count: int
    seed: int


@dataclass(frozen=True)
class Template:
    record: dict[str, Any]
    identity_account: bool  # userIdentity.accountId is present: set it to the file's account
    vary_ip: bool  # sourceIPAddress is an IP (a service name such as "AWS Internal" is kept)
    request_id: str  # "uuid", "chars" (random of the same length) or "" (absent: keep)


_TEMPLATES: list[Template] = []
_IP_POOL: list[str] = []
_IP_CUM: list[float] = []


def load_templates() -> list[dict[str, Any]]:
    """The real records: invictus-ir's 2,900 plus the AWS docs examples (Insight events left out:
    they are delivered to a CloudTrail-Insight folder, not with the API calls)."""
    records: list[dict[str, Any]] = []
    for p in sorted((REAL / "invictus-ir" / "CloudTrail").glob("*.json")):
        records.extend(json.loads(p.read_text())["Records"])
    docs = json.loads((REAL / "awsdocs" / "doc_examples_records.json").read_text())["Records"]
    records.extend(
        r for r in docs if r.get("eventName") and r.get("eventType") != "AwsCloudTrailInsight"
    )
    return records


def _is_ip(s: object) -> bool:
    try:
        ipaddress.ip_address(str(s))
    except ValueError:
        return False
    return True


def ip_pool(seed: int) -> tuple[list[str], list[float]]:
    """A few hundred IPv4s (private and public) and some AWS service names, Zipf-weighted."""
    rng = _rng(seed, "ips")
    ips: set[str] = set()
    while len(ips) < 110:
        ips.add(
            f"10.{rng.choice((0, 8, 16, 32, 248))}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        )
    while len(ips) < 150:
        ips.add(f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    while len(ips) < 180:
        ips.add(f"192.168.{rng.randrange(16)}.{rng.randrange(1, 255)}")
    public_first = (3, 13, 18, 34, 35, 44, 52, 54, 81, 91, 185, 198, 203)
    while len(ips) < 320:
        ips.add(
            f"{rng.choice(public_first)}.{rng.randrange(256)}."
            f"{rng.randrange(256)}.{rng.randrange(1, 255)}"
        )
    pool = sorted(ips)
    rng.shuffle(pool)
    weights = [1.0 / (k + 1) ** 1.1 for k in range(len(pool))]
    services = list(SERVICE_SOURCES)
    share = 0.06 * sum(weights) / len(services)  # service names: ~6% of the replaced sources
    pool += services
    weights += [share] * len(services)
    cum: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    return pool, cum


def _rng(seed: int, salt: str) -> random.Random:
    return random.Random(f"{seed}:{salt}")


def _init_worker(seed: int) -> None:
    global _IP_POOL, _IP_CUM
    _TEMPLATES.clear()
    for r in load_templates():
        ui = r.get("userIdentity")
        rid = r.get("requestID")
        kind = "" if not isinstance(rid, str) else "uuid" if UUID_RE.match(rid) else "chars"
        _TEMPLATES.append(
            Template(
                record=r,
                identity_account=isinstance(ui, dict) and "accountId" in ui,
                vary_ip=_is_ip(r.get("sourceIPAddress")),
                request_id=kind,
            )
        )
    _IP_POOL, _IP_CUM = ip_pool(seed)


def _uuid4(rng: random.Random) -> str:
    """A version-4 UUID string from rng (uuid.UUID is 3x slower for the same text)."""
    x = rng.getrandbits(128)
    h = f"{x:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[x & 3]}{h[17:20]}-{h[20:]}"


def _make_file(spec: FileSpec, folder: str) -> tuple[int, str]:
    """Write one log file; returns (gzip bytes, one eventID in it)."""
    rng = _rng(spec.seed, "file")
    times = sorted(spec.start + rng.randrange(SLOT) for _ in range(spec.count))
    records: list[dict[str, Any]] = []
    for t in times:
        tpl = rng.choice(_TEMPLATES)
        rec = dict(tpl.record)  # a copy of the top level; nested objects replaced, never mutated
        if tpl.identity_account:
            ui = dict(rec["userIdentity"])
            ui["accountId"] = spec.account
            rec["userIdentity"] = ui
        rec["eventTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        rec["awsRegion"] = spec.region
        if tpl.vary_ip:
            rec["sourceIPAddress"] = rng.choices(_IP_POOL, cum_weights=_IP_CUM)[0]
        if tpl.request_id == "uuid":
            rec["requestID"] = _uuid4(rng)
        elif tpl.request_id == "chars":
            rec["requestID"] = "".join(rng.choices(UPPER_ALNUM, k=len(rec["requestID"])))
        rec["eventID"] = _uuid4(rng)
        rec["recipientAccountId"] = spec.account
        records.append(rec)
    data = gzip.compress(orjson.dumps({"Records": records}), GZIP_LEVEL, mtime=0)
    path = Path(folder) / spec.rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data), records[len(records) // 2]["eventID"]


def _make_batch(args: tuple[list[FileSpec], str]) -> list[tuple[int, str]]:
    specs, folder = args
    return [_make_file(s, folder) for s in specs]


def activity(t: int) -> float:
    """How busy an account is at epoch t: business hours vs nights, weekdays vs weekends."""
    d = datetime.fromtimestamp(t, UTC)
    h = d.hour + d.minute / 60
    day = 0.2 + 1.6 * max(0.0, math.sin(math.pi * (h - 6) / 14)) if 6 <= h <= 20 else 0.2
    return day * (0.45 if d.weekday() >= 5 else 1.0)


def plan(n: int, seed: int, end: int) -> list[FileSpec]:
    """Walk 5-minute slots back from `end` until n events are placed; oldest file first."""
    rng = _rng(seed, f"plan:{n}")
    specs: list[FileSpec] = []
    left = n
    slot = end - SLOT
    while left > 0:
        act = activity(slot)
        for ai, account in enumerate(ACCOUNTS):
            for ri, region in enumerate(REGIONS):
                if left <= 0:
                    break
                scale = act * ACCOUNT_WEIGHT[ai] * REGION_WEIGHT[ri]
                count = int(rng.lognormvariate(MU + math.log(scale), SIGMA))
                if rng.random() < BURST_P:
                    count = int(count * rng.uniform(*BURST_X)) + 500
                count = min(count, MAX_PER_FILE, left)
                if count == 0:  # nothing happened in this account-region: no file
                    continue
                left -= count
                delivered = datetime.fromtimestamp(slot + SLOT, UTC)
                stamp = delivered.strftime("%Y%m%dT%H%MZ")
                name = f"{account}_CloudTrail_{region}_{stamp}_{''.join(rng.choices(ALNUM, k=16))}"
                rel = f"AWSLogs/{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/{name}.json.gz"
                specs.append(FileSpec(rel, account, region, slot, count, rng.getrandbits(64)))
        slot -= SLOT
    specs.reverse()
    return specs


@dataclass
class Folder:
    path: Path
    events: int
    files: int
    gzip_bytes: int
    first: str  # ISO times of the first and last slot
    last: str
    per_file: dict[str, int]  # p50, p90, p99, max, min
    event_id: str  # one eventID known to be in the folder
    parts: list[list[str]]  # PARTS chronological lists of relative paths, equal events
    part_events: list[int]  # events in each part


def params_key(n: int, seed: int) -> dict[str, Any]:
    return {
        "version": GEN_VERSION,
        "events": n,
        "seed": seed,
        "accounts": ACCOUNTS,
        "regions": REGIONS,
        "mu_sigma": [MU, SIGMA],
        "burst": [BURST_P, *BURST_X],
        "max_per_file": MAX_PER_FILE,
        "gzip_level": GZIP_LEVEL,
        "templates": _templates_digest(),
    }


def _templates_digest() -> str:
    h = hashlib.sha256()
    for p in sorted((REAL / "invictus-ir" / "CloudTrail").glob("*.json")):
        h.update(p.read_bytes())
    h.update((REAL / "awsdocs" / "doc_examples_records.json").read_bytes())
    return h.hexdigest()[:16]


def percentile(sorted_values: Sequence[int], q: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def split_parts(specs: Sequence[FileSpec], parts: int) -> tuple[list[list[str]], list[int]]:
    """Chronological parts of (nearly) equal events, cut between files."""
    n = sum(s.count for s in specs)
    files: list[list[str]] = [[] for _ in range(parts)]
    events = [0] * parts
    done = 0
    for s in specs:  # already chronological
        k = min(parts - 1, (done + s.count // 2) * parts // n)
        files[k].append(s.rel)
        events[k] += s.count
        done += s.count
    return files, events


def generate(n: int, out: Path, seed: int = SEED) -> Folder:
    key = params_key(n, seed)
    path = out / f"cloudtrail-{label(n)}"
    manifest = path / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        if m.get("params") == json.loads(json.dumps(key)):
            return Folder(path=path, **m["folder"])
        log(f"{path}: generated with other parameters, generating again")
    if path.exists():
        shutil.rmtree(path)
    now = int(time.time())
    end = now - now % SLOT
    specs = plan(n, seed, end)
    log(f"generating {label(n)}: {len(specs):,} files into {path} ...")
    t0 = time.perf_counter()
    batches = [specs[i : i + 64] for i in range(0, len(specs), 64)]
    results: list[tuple[int, str]] = []
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(os.cpu_count() or 1, initializer=_init_worker, initargs=(seed,)) as pool:
        for r in pool.imap(_make_batch, [(b, str(path)) for b in batches]):
            results.extend(r)
    log(f"  generated in {time.perf_counter() - t0:.1f}s")
    counts = sorted(s.count for s in specs)
    parts, part_events = split_parts(specs, PARTS)
    folder = Folder(
        path=path,
        events=n,
        files=len(specs),
        gzip_bytes=sum(b for b, _ in results),
        first=iso(specs[0].start),
        last=iso(specs[-1].start + SLOT),
        per_file={
            "min": counts[0],
            "p50": percentile(counts, 0.5),
            "p90": percentile(counts, 0.9),
            "p99": percentile(counts, 0.99),
            "max": counts[-1],
        },
        event_id=results[len(results) // 2][1],
        parts=parts,
        part_events=part_events,
    )
    body = asdict(folder)
    del body["path"]
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps({"params": key, "folder": body}))
    tmp.replace(manifest)  # written last: a folder without it is incomplete
    return folder


def part_folders(folder: Folder, out: Path) -> list[Path]:
    """The parts as folders of hard links in the same AWSLogs layout (sizes: none)."""
    base = out / f"parts-{label(folder.events)}"
    if base.exists():
        shutil.rmtree(base)
    dirs = []
    for k, rels in enumerate(folder.parts, 1):
        d = base / f"part{k}"
        for rel in rels:
            dst = d / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(folder.path / rel, dst)
            except OSError:
                shutil.copyfile(folder.path / rel, dst)
        dirs.append(d)
    return dirs


# ---------------------------------------------------------------- measuring


@dataclass
class Run:
    wall: float
    rc: int
    cpu: float  # user + sys seconds (the child's and its waited-for children's)
    maxrss_kib: int  # ru_maxrss from wait4
    tree_kib: int  # the biggest sampled sum of RSS over the process tree
    stdout: str
    stderr: str

    @property
    def failed(self) -> bool:
        """Exited with an error, or died of an uncaught exception (exit 1, like "no match")."""
        return self.rc not in (0, 1) or "Traceback (most recent call last)" in self.stderr


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree_rss_kib(root: int) -> int:
    kids = _children()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(kids.get(pid, ()))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def run(cmd: Sequence[str], env: dict[str, str], logdir: Path, name: str) -> Run:
    """Run cmd, wall-clocked, with its own rusage (wait4) and a sampled RSS of its tree."""
    logdir.mkdir(parents=True, exist_ok=True)
    out_p, err_p = logdir / f"{name}.out", logdir / f"{name}.err"
    with out_p.open("wb") as out, err_p.open("wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.1):
                peak[0] = max(peak[0], _tree_rss_kib(p.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        wall=wall,
        rc=p.returncode,
        cpu=ru.ru_utime + ru.ru_stime,
        maxrss_kib=ru.ru_maxrss,
        tree_kib=peak[0],
        stdout=out_p.read_text(errors="replace"),
        stderr=err_p.read_text(errors="replace"),
    )


def trailtui(*args: str) -> list[str]:
    return [sys.executable, "-m", "trailtui", *args]


def product_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    # as a user runs it: bytecode written once and read after (with this set, every run
    # compiles the modules afresh: ~0.1 s a process)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for var, sub in (
        ("TRAILTUI_CACHE_DIR", "cache"),
        ("TRAILTUI_CONFIG_DIR", "config"),
        ("TRAILTUI_DATA_DIR", "data"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    return env


def disk_bytes(cache_dir: Path) -> int:
    """Everything in the cache's own folder: the db, -wal, -shm and any sidecar."""
    return sum(p.stat().st_size for p in cache_dir.rglob("*") if p.is_file())


def fresh_cache(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path / "cache.sqlite"


def warm(folder: Path) -> None:
    """Read every file once so both contenders start from the page cache."""
    subprocess.run(
        ["bash", "-c", 'find "$1" -type f -print0 | xargs -0 cat > /dev/null', "bash", folder],
        check=True,
    )


JQ = (
    "set -o pipefail; find \"$1\" -type f -name '*.json.gz' -print0 "
    "| xargs -0 zcat | jq -c '.Records[]' > /dev/null"
)


def added(stderr_stdout: str) -> int | None:
    m = re.search(r"([\d,]+) events added", stderr_stdout)
    return int(m.group(1).replace(",", "")) if m else None


@dataclass
class Ingest:
    run: Run
    events: int
    disk: int  # bytes of every file in the cache's folder
    db: Path

    @property
    def rate(self) -> float:
        return self.events / self.run.wall

    @property
    def rss_mb(self) -> float:
        return max(self.run.maxrss_kib, self.run.tree_kib) / 1024

    @property
    def ok(self) -> bool:
        return self.run.rc == 0 and not self.run.failed

    def line(self, jq_rate: float | None = None) -> str:
        r = self.run
        if not self.ok:
            return f"FAILED (exit {r.rc}, {r.wall:.1f} s):\n{tail(r.stderr + r.stdout, 8)}"
        tree = f" (tree {r.tree_kib / 1024:.0f} MB)" if r.tree_kib > 1.1 * r.maxrss_kib else ""
        vs = f"  ({self.rate / jq_rate:.2f}x jq)" if jq_rate else ""
        return (
            f"{self.rate:>9,.0f} events/s  {r.wall:6.1f} s{vs}  {self.disk / self.events:,.0f}"
            f" B/event  peak RSS {r.maxrss_kib / 1024:.0f} MB{tree}  cpu {r.cpu / r.wall:.1f} cores"
        )


def ingest(paths: Sequence[Path], db: Path, events: int, env: dict[str, str], logs: Path) -> Ingest:
    """`trailtui ingest PATHS --cache DB`; its output goes to logs.{out,err}."""
    cmd = trailtui("ingest", *map(str, paths), "--cache", str(db))
    r = run(cmd, env, logs.parent, logs.name)
    got = added(r.stderr + r.stdout)
    if r.rc != 0 or r.failed:
        log(f"  trailtui ingest exited {r.rc}:\n{tail(r.stderr + r.stdout)}")
    elif got is None:
        log("  note: trailtui ingest did not say how many events it added")
    elif got != events:
        log(f"  note: trailtui says {got:,} events added, the folder has {events:,}")
    return Ingest(run=r, events=events, disk=disk_bytes(db.parent), db=db)


def query_filters(folder: Folder) -> list[str]:
    """One filter of every kind the language has, with values present in the generated data
    (principal, key, instance id, agents and words come from the invictus-ir templates)."""
    t0 = datetime.fromisoformat(folder.first)
    t1 = datetime.fromisoformat(folder.last)
    mid = (t0 + (t1 - t0) / 2).replace(minute=0, second=0)
    since, until = mid, mid + timedelta(hours=2)
    return [
        "",
        "name:StopInstances",
        "name:StopInstances,TerminateInstances",
        "name:Stop*",
        "name:/^(Stop|Terminate)/",
        "-name:Describe* source:ec2.amazonaws.com",
        f"error:AccessDenied region:{REGIONS[1]}",
        "error:*",
        "ip:10.0.0.0/8",
        "user:benjamin",
        f"account:{ACCOUNTS[1]}",
        "readonly:false",
        "key:ASIATFQR7NSCS5BLNV76",
        "resource:i-0dbc91f429e48eeed",
        "type:AWS::EC2::Instance",
        "agent:*boto*",
        "eventtype:AwsConsoleSignIn",
        "category:Data",
        f"id:{folder.event_id}",
        f"since:{since:%Y-%m-%dT%H:%M} until:{until:%Y-%m-%dT%H:%M}",
        "zzqxnotthere qqxyabsent",
        "VcpuLimitExceeded",
        '"stratus-red-team" -Terraform',
    ]


@dataclass
class QueryResult:
    text: str
    seconds: float
    rc: int
    rows: int
    error: str  # stderr of a failed run ("" when every run exited 0 or 1 cleanly)


def time_query(text: str, db: Path, env: dict[str, str]) -> QueryResult:
    """Median wall time of QUERY_RUNS whole-process runs (stdout read through a pipe, to count
    the rows; the cost is that of > /dev/null for 100 lines)."""
    cmd = trailtui("query", "--cache", str(db), "--limit", "100", "--format", "jsonl", "--", text)
    times: list[float] = []
    rc, rows, error = 0, 0, ""
    for _ in range(QUERY_RUNS):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, capture_output=True, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        rc, rows = p.returncode, p.stdout.count(b"\n")
        stderr = p.stderr.decode(errors="replace").strip()
        if rc not in (0, 1) or "Traceback (most recent call last)" in stderr:
            error = stderr or f"exit {rc}"
            break
    return QueryResult(text, statistics.median(times), rc, rows, error)


# ---------------------------------------------------------------- report


def label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + s for s in text.strip().splitlines()[-lines:])


def mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    ap.add_argument("--events", default="200000,1000000", help="comma-separated sizes")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folders, caches and logs")
    ap.add_argument("--keep", action="store_true", help="keep the caches (and the part folders)")
    ap.add_argument("--skip-queries", action="store_true")
    return ap.parse_args(argv)


@dataclass
class Report:
    lines: list[str]
    verdicts: list[str]
    failed: bool = False

    def add(self, line: str = "") -> None:
        self.lines.append(line)


def measure_size(
    n: int, out: Path, work: Path, env: dict[str, str], rep: Report
) -> tuple[Folder, Ingest]:
    """Generate (or reuse) the folder, then time zcat|jq and trailtui ingest over it; the
    verdicts are those of the last size measured."""
    rep.verdicts.clear()
    folder = generate(n, out)
    pf = folder.per_file
    rep.add()
    rep.add(
        f"folder {label(n)}: {folder.files:,} files, {folder.gzip_bytes / 1e6:,.0f} MB gzip "
        f"({folder.gzip_bytes / n:.0f} B/event), {len(ACCOUNTS)} accounts x "
        f"{len(REGIONS)} regions, {folder.first[:10]}..{folder.last[:10]}, "
        f"events/file avg {n / folder.files:.0f} p50 {pf['p50']} p90 {pf['p90']} "
        f"p99 {pf['p99']:,} max {pf['max']:,}"
    )
    warm(folder.path)
    log(f"zcat | jq over {label(n)} ...")
    jq = run(["bash", "-c", JQ, "bash", str(folder.path)], env, work / "logs", f"jq-{label(n)}")
    jq_rate = n / jq.wall
    if jq.rc != 0:
        rep.add(f"  zcat | jq failed ({jq.rc}):\n{tail(jq.stderr)}")
    rep.add(
        f"  zcat | jq -c '.Records[]'  {jq_rate:>9,.0f} events/s  {jq.wall:6.1f} s"
        f"  cpu {jq.cpu / jq.wall:.1f} cores"
    )
    log(f"trailtui ingest {label(n)} ...")
    db = fresh_cache(work / f"cache-{label(n)}")
    ing = ingest([folder.path], db, n, env, work / "logs" / f"ingest-{label(n)}")
    rep.failed |= not ing.ok
    rep.add(f"  trailtui ingest            {ing.line(jq_rate)}")
    if ing.ok:
        rep.verdicts += [
            f"rate {ing.rate / jq_rate:.2f}x jq (>= {TARGET_RATIO:g}x) "
            f"{mark(ing.rate >= TARGET_RATIO * jq_rate)}",
            f"{ing.rate:,.0f} events/s (aim {TARGET_RATE:,}) {mark(ing.rate >= TARGET_RATE)}",
            f"{ing.disk / n:,.0f} B/event (<= {TARGET_BYTES}) {mark(ing.disk / n <= TARGET_BYTES)}",
            f"peak RSS {ing.rss_mb:.0f} MB (<= {TARGET_RSS_MB}) {mark(ing.rss_mb <= TARGET_RSS_MB)}",
        ]
    return folder, ing


def measure_growth(
    folder: Folder, out: Path, work: Path, env: dict[str, str], rep: Report, keep: bool
) -> None:
    """The folder in PARTS chronological parts ingested one after another into one cache, and
    the last part alone into an empty one (is a slow part slow because of the cache or itself?)."""
    n = folder.events
    log(f"trailtui ingest {label(n)} in {PARTS} parts, one after another ...")
    parts = part_folders(folder, out)
    db = fresh_cache(work / f"cache-{label(n)}-parts")
    runs: list[Ingest] = []
    for k, (d, events) in enumerate(zip(parts, folder.part_events, strict=True), 1):
        runs.append(ingest([d], db, events, env, work / "logs" / f"ingest-{label(n)}-part{k}"))
        if not runs[-1].ok:
            rep.failed = True
            rep.add(f"  part {k} of {PARTS}                 {runs[-1].line()}")
            break
    else:
        rates = [r.rate for r in runs]
        done = [sum(folder.part_events[: k + 1]) for k in range(PARTS)]
        rep.add(
            "  by fifth (events/s)        "
            + " ".join(f"{x:,.0f}" for x in rates)
            + f"  (last/first {rates[-1] / rates[0]:.2f}, total {sum(r.run.wall for r in runs):.1f} s)"
        )
        rep.add(
            "  B/event after each fifth   "
            + " ".join(f"{r.disk / e:,.0f}" for r, e in zip(runs, done, strict=True))
            + f"  peak RSS max {max(r.rss_mb for r in runs):.0f} MB"
        )
        alone_db = fresh_cache(work / f"cache-{label(n)}-last")
        logs = work / "logs" / f"ingest-{label(n)}-last-alone"
        alone = ingest([parts[-1]], alone_db, folder.part_events[-1], env, logs)
        rep.failed |= not alone.ok
        rep.add(f"  last fifth, empty cache    {alone.line()}")
        shutil.rmtree(alone_db.parent, ignore_errors=True)
    if not keep:
        shutil.rmtree(out / f"parts-{label(n)}", ignore_errors=True)
        shutil.rmtree(db.parent, ignore_errors=True)


def measure_queries(folder: Folder, db: Path, env: dict[str, str], rep: Report) -> None:
    log(f"queries on the {label(folder.events)} cache ...")
    results = [time_query(f, db, env) for f in query_filters(folder)]
    width = max(len(r.text) for r in results) + 2
    rep.add()
    rep.add(
        f"query on {label(folder.events)} (whole process, --limit 100 --format jsonl, "
        f"median of {QUERY_RUNS}; exit 1 = no match)"
    )
    rep.add(f"  {'filter':<{width}} {'seconds':>8} {'rows':>5} exit")
    for q in results:
        shown = q.text or "(empty: everything)"
        rep.add(f"  {shown:<{width}} {q.seconds:8.2f} {q.rows:5d} {q.rc:>4}")
        if q.error:
            rep.failed = True
            rep.add(tail(q.error, 8))
    good = [q for q in results if not q.error]
    if good:
        slowest = max(good, key=lambda q: q.seconds)
        rep.verdicts.append(
            f"slowest query {slowest.seconds:.2f} s `{slowest.text}` "
            f"(<= {TARGET_QUERY_S:g} s) {mark(slowest.seconds <= TARGET_QUERY_S)}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.events.split(",") if s.strip()})
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = out / "run"
    env = product_env(work / "home")
    rep = Report(lines=[], verdicts=[])
    rep.add(
        f"targets: ingest >= {TARGET_RATIO:g}x jq (aim {TARGET_RATE:,} events/s), "
        f"<= {TARGET_BYTES} B/event, peak RSS <= {TARGET_RSS_MB} MB, "
        f"every query <= {TARGET_QUERY_S:g} s whole-process"
    )
    startup = run(trailtui("--version"), env, work / "logs", "version")
    load = os.getloadavg()[0]
    rep.add(
        f"machine: {os.cpu_count()} cores, load {load:.2f} at start; "
        f"startup floor (python -m trailtui --version) {startup.wall:.2f} s"
    )
    if startup.rc != 0:
        rep.failed = True
        rep.add(f"  trailtui --version failed:\n{tail(startup.stderr)}")

    biggest: tuple[Folder, Ingest] | None = None
    for n in sizes:
        biggest = measure_size(n, out, work, env, rep)
    if biggest is not None and biggest[1].ok:
        folder, whole = biggest
        measure_growth(folder, out, work, env, rep, args.keep)
        if not args.skip_queries:
            measure_queries(folder, whole.db, env, rep)

    if rep.verdicts:
        rep.add()
        rep.add(f"vs targets ({label(sizes[-1])}): " + "; ".join(rep.verdicts))
    rep.add(f"load {os.getloadavg()[0]:.2f} at the end")
    if not args.keep:
        for n in sizes:
            shutil.rmtree(work / f"cache-{label(n)}", ignore_errors=True)
    print("\n".join(rep.lines))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
