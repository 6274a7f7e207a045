"""Log file integrity validation, as `aws cloudtrail validate-logs` does it.

Walks the CloudTrail-Digest files of each account-region in the window, oldest first:
checks each listed log file's SHA-256 (of its uncompressed bytes), follows the chain
(previousDigestHashValue / previousDigestSignature), and verifies each digest's RSA
signature (SHA256withRSA over ``endTime\\nbucket/key\\nsha256(digest)\\npreviousSignature``)
with the public keys from CloudTrail ListPublicKeys when they can be reached — and says so
plainly when signatures were not checked. Reports valid, modified, missing and unlisted
log files and digest gaps per account and region.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sources.s3 import S3Trail

_DIGEST_TIME = re.compile(r"_(\d{8}T\d{6}Z)\.json\.gz$")


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

    @property
    def ok(self) -> bool:
        return not (self.signatures_invalid or self.chain_breaks or self.gaps or self.modified
                    or self.missing or self.unlisted)  # fmt: skip


@dataclass(slots=True)
class Report:
    regions: list[RegionReport] = field(default_factory=list)
    signatures_checked: bool = False
    why_unchecked: str = ""

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
    trail: S3Trail, start: datetime, end: datetime, profile: str | None, region: str | None
) -> Report:
    """verify() with the keys from ListPublicKeys, or plainly without when they can't be had."""
    try:
        keys: dict[str, bytes] | None = public_keys(start, end, profile, region)
        why = ""
    except Exception as e:  # said plainly: the signatures are then not checked
        keys, why = None, f"CloudTrail ListPublicKeys failed ({type(e).__name__}: {e})"
    return verify(trail, start, end, keys, why)


def verify(
    trail: S3Trail,
    start: datetime,
    end: datetime,
    keys: dict[str, bytes] | None,
    why_unchecked: str = "",
) -> Report:
    report = Report(signatures_checked=keys is not None, why_unchecked=why_unchecked)
    client, bucket = trail.client, trail.location.bucket
    for tp in trail.discover():
        rr = RegionReport(tp.account, tp.region)
        report.regions.append(rr)
        digest_prefix = tp.prefix.replace("/CloudTrail/", "/CloudTrail-Digest/")
        digests: list[str] = []
        d = start.astimezone(UTC).date()
        while d <= (end + timedelta(days=1)).astimezone(UTC).date():
            digests += [o["Key"] for o in trail.objects(f"{digest_prefix}{d:%Y/%m/%d}/")]
            d += timedelta(days=1)
        digests.sort(key=lambda k: m.group(1) if (m := _DIGEST_TIME.search(k)) else k)
        listed: set[str] = set()
        prev: tuple[str, str, str] | None = None  # (key, sha256 hex, signature)
        for key in digests:
            obj = client.get_object(Bucket=bucket, Key=key)
            raw = _gunzip(obj["Body"].read())
            meta = {k.lower(): v for k, v in (obj.get("Metadata") or {}).items()}
            sig = str(meta.get("signature", ""))
            sha = hashlib.sha256(raw).hexdigest()
            try:
                digest = json.loads(raw)
            except ValueError:
                rr.signatures_invalid.append(f"{key}: not a readable digest")
                prev = None
                continue
            rr.digests += 1
            if keys is not None:
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
                if prev_key != prev[0]:
                    rr.gaps.append(f"{prev_key or '?'} (between {prev[0]} and {key})")
                elif (
                    digest.get("previousDigestHashValue") != prev[1]
                    or digest.get("previousDigestSignature") != prev[2]
                ):
                    rr.chain_breaks.append(key)
            prev = (key, sha, sig)
            for lf in digest.get("logFiles") or []:
                lkey = str(lf.get("s3Object", ""))
                listed.add(lkey)
                try:
                    body = client.get_object(Bucket=lf.get("s3Bucket") or bucket, Key=lkey)[
                        "Body"
                    ].read()
                except Exception:
                    rr.missing.append(lkey)
                    continue
                if hashlib.sha256(_gunzip(body)).hexdigest() == lf.get("hashValue"):
                    rr.valid += 1
                else:
                    rr.modified.append(lkey)
        # log files in the window that no digest lists
        d = start.astimezone(UTC).date()
        while d <= end.astimezone(UTC).date():
            for o in trail.objects(f"{tp.prefix}{d:%Y/%m/%d}/"):
                if o["Key"] not in listed and digests:
                    rr.unlisted.append(o["Key"])
            d += timedelta(days=1)
    return report


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
                             ("DIGEST GAP", r.gaps), ("MODIFIED", r.modified), ("MISSING", r.missing),
                             ("UNLISTED", r.unlisted)):  # fmt: skip
            lines += [f"  {label}: {x}" for x in items]
    lines.append("all valid" if report.ok else "INVALID: see above")
    return lines


def can_verify(src: object) -> bool:
    """Whether a source's log files carry digests this module can check (trail files in S3;
    a synced folder's digest signatures stay in S3's object metadata)."""
    from ..sources.s3 import S3Trail

    return isinstance(src, S3Trail)


def verify_source(src: object, start: datetime, end: datetime) -> tuple[bool, list[str]] | None:
    """(all valid, report lines) for a source's window; None for a source without digests."""
    from ..sources.s3 import S3Trail

    if not isinstance(src, S3Trail):
        return None
    fresh = S3Trail(src.client, src.location, src.profile, src.region)  # its own counters
    try:
        report = check(fresh, start, end, src.profile, src.region)
    except Exception as e:
        return False, [f"{src.label}: {type(e).__name__}: {e}"]
    return report.ok, [src.label, *render(report), ""]
