"""Log file integrity validation, as `aws cloudtrail validate-logs` does it.

Walks the CloudTrail-Digest files of each account-region in the window, oldest first:
checks each listed log file's SHA-256 (of its uncompressed bytes), follows the chain
(previousDigestHashValue / previousDigestSignature), and verifies each digest's RSA
signature (SHA256withRSA over ``endTime\\nbucket/key\\nsha256(digest)\\npreviousSignature``)
with the public keys from CloudTrail ListPublicKeys when they can be reached — and says so
plainly when signatures were not checked. Reports valid, modified, missing and unlisted
log files and digest gaps per account and region, and each log file's result (``Report.files``,
which ``record`` keeps in the cache: the detail view and the case export say whether the file
an event came from was validated).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import re
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..sources.s3 import ACCOUNT_RE, ORG_RE, S3Trail, TrailPrefix
from ..store.verified import (
    DIGEST_INVALID,
    MISSING,
    MODIFIED,
    UNLISTED,
    VALIDATED,
    FileCheck,
    file_uri,
)

if TYPE_CHECKING:
    from ..store.store import Store

_DIGEST_TIME = re.compile(r"_(\d{8}T\d{6}Z)\.json\.gz$")
_DAY = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/[^/]*$")


@dataclass(slots=True)
class RegionReport:
    account: str
    region: str
    digests: int = 0
    signatures_valid: int = 0
    signatures_invalid: list[str] = field(default_factory=list)
    chain_breaks: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    valid: int = 0
    modified: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    modified_digests: list[str] = field(
        default_factory=list
    )  # the next digest's hash of it differs
    unchecked: list[str] = field(default_factory=list)  # signature not checkable offline (newest)

    @property
    def ok(self) -> bool:
        return not (self.signatures_invalid or self.chain_breaks or self.gaps or self.modified
                    or self.missing or self.unlisted or self.modified_digests)  # fmt: skip


@dataclass(slots=True)
class Report:
    regions: list[RegionReport] = field(default_factory=list)
    signatures_checked: bool = False
    why_unchecked: str = ""
    files: list[FileCheck] = field(default_factory=list)  # each log file's result

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.regions)


def _gunzip(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return b""
    return data


def string_to_sign(digest: dict[str, Any], digest_sha256_hex: str) -> bytes:
    return (
        f"{digest.get('digestEndTime', '')}\n"
        f"{digest.get('digestS3Bucket', '')}/{digest.get('digestS3Object', '')}\n"
        f"{digest_sha256_hex}\n"
        f"{digest.get('previousDigestSignature') or 'null'}"
    ).encode()


def verify_signature(public_key_der: bytes, signature_hex: str, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(public_key_der)
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        key.verify(bytes.fromhex(signature_hex), message, padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def public_keys(
    start: datetime, end: datetime, profile: str | None, region: str | None
) -> dict[str, bytes]:
    """Fingerprint -> DER public key from CloudTrail ListPublicKeys (raises on failure)."""
    from ..sources.lookup import Target, make_client

    client = make_client(Target(profile, region or "us-east-1"))
    out: dict[str, bytes] = {}
    kw: dict[str, Any] = {"StartTime": start, "EndTime": end}
    while True:
        resp = client.list_public_keys(**kw)
        for k in resp.get("PublicKeyList", []):
            out[str(k["Fingerprint"])] = bytes(k["Value"])
        if not resp.get("NextToken"):
            return out
        kw["NextToken"] = resp["NextToken"]


def check(
    trail: S3Trail | LogReader,
    start: datetime | None,
    end: datetime,
    profile: str | None,
    region: str | None,
    keys_file: Path | None = None,
) -> Report:
    """verify() with the keys of --public-keys FILE or from ListPublicKeys, or plainly without
    when they can't be had."""
    keys: dict[str, bytes] | None
    why = ""
    try:
        if keys_file is not None:
            keys = public_keys_file(keys_file)
        else:
            keys = public_keys(start or end - timedelta(days=3650), end, profile, region)
    except Exception as e:  # said plainly: the signatures are then not checked
        source = str(keys_file) if keys_file is not None else "CloudTrail ListPublicKeys"
        keys, why = None, f"{source} failed ({type(e).__name__}: {e})"
    return verify(trail, start, end, keys, why)


def _norm(key: str) -> str:
    """A key from AWSLogs/ on: digests name S3 keys (with the trail's prefix), a synced folder
    holds the same files under any local path."""
    i = key.find("AWSLogs/")
    return key[i:] if i >= 0 else key


