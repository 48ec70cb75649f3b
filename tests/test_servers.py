"""Smoke tests of the object-store servers the suite starts, through plain fsspec.

They pin down what the upload tests rely on: each server round-trips bytes exactly with only the
fixture's storage_options, and which servers verify a checksum sent with an upload:

- LocalStack S3 rejects a wrong ``ContentMD5`` (and a wrong ``ChecksumCRC32``) passed to s3fs's
  ``pipe_file``; moto accepts both.
- Azurite rejects a wrong ``content_settings={"content_md5": ...}`` passed to adlfs's ``pipe_file``
  when that is a single Put Blob (under the SDK's max_single_put_size, 64 MiB by default); uploaded
  in blocks, the wrong MD5 is only stored, not checked (measured). ``validate_content=True`` is not
  needed, and alone it only sends the right MD5.
- fake-gcs-server ignores md5Hash/crc32c, and gcsfs has no kwarg to send a wrong one: not tested.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib

import fsspec
import pytest

from servers import ObjectStore

SMALL = b"a\r\nb\x00\xff\n"  # line endings and non-UTF-8 bytes must survive exactly
BIG = os.urandom(6 * 1024 * 1024 + 123)  # more than one 5 MiB part, should a client split it


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _wrong_md5(data: bytes) -> bytes:
    return hashlib.md5(b"not " + data).digest()


def _no_retry_s3(store: ObjectStore) -> fsspec.AbstractFileSystem:
    """botocore retries BadDigest 5 times with backoff (~10 s); once is enough to see the rejection."""
    return fsspec.filesystem(
        "s3",
        skip_instance_cache=True,
        config_kwargs={"retries": {"max_attempts": 1}},
        **store.storage_options,
    )


def test_round_trip_and_list(object_store: ObjectStore) -> None:
    fs = fsspec.filesystem(object_store.protocol, **object_store.storage_options)
    base = f"{object_store.bucket}/smoke-{uuid.uuid4().hex[:8]}"
    fs.pipe_file(f"{base}/small.bin", SMALL)
    fs.pipe_file(f"{base}/big.bin", BIG)

    assert fs.cat_file(f"{base}/small.bin") == SMALL
    assert fs.cat_file(f"{base}/big.bin") == BIG
    listed = {entry["name"].rsplit("/", 1)[-1]: entry["size"] for entry in fs.ls(base, detail=True)}
    assert listed == {"small.bin": len(SMALL), "big.bin": len(BIG)}


def test_raw_data_prefix_names_the_bucket(object_store: ObjectStore) -> None:
    assert object_store.raw_data_prefix == f"{object_store.protocol}://{object_store.bucket}/data"
    assert object_store.verifies_checksums == (object_store.name in ("localstack-s3", "azurite"))


def test_localstack_rejects_wrong_content_md5_and_crc32(localstack_s3: ObjectStore) -> None:
    fs = _no_retry_s3(localstack_s3)
    path = f"{localstack_s3.bucket}/checksum-{uuid.uuid4().hex[:8]}"

    with pytest.raises(OSError, match="Content-MD5 you specified did not match"):
        fs.pipe_file(path, SMALL, ContentMD5=_b64(_wrong_md5(SMALL)))
    wrong_crc = zlib.crc32(b"not " + SMALL).to_bytes(4, "big")
    with pytest.raises(OSError, match="CRC32 you specified did not match"):
        fs.pipe_file(path, SMALL, ChecksumCRC32=_b64(wrong_crc))
    assert not fs.exists(path)

    fs.pipe_file(path, SMALL, ContentMD5=_b64(hashlib.md5(SMALL).digest()))
    assert fs.cat_file(path) == SMALL


def test_moto_accepts_wrong_content_md5(moto_s3: ObjectStore) -> None:
    """Why integrity tests need LocalStack: moto stores the bytes whatever MD5 is claimed."""
    fs = _no_retry_s3(moto_s3)
    path = f"{moto_s3.bucket}/checksum-{uuid.uuid4().hex[:8]}"
    fs.pipe_file(path, SMALL, ContentMD5=_b64(_wrong_md5(SMALL)))
    assert fs.cat_file(path) == SMALL


def test_azurite_rejects_wrong_content_md5(azurite: ObjectStore) -> None:
    from azure.core.exceptions import HttpResponseError

    fs = azurite.filesystem()
    path = f"{azurite.bucket}/checksum-{uuid.uuid4().hex[:8]}"

    with pytest.raises(HttpResponseError, match="Md5Mismatch"):
        fs.pipe_file(path, SMALL, content_settings={"content_md5": bytearray(_wrong_md5(SMALL))})
    assert not fs.exists(path)

    fs.pipe_file(path, SMALL, content_settings={"content_md5": bytearray(hashlib.md5(SMALL).digest())})
    assert fs.cat_file(path) == SMALL
