"""How raw records are kept: NDJSON chunks (one record a line), each one zstd frame with
CloudTrail's own vocabulary as a raw dictionary (small files compress ~3x better with it).
Single zstd/zlib records, as version 2 caches hold them, still read (the v2 conversion)."""

from __future__ import annotations

import re
import threading
import zlib

import zstandard

_ZDICT = (
    b'{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA'
    b'","arn":"arn:aws:sts::","accountId":"","accessKeyId":"ASIA","sessionContext":'
    b'{"sessionIssuer":{"type":"Role","principalId":"","arn":"arn:aws:iam::","accountId":'
    b'"","userName":""},"webIdFederationData":{},"attributes":{"creationDate":"'
    b'","mfaAuthenticated":"false"}}},"eventTime":"2024-01-01T00:00:00Z","eventSource":'
    b'"ec2.amazonaws.com","eventName":"Describe","awsRegion":"us-east-1","sourceIPAddress":'
    b'"","userAgent":"aws-cli/2 Python/3 botocore/1","requestParameters":{"instancesSet":'
    b'{"items":[{"instanceId":"i-"}]},"filterSet":{}},"responseElements":null,"requestID":'
    b'"","eventID":"","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,'
    b'"recipientAccountId":"","eventCategory":"Management","tlsDetails":{"tlsVersion":'
    b'"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":'
    b'".amazonaws.com"},"sessionCredentialFromConsole":"true","errorCode":"AccessDenied",'
    b'"errorMessage":"","resources":[{"accountId":"","type":"AWS::","ARN":"arn:aws:"}],'
    b'"IAMUser","AWSService","invokedBy":"","currentState":{"code":16,"name":"running"},'
    b'"previousState":{"code":80,"name":"stopped"}'
)

LEVEL = 3
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

_local = threading.local()


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    """This thread's compressor pair (zstandard objects must not be shared between threads)."""
    pair: tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor] | None = getattr(
        _local, "zstd", None
    )
    if pair is None:
        d = zstandard.ZstdCompressionDict(_ZDICT, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        pair = (
            zstandard.ZstdCompressor(level=LEVEL, dict_data=d),
            zstandard.ZstdDecompressor(dict_data=d),
        )
        _local.zstd = pair
    return pair


def compress_chunk(lines: list[bytes]) -> bytes:
    """Records (compact JSON, never a raw newline inside) -> one zstd frame, a line each."""
    return _zstd()[0].compress(b"\n".join(lines))


def decompress_chunk(blob: bytes) -> bytes:
    return _zstd()[1].decompress(blob)


def compress_raw(data: bytes) -> bytes:
    """One record as version 2 caches stored it (kept for their conversion and tests)."""
    return _zstd()[0].compress(data)


def decompress_raw(blob: bytes) -> str:
    """A version 2 record: zstd, or zlib with the same dictionary (caches before zstd)."""
    return raw_record_bytes(blob).decode("utf-8", "replace")


# ------------------------------------------------------------------ event ids

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def eid_key(event_id: str) -> tuple[bytes | str, str | None]:
    """(the key an eventID is deduplicated and found by, the text to keep beside it or None).

    The key is the same for two spellings that differ only in ASCII case (as SQLite's NOCASE
    compared them before): a UUID (what CloudTrail writes) is its 16 bytes, anything else its
    ASCII-folded text. The text is kept only when the key does not give it back."""
    if _UUID.fullmatch(event_id) is not None:  # the usual case: a lower-case UUID
        return bytes.fromhex(event_id.replace("-", "")), None
    low = event_id.translate(_LOWER)
    if len(low) == 36 and low[8] == "-" and low[13] == "-" and low[18] == "-" and low[23] == "-":
        h = low[:8] + low[9:13] + low[14:18] + low[19:23] + low[24:]
        try:
            b = bytes.fromhex(h)
        except ValueError:
            b = b""
        if len(b) == 16 and b.hex() == h:
            return b, None if low == event_id else event_id
    return low, None if low == event_id else event_id


def eid_text(key: bytes | str, text: str | None) -> str:
    """The eventID as written, from what eid_key gave."""
    if text is not None:
        return text
    if isinstance(key, bytes):
        h = key.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return key


def raw_record_bytes(blob: bytes) -> bytes:
    """A version 2 record's JSON bytes, exactly as stored."""
    if blob[:4] == _ZSTD_MAGIC:
        return _zstd()[1].decompress(blob)
    d = zlib.decompressobj(15, _ZDICT)
    return d.decompress(blob) + d.flush()