def _day_of(key: str) -> date | None:
    m = _DAY.search(key)
    if m is None:
        return None
    with contextlib.suppress(ValueError):
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return None


class LogReader(Protocol):
    """Where the log files and digests are read from: a bucket or a synced folder."""

    offline: bool  # signatures can't be read from object metadata (a synced folder)

    def discover(self) -> list[TrailPrefix]: ...

    def keys(self, prefix: str, first: date | None, last: date) -> list[str]:
        """Keys under PREFIX/YYYY/MM/DD/ for the days in [first, last] (None: every day)."""
        ...

    def read(self, key: str, bucket: str | None = None) -> tuple[bytes, str, str] | None:
        """(body, signature from the object's metadata or '', which version was read: the
        ETag of an object, size:mtime of a local file), None when it is missing."""
        ...

    def uri(self, key: str, bucket: str | None = None) -> str:
        """The file's uri as the cache names the origin of the events read from it."""
        ...


class S3Reader:
    offline = False

    def __init__(self, trail: S3Trail) -> None:
        self.trail = trail

    def discover(self) -> list[TrailPrefix]:
        return self.trail.discover()

    def keys(self, prefix: str, first: date | None, last: date) -> list[str]:
        first = first or last
        out: list[str] = []
        d = first
        while d <= last:
            out += [o["Key"] for o in self.trail.objects(f"{prefix}{d:%Y/%m/%d}/")]
            d += timedelta(days=1)
        return out

    def read(self, key: str, bucket: str | None = None) -> tuple[bytes, str, str] | None:
        try:
            obj = self.trail.client.get_object(Bucket=bucket or self.trail.location.bucket, Key=key)
        except Exception:
            return None
        meta = {k.lower(): v for k, v in (obj.get("Metadata") or {}).items()}
        etag = str(obj.get("ETag") or "").strip('"')
        return obj["Body"].read(), str(meta.get("signature", "")), etag

    def uri(self, key: str, bucket: str | None = None) -> str:
        # as sources/s3.py names the objects it reads
        return file_uri(f"s3://{bucket or self.trail.location.bucket}/{key}")


class FolderReader:
    """A synced copy (`aws s3 sync`): PATH is the AWSLogs folder or any folder above it."""

    offline = True

    def __init__(self, path: Path) -> None:
        logs = path if path.name == "AWSLogs" else None
        if logs is None:
            found = sorted(
                (p for p in path.rglob("AWSLogs") if p.is_dir()), key=lambda p: len(p.parts)
            )
            logs = found[0] if found else path / "AWSLogs"
        self.root = logs.parent

    def discover(self) -> list[TrailPrefix]:
        out: list[TrailPrefix] = []
        logs = self.root / "AWSLogs"
        if not logs.is_dir():
            return out
        for top in sorted(logs.iterdir()):
            accounts = [(top, "")]
            if ORG_RE.match(top.name):
                accounts = [(a, top.name) for a in sorted(top.iterdir())]
            for acct, org in accounts:
                ct = acct / "CloudTrail"
                if not (ACCOUNT_RE.match(acct.name) and ct.is_dir()):
                    continue
                for region in sorted(p for p in ct.iterdir() if p.is_dir()):
                    rel = region.relative_to(self.root).as_posix() + "/"
                    out.append(TrailPrefix(rel, acct.name, region.name, org))
        return out

    def keys(self, prefix: str, first: date | None, last: date) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        out = []
        for f in base.rglob("*"):
            if not f.is_file():
                continue
            key = f.relative_to(self.root).as_posix()
            day = _day_of(key)
            if day is not None and (day > last or (first is not None and day < first)):
                continue
            out.append(key)
        return sorted(out)

    def read(self, key: str, bucket: str | None = None) -> tuple[bytes, str, str] | None:
        path = self.root / _norm(key)
        try:
            st = path.stat()
            return path.read_bytes(), "", f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            return None

    def uri(self, key: str, bucket: str | None = None) -> str:
        # as sources/folder.py names the files it reads (absolute, links resolved)
        return file_uri(str(self.root / _norm(key)))


def public_keys_file(path: Path) -> dict[str, bytes]:
    """Fingerprint -> DER key from the JSON `aws cloudtrail list-public-keys` prints."""
    import base64

    data = json.loads(path.read_text())
    out: dict[str, bytes] = {}
    for k in data.get("PublicKeyList", []) if isinstance(data, dict) else []:
        value = k.get("Value", "")
        out[str(k.get("Fingerprint", ""))] = (
            base64.b64decode(value) if isinstance(value, str) else bytes(value)
        )
    if not out:
        raise ValueError(f"{path}: no PublicKeyList with keys (as list-public-keys prints)")
    return out


