"""The signed-URL client against real S3 presigned PUT URLs (moto's S3 server), as a Union data proxy
backed by S3 answers them."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp

import union.plugins
from union.config import Config, resolve
from union.plugins import hookimpl
from union.storage import signed
from union.storage.upload import read_manifest, upload_dir, upload_file

pytest.importorskip("boto3")
pytest.importorskip("s3fs")


class PresigningTransport:
    """CreateUploadLocation answered with boto3 presigned PUT URLs into one bucket (Content-MD5 signed)."""

    def __init__(self, store: Any, signature_version: str = "s3v4") -> None:
        import boto3
        from botocore.config import Config as BotoConfig

        self.store = store
        options = store.storage_options
        self.client = boto3.client(
            "s3",
            endpoint_url=store.endpoint_url,
            aws_access_key_id=options["key"],
            aws_secret_access_key=options["secret"],
            region_name="us-east-1",
            config=BotoConfig(signature_version=signature_version),
        )
        self.minted = 0

    def create_upload_location(self, request: Any, *, timeout: float | None = None) -> Any:
        self.minted += request.content_md5 != bytes(16)  # not counting existence probes
        folder = "" if request.filename_root == "." else f"{request.filename_root}/"
        key = f"data/{request.project}/{request.domain}/{folder}{request.filename}"
        md5 = base64.b64encode(request.content_md5).decode()
        url = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.store.bucket, "Key": key, "ContentMD5": md5},
            ExpiresIn=request.expires_in.seconds,
        )
        return dp.CreateUploadLocationResponse(
            signed_url=url, native_url=f"s3://{self.store.bucket}/{key}", headers={"Content-MD5": md5}
        )

    def close(self) -> None:
        pass


class _Destination:
    def __init__(self, transport: PresigningTransport) -> None:
        self.transport = transport

    @hookimpl
    def union_upload_destination(self, config: Config, transport: Any) -> Any:
        return signed.signed_destination(config, self.transport)  # type: ignore[arg-type]


@pytest.fixture
def presigned(moto_s3: Any) -> Iterator[tuple[Config, PresigningTransport, Any]]:
    """SigV4 presigned URLs (Content-MD5 signed): the client must send exactly the signed headers."""
    transport = PresigningTransport(moto_s3)
    union.plugins.register(_Destination(transport), name="signed-test-s3")
    config = resolve(
        project="p",
        domain="d",
        raw_data_prefix=moto_s3.raw_data_prefix,
        storage_options=moto_s3.storage_options,
    )
    yield config, transport, moto_s3.filesystem()


def test_upload_file_to_s3_presigned_urls(
    presigned: tuple[Config, PresigningTransport, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from union.storage import transfer

    config, transport, fs = presigned
    small = tmp_path / "small.txt"
    small.write_bytes(b"to s3 through a presigned url")
    md5, uri = upload_file(small, config=config)
    assert uri.endswith(f"/data/p/d/{md5}/small.txt") and uri.startswith("s3://")
    assert fs.cat_file(uri) == small.read_bytes()

    monkeypatch.setattr(transfer, "SINGLE_PUT_MAX", 1024)  # stream this one from the file
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 << 20))
    md5, uri = upload_file(big, config=config)
    assert hashlib.md5(fs.cat_file(uri)).hexdigest() == md5
    assert transport.minted == 2


def test_upload_dir_to_s3_presigned_urls(
    presigned: tuple[Config, PresigningTransport, Any], tmp_path: Path
) -> None:
    config, _, fs = presigned
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "x.txt").write_text("x")
    (tree / "y.txt").write_text("y")
    digest, uri = upload_dir(tree, config=config)
    assert uri.endswith(f"/data/p/d/{digest}")
    assert sorted(e.path for e in read_manifest(uri, config=config).files) == ["a/x.txt", "y.txt"]
    assert fs.cat_file(f"{uri}/a/x.txt") == b"x"


def test_bytes_that_do_not_match_their_md5_never_pass(
    presigned: tuple[Config, PresigningTransport, Any],
) -> None:
    from union.errors import StorageError

    config, transport, _ = presigned
    fs = signed.signed_destination(config, transport).fs  # type: ignore[arg-type]
    with pytest.raises(StorageError) as info:
        fs.pipe_file("p/d/r/x.txt", b"actual bytes", content_md5=hashlib.md5(b"other").digest())
    assert "Signature=" not in str(info.value) and "X-Amz-Signature" not in str(info.value)
