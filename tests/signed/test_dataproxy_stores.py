"""The data proxy over stores other than a local folder: memory:// and S3 (moto), through fsspec."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from union.server.dataproxy import DataProxy

from .conftest import SECRET
from .test_dataproxy import call, mint, put, text


def _check(proxy: DataProxy, fs: Any, root: str) -> None:
    data = b"stored through fsspec" * 100
    answer = mint(proxy, data, "obj.bin", root="r")
    assert answer.native_url == f"{proxy.store}/p/d/r/obj.bin"
    response = put(proxy, answer, data)
    assert response.status == 200, text(response)
    assert fs.cat_file(f"{root}/p/d/r/obj.bin") == data
    link, _ = proxy.sign_download(answer.native_url)
    got = call(proxy, "GET", link)
    assert b"".join(got.body) == data  # type: ignore[arg-type]

    bad = mint(proxy, b"other bytes", "bad.bin", root="r")
    assert put(proxy, bad, b"other byteZ").status == 400
    assert not fs.exists(f"{root}/p/d/r/bad.bin")
    staged = fs.find(f"{root}/.union-tmp") if fs.exists(f"{root}/.union-tmp") else []
    assert staged == []
    probe = mint(proxy, b"", "obj.bin", root="r", size=False)
    head = call(proxy, "HEAD", probe.signed_url)
    assert head.status == 200 and head.headers["X-Union-Size"] == str(len(data))


def test_a_memory_store() -> None:
    import fsspec

    root = f"/dataproxy-{uuid.uuid4().hex}"
    proxy = DataProxy(store=f"memory://{root}", secret=SECRET, public_url="http://p")
    _check(proxy, fsspec.filesystem("memory"), root)


def test_an_s3_store(moto_s3: Any) -> None:
    pytest.importorskip("s3fs")
    prefix = f"{moto_s3.bucket}/proxy-{uuid.uuid4().hex[:8]}"
    proxy = DataProxy(
        store=f"s3://{prefix}", secret=SECRET, public_url="http://p", storage_options=moto_s3.storage_options
    )
    assert proxy.store == f"s3://{prefix}"
    _check(proxy, moto_s3.filesystem(), prefix)