def verify(
    trail: S3Trail | LogReader,
    start: datetime | None,
    end: datetime,
    keys: dict[str, bytes] | None,
    why_unchecked: str = "",
) -> Report:
    """Every account-region's digest chain in the window (None: all the reader holds): the
    digests' signatures, hashes and links, and the log files they list."""
    reader: LogReader = S3Reader(trail) if isinstance(trail, S3Trail) else trail
    report = Report(signatures_checked=keys is not None, why_unchecked=why_unchecked)
    at = int(time.time())
    first = start.astimezone(UTC).date() if start is not None else None
    last = end.astimezone(UTC).date()
    for tp in reader.discover():
        rr = RegionReport(tp.account, tp.region)
        report.regions.append(rr)
        digest_prefix = tp.prefix.replace("/CloudTrail/", "/CloudTrail-Digest/")
        dkeys = reader.keys(digest_prefix, first, last + timedelta(days=1))
        dkeys.sort(key=lambda k: m.group(1) if (m := _DIGEST_TIME.search(k)) else k)
        loaded: list[tuple[str, bytes, str, str, dict[str, Any] | None]] = []
        for key in dkeys:
            got = reader.read(key)
            if got is None:
                continue
            raw = _gunzip(got[0])
            try:
                digest = json.loads(raw)
            except ValueError:
                digest = None
            loaded.append((key, raw, hashlib.sha256(raw).hexdigest(), got[1], digest))
        report.files += _check_digests(rr, loaded, keys, reader, at, why_unchecked)
        listed = {
            _norm(str(lf.get("s3Object", "")))
            for *_, digest in loaded
            if digest
            for lf in digest.get("logFiles") or []
        }
        for key in reader.keys(tp.prefix, first, last):
            if _norm(key) not in listed and loaded:
                rr.unlisted.append(key)
                report.files.append(
                    FileCheck(reader.uri(key), UNLISTED, "", at, "listed by no digest")
                )
    return report


def _check_digests(
    rr: RegionReport,
    loaded: list[tuple[str, bytes, str, str, dict[str, Any] | None]],
    keys: dict[str, bytes] | None,
    reader: LogReader,
    at: int,
    why_unchecked: str = "",
) -> list[FileCheck]:
    """Check the digests in order and the log files each lists; each log file's result."""
    files: list[FileCheck] = []
    prev: tuple[str, str, str] | None = None  # (key, sha256 hex, signature)
    for i, (key, _, sha, meta_sig, digest) in enumerate(loaded):
        if digest is None:
            rr.signatures_invalid.append(f"{key}: not a readable digest")
            prev = None
            continue
        rr.digests += 1
        nxt = loaded[i + 1][4] if i + 1 < len(loaded) else None
        follows = nxt is not None and _norm(str(nxt.get("previousDigestS3Object") or "")) == _norm(
            key
        )
        sig = meta_sig
        if not sig and reader.offline:
            # a synced folder: this digest's signature travels in the next digest
            sig = str(nxt.get("previousDigestSignature") or "") if nxt and follows else ""
        if nxt is not None and follows and nxt.get("previousDigestHashValue") != sha:
            rr.modified_digests.append(key)
        if keys is not None:
            if not sig and reader.offline:
                rr.unchecked.append(key)
            else:
                pub = keys.get(str(digest.get("digestPublicKeyFingerprint", "")))
                if (
                    pub is not None
                    and sig
                    and verify_signature(pub, sig, string_to_sign(digest, sha))
                ):
                    rr.signatures_valid += 1
                else:
                    rr.signatures_invalid.append(key)
        prev_key = digest.get("previousDigestS3Object")
        if prev is not None:
            if _norm(str(prev_key or "")) != _norm(prev[0]):
                rr.gaps.append(f"{prev_key or '?'} (between {prev[0]} and {key})")
            elif (
                digest.get("previousDigestHashValue") != prev[1]
                or digest.get("previousDigestSignature") != prev[2]
            ):
                rr.chain_breaks.append(key)
        prev = (key, sha, sig)
        trusted, state = _digest_state(rr, key, keys is not None, why_unchecked)
        for lf in digest.get("logFiles") or []:
            lkey = str(lf.get("s3Object", ""))
            bucket = lf.get("s3Bucket") or None
            uri = reader.uri(lkey, bucket)
            got = reader.read(lkey, bucket)
            if got is None:
                rr.missing.append(lkey)
                files.append(FileCheck(uri, MISSING, key, at, "listed by the digest, not there"))
            elif hashlib.sha256(_gunzip(got[0])).hexdigest() == lf.get("hashValue"):
                rr.valid += 1
                status = VALIDATED if trusted else DIGEST_INVALID
                files.append(FileCheck(uri, status, key, at, state, got[2]))
            else:
                rr.modified.append(lkey)
                files.append(FileCheck(uri, MODIFIED, key, at, state, got[2]))
    return files


