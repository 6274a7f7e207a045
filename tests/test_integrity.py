"""Digest chains built and signed here with our own RSA key, in moto's S3; ListPublicKeys
answered by the local CloudTrail fake."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from trailtui.investigate.integrity import string_to_sign, verify
from trailtui.sources.s3 import S3Location, S3Trail

from .conftest import BUCKET
from .fakes.cloudtrail import FakeCloudTrail

ACCOUNT, REGION = "111111111111", "us-east-1"
T0 = datetime(2026, 11, 19, 1, tzinfo=UTC)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
DER = KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
FINGERPRINT = hashlib.md5(DER).hexdigest()


def build_chain(client: Any, hours: int = 4) -> list[tuple[str, str]]:
    """Log files and hourly digests; returns [(digest key, log key)]."""
    prev: tuple[str, str, str] | None = None
    out = []
    for h in range(hours):
        t = T0 + timedelta(hours=h)
        log_key = f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{t:%Y/%m/%d}/{ACCOUNT}_CloudTrail_{REGION}_{t:%Y%m%dT%H%MZ}_log{h}.json.gz"
        log = json.dumps(
            {
                "Records": [
                    {
                        "eventID": f"e{h}",
                        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "eventName": "X",
                    }
                ]
            }
        ).encode()
        client.put_object(Bucket=BUCKET, Key=log_key, Body=gzip.compress(log))
        end = t + timedelta(minutes=59)
        dkey = f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/{end:%Y/%m/%d}/{ACCOUNT}_CloudTrail-Digest_{REGION}_trail_{REGION}_{end:%Y%m%dT%H%M%S}Z.json.gz"
        digest = {
            "awsAccountId": ACCOUNT,
            "digestStartTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "digestEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "digestS3Bucket": BUCKET,
            "digestS3Object": dkey,
            "digestPublicKeyFingerprint": FINGERPRINT,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "oldestEventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "previousDigestS3Bucket": BUCKET if prev else None,
            "previousDigestS3Object": prev[0] if prev else None,
            "previousDigestHashValue": prev[1] if prev else None,
            "previousDigestHashAlgorithm": "SHA-256" if prev else None,
            "previousDigestSignature": prev[2] if prev else None,
            "logFiles": [
                {
                    "s3Bucket": BUCKET,
                    "s3Object": log_key,
                    "hashValue": hashlib.sha256(log).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                }
            ],
        }
        raw = json.dumps(digest).encode()
        sha = hashlib.sha256(raw).hexdigest()
        sig = KEY.sign(string_to_sign(digest, sha), padding.PKCS1v15(), hashes.SHA256()).hex()
        client.put_object(Bucket=BUCKET, Key=dkey, Body=gzip.compress(raw),
                          Metadata={"signature": sig, "signature-algorithm": "SHA256withRSA"})  # fmt: skip
        prev = (dkey, sha, sig)
        out.append((dkey, log_key))
    return out


def run_verify(client: Any) -> Any:
    trail = S3Trail(client, S3Location.parse(f"s3://{BUCKET}"))
    return verify(trail, T0, T0 + timedelta(hours=23), {FINGERPRINT: DER})


def test_all_valid(s3: Any) -> None:
    build_chain(s3)
    rep = run_verify(s3)
    r = rep.regions[0]
    assert rep.ok and rep.signatures_checked
    assert (r.digests, r.signatures_valid, r.valid) == (4, 4, 4)


def test_one_log_file_modified(s3: Any) -> None:
    chain = build_chain(s3)
    s3.put_object(Bucket=BUCKET, Key=chain[1][1], Body=gzip.compress(b'{"Records": []}'))
    r = run_verify(s3).regions[0]
    assert r.modified == [chain[1][1]] and r.valid == 3


def test_one_log_file_deleted(s3: Any) -> None:
    chain = build_chain(s3)
    s3.delete_object(Bucket=BUCKET, Key=chain[2][1])
    r = run_verify(s3).regions[0]
    assert r.missing == [chain[2][1]]


def test_one_digest_missing(s3: Any) -> None:
    chain = build_chain(s3)
    s3.delete_object(Bucket=BUCKET, Key=chain[1][0])
    rep = run_verify(s3)
    r = rep.regions[0]
    assert len(r.gaps) == 1 and chain[1][0] in r.gaps[0]
    assert r.unlisted == [chain[1][1]]  # its log file is listed by no digest now
    assert not rep.ok


def test_broken_chain_and_bad_signature(s3: Any) -> None:
    chain = build_chain(s3)
    obj = s3.get_object(Bucket=BUCKET, Key=chain[2][0])
    digest = json.loads(gzip.decompress(obj["Body"].read()))
    digest["previousDigestSignature"] = "00" * 256
    s3.put_object(Bucket=BUCKET, Key=chain[2][0], Body=gzip.compress(json.dumps(digest).encode()),
                  Metadata=obj["Metadata"])  # fmt: skip
    r = run_verify(s3).regions[0]
    # the tampered digest breaks its own link and the next one's (whose hash no longer matches)
    assert r.chain_breaks == [chain[2][0], chain[3][0]]
    assert r.signatures_invalid == [chain[2][0]]  # the content no longer matches its signature


def test_cli_with_list_public_keys_from_the_fake(
    s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    build_chain(s3)
    ct = FakeCloudTrail(keys={"testing": ACCOUNT})
    ct.public_keys = [{"Value": base64.b64encode(DER).decode(), "Fingerprint": FINGERPRINT,
                       "ValidityStartTime": 0, "ValidityEndTime": 4102444800}]  # fmt: skip
    url = ct.start()
    env = {**os.environ, "AWS_ENDPOINT_URL_CLOUDTRAIL": url}
    args = [
        sys.executable,
        "-m",
        "trailtui",
        "verify",
        f"s3://{BUCKET}",
        "--since",
        "2026-11-19",
        "--until",
        "2026-11-19",
    ]
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 signatures valid" in r.stdout and "all valid" in r.stdout
    ct.stop()
    # without public keys it says so plainly
    env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = "http://127.0.0.1:9"
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert "signatures NOT checked" in r.stdout


# --------------------------------------------------------------------------- a synced folder


class FolderClient:
    """put_object into a folder, as `aws s3 sync` leaves a bucket (object metadata, where a
    digest's signature lives, does not come along)."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def put_object(self, Bucket: str, Key: str, Body: bytes, Metadata: Any = None) -> None:
        p = self.root / Key
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(Body)


def _folder(tmp_path: Any) -> tuple[Any, list[tuple[str, str]]]:
    root = tmp_path / "sync"
    return root, build_chain(FolderClient(root))


def _verify_folder(path: Any) -> Any:
    from trailtui.investigate.integrity import FolderReader

    return verify(FolderReader(path), None, T0 + timedelta(days=3), {FINGERPRINT: DER})


def test_folder_all_valid_the_newest_signature_not_checkable_offline(tmp_path: Any) -> None:
    root, chain = _folder(tmp_path)
    for path in (root, root / "AWSLogs", tmp_path):  # the AWSLogs folder or any above it
        rep = _verify_folder(path)
        r = rep.regions[0]
        assert rep.ok, r
        assert (r.digests, r.signatures_valid, r.valid) == (4, 3, 4)
        assert r.unchecked == [chain[3][0]]


def test_folder_deleted_and_modified_log_files(tmp_path: Any) -> None:
    root, chain = _folder(tmp_path)
    (root / chain[1][1]).write_bytes(gzip.compress(b'{"Records": []}'))
    (root / chain[2][1]).unlink()
    r = _verify_folder(root).regions[0]
    assert r.modified == [chain[1][1]] and r.missing == [chain[2][1]] and r.valid == 2


def test_folder_modified_digest_is_named_itself(tmp_path: Any) -> None:
    root, chain = _folder(tmp_path)
    p = root / chain[1][0]
    digest = json.loads(gzip.decompress(p.read_bytes()))
    digest["logFiles"] = []  # hides its log file
    p.write_bytes(gzip.compress(json.dumps(digest).encode()))
    rep = _verify_folder(root)
    r = rep.regions[0]
    assert r.modified_digests == [chain[1][0]]  # the changed digest, not only the next link
    assert chain[1][0] in r.signatures_invalid
    assert r.unlisted == [chain[1][1]]
    assert not rep.ok


def test_folder_deleted_digest(tmp_path: Any) -> None:
    root, chain = _folder(tmp_path)
    (root / chain[2][0]).unlink()
    r = _verify_folder(root).regions[0]
    assert len(r.gaps) == 1 and chain[2][0] in r.gaps[0]
    assert r.unlisted == [chain[2][1]]
    # digest 1's signature travelled in the deleted digest: it can't be checked now
    assert r.unchecked == [chain[1][0], chain[3][0]]


def test_cli_verify_folder_with_public_keys_file(tmp_path: Any) -> None:
    root, chain = _folder(tmp_path)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"PublicKeyList": [{
        "Value": base64.b64encode(DER).decode(), "Fingerprint": FINGERPRINT,
        "ValidityStartTime": "2026-01-01T00:00:00Z", "ValidityEndTime": "2027-01-01T00:00:00Z"}]}))  # fmt: skip
    args = [sys.executable, "-m", "trailtui", "verify", str(root), "--public-keys", str(keys)]
    r = subprocess.run(args, capture_output=True, text=True, env=os.environ, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 signatures valid" in r.stdout and "not checkable offline" in r.stdout
    (root / chain[0][1]).unlink()
    r = subprocess.run(args, capture_output=True, text=True, env=os.environ, timeout=120)
    assert r.returncode == 1 and f"MISSING: {chain[0][1]}" in r.stdout
    r = subprocess.run([*args[:4], str(tmp_path / "nope")], capture_output=True, text=True)
    assert r.returncode == 2 and "no such folder" in r.stderr
