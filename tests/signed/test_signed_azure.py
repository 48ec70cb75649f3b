"""The signed-URL client against Azure Blob SAS URLs (Azurite): x-ms-blob-type and Content-MD5 honoured."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp

import union.plugins
from union.config import Config, resolve
from union.errors import IntegrityError
from union.plugins import hookimpl
from union.storage import signed
from union.storage.upload import read_manifest, upload_dir, upload_file

pytest.importorskip("azure.storage.blob")
pytest.importorskip("adlfs")


class SasTransport:
    """CreateUploadLocation answered with blob SAS URLs (create + write), as an Azure data proxy does."""

    def __init__(self, store: Any) -> None:
        options = dict(part.split("=", 1) for part in store.storage_options["connection_string"].split(";"))
        self.account, self.key = options["AccountName"], options["AccountKey"]
        self.endpoint = options["BlobEndpoint"]
        self.container = store.bucket
        self.minted = 0

    def create_upload_location(self, request: Any, *, timeout: float | None = None) -> Any:
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        self.minted += request.content_md5 != bytes(16)  # not counting existence probes
        folder = "" if request.filename_root == "." else f"{request.filename_root}/"
        blob = f"data/{request.project}/{request.domain}/{folder}{request.filename}"
        sas = generate_blob_sas(
            account_name=self.account,
            container_name=self.container,
            blob_name=blob,
            account_key=self.key,
            permission=BlobSasPermissions(create=True, write=True),
            expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=request.expires_in.seconds),
        )
        return dp.CreateUploadLocationResponse(
            signed_url=f"{self.endpoint}/{self.container}/{blob}?{sas}",
            native_url=f"abfs://{self.container}/{blob}",
        )

    def close(self) -> None:
        pass


class _Destination:
    def __init__(self, transport: SasTransport) -> None:
        self.transport = transport

    @hookimpl
    def union_upload_destination(self, config: Config, transport: Any) -> Any:
        return signed.signed_destination(config, self.transport)  # type: ignore[arg-type]


@pytest.fixture
def sas(azurite: Any) -> Iterator[tuple[Config, SasTransport, Any]]:
    transport = SasTransport(azurite)
    union.plugins.register(_Destination(transport), name="signed-test-azure")
    config = resolve(
        project="p",
        domain="d",
        raw_data_prefix=azurite.raw_data_prefix,
        storage_options=azurite.storage_options,
    )
    yield config, transport, azurite.filesystem()


def test_upload_file_and_dir_to_azure_sas_urls(
    sas: tuple[Config, SasTransport, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from union.storage import transfer

    config, _transport, fs = sas
    small = tmp_path / "small.txt"
    small.write_bytes(b"to azure through a SAS url")
    md5, uri = upload_file(small, config=config)
    assert uri.startswith("abfs://") and fs.cat_file(uri) == small.read_bytes()
    assert fs.info(uri)["content_settings"]["content_md5"] == hashlib.md5(small.read_bytes()).digest()

    monkeypatch.setattr(transfer, "SINGLE_PUT_MAX", 1024)  # stream this one from the file
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 << 20))
    md5, uri = upload_file(big, config=config)
    assert hashlib.md5(fs.cat_file(uri)).hexdigest() == md5

    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "x.txt").write_text("x")
    _digest, uri = upload_dir(tree, config=config)
    assert [e.path for e in read_manifest(uri, config=config).files] == ["a/x.txt"]


def test_azure_refuses_bytes_that_differ_from_their_md5(sas: tuple[Config, SasTransport, Any]) -> None:
    config, transport, fs = sas
    dest = signed.signed_destination(config, transport)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError) as info:
        dest.fs.pipe_file("p/d/r/x.txt", b"actual bytes", content_md5=hashlib.md5(b"other").digest())
    assert "sig=" not in str(info.value) and "sv=" not in str(info.value)
    assert not fs.exists(f"abfs://{transport.container}/data/p/d/r/x.txt")