def _digest_state(
    rr: RegionReport, key: str, keys_known: bool, why_unchecked: str
) -> tuple[bool, str]:
    """(whether the digest vouches for its log files, its state in words), once its own
    signature and the next digest's hash of it were checked."""
    if key in rr.modified_digests:
        return (
            False,
            "was modified after CloudTrail wrote it (the next digest's hash of it differs)",
        )
    if key in rr.signatures_invalid:
        return False, "has an invalid signature"
    if not keys_known:
        return True, f"digest signature not checked: {why_unchecked or 'no public keys'}"
    if key in rr.unchecked:
        return True, "digest signature not checkable offline (the newest digest's is in S3)"
    return True, "digest signature valid"


def render(report: Report) -> list[str]:
    lines = []
    if not report.signatures_checked:
        lines.append(f"signatures NOT checked: {report.why_unchecked or 'no public keys'}")
    for r in report.regions:
        head = f"{r.account} {r.region}: {r.digests} digests"
        if report.signatures_checked:
            head += f", {r.signatures_valid} signatures valid, {len(r.signatures_invalid)} invalid"
        head += (
            f"; log files: {r.valid} valid, {len(r.modified)} modified, {len(r.missing)} missing, "
            f"{len(r.unlisted)} unlisted; {len(r.gaps)} digest gaps, {len(r.chain_breaks)} chain breaks"
        )
        lines.append(head)
        for label, items in (("INVALID SIGNATURE", r.signatures_invalid), ("CHAIN BROKEN", r.chain_breaks),
                             ("DIGEST GAP", r.gaps), ("MODIFIED DIGEST", r.modified_digests),
                             ("MODIFIED", r.modified), ("MISSING", r.missing),
                             ("UNLISTED", r.unlisted)):  # fmt: skip
            lines += [f"  {label}: {x}" for x in items]
        lines += [
            f"  signature not checkable offline (the newest digest's lives in S3's object "
            f"metadata): {x}"
            for x in r.unchecked
        ]
    lines.append("all valid" if report.ok else "INVALID: see above")
    return lines


def record(store: Store, report: Report) -> int:
    """Keep each log file's result in the cache (the detail view and the case export read
    it); how many."""
    return store.record_checks(report.files)


def verify_source(
    src: object, start: datetime, end: datetime, store: Store | None = None
) -> tuple[bool, list[str]] | None:
    """(all valid, report lines) for a source's window; None for a source without digests (a
    synced folder is checked whole: its newest digest's signature can't be, offline). With a
    store, each log file's result is kept in it."""
    from ..sources.folder import FolderTrail

    readers: list[tuple[str, S3Trail | LogReader, datetime | None]] = []
    if isinstance(src, S3Trail):  # its own listing counters
        readers.append(
            (src.label, S3Trail(src.client, src.location, src.profile, src.region), start)
        )
        profile, region = src.profile, src.region
    elif isinstance(src, FolderTrail):
        readers += [(str(p), FolderReader(p), None) for p in src.paths if p.is_dir()]
        profile = region = None
    else:
        return None
    ok, lines = True, list[str]()
    for label, reader, since in readers:
        try:
            report = check(reader, since, end, profile, region)
        except Exception as e:
            ok, lines = False, [*lines, f"{label}: {type(e).__name__}: {e}"]
            continue
        if not report.regions:
            lines += [label, "no CloudTrail log files with digests here", ""]
            continue
        ok = ok and report.ok
        lines += [label, *render(report), ""]
        if store is not None and report.files:
            try:
                n = record(store, report)
                lines[-1:] = [
                    f"{n:,} log file checks kept in the cache: the detail view says whether "
                    "an event's file was validated",
                    "",
                ]
            except Exception as e:  # the report stands; only the detail view won't say it
                lines[-1:] = [f"the checks were not kept in the cache: {type(e).__name__}: {e}", ""]
    return ok, lines
