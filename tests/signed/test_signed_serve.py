"""upload_file and upload_dir through signed URLs to a real ``union serve``, over the Connect client."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from union.config import Config, resolve
from union.storage.upload import read_manifest, upload_dir, upload_file

pytest.importorskip("union.server.app")
pytest.importorskip("union.transport.connect")


@contextlib.contextmanager
def _serve(tmp_path: Path, auth: bool) -> Iterator[Any]:
    from union.server.app import ServeConfig, Server

    log = io.StringIO()
    server = Server(
        ServeConfig(port=0, data_dir=tmp_path / "server", auth=auth, concurrency=1, log_stream=log)
    )
    server.start()
    server.test_log = log
    try:
        yield server
    finally:
        transport = server.transport
        server.stop(grace=2)
        if transport is not None and hasattr(transport, "kill_all"):
            transport.kill_all()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Any]:
    with _serve(tmp_path, auth=False) as server:
        yield server


@pytest.fixture
def config(served: Any) -> Iterator[Config]:
    from union.remote import _client

    _client.reset()
    yield resolve(endpoint=served.url, insecure=True, project="p", domain="d", upload_concurrency=8)
    _client.reset()


def test_upload_file_and_dir_through_union_serve(
    served: Any,
    config: Config,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = Path(urlsplit(served.dataproxy.store).path)
    src = tmp_path / "data.bin"
    src.write_bytes(b"through union serve" * 1000)
    md5, uri = upload_file(src, config=config)
    assert md5 == hashlib.md5(src.read_bytes()).hexdigest()
    assert uri == f"{served.dataproxy.store}/p/d/{md5}/data.bin"
    assert (store / "p/d" / md5 / "data.bin").read_bytes() == src.read_bytes()

    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    for i in range(20):
        (tree / "pkg" / f"m{i}.py").write_text(f"X = {i}\n")
    digest, tree_uri = upload_dir(tree, config=config)
    assert tree_uri == f"{served.dataproxy.store}/p/d/{digest}"
    assert len(read_manifest(tree_uri).files) == 20
    assert (store / "p/d" / digest / "pkg/m7.py").read_text() == "X = 7\n"

    # Warm: the server says the manifest is there (HEAD on an upload URL), so nothing is sent again.
    from union.storage import signed

    sent: list[str] = []
    original = signed.SignedURLFileSystem._put

    def spy(self: Any, path: str, *args: Any) -> Any:
        sent.append(path)
        return original(self, path, *args)

    monkeypatch.setattr(signed.SignedURLFileSystem, "_put", spy)
    assert upload_dir(tree, config=config) == (digest, tree_uri)
    assert upload_file(src, config=config) == (md5, uri)
    assert sent == []
    assert "sig=" not in caplog.text and "sig=" not in served.test_log.getvalue()


def test_signed_urls_from_union_serve_refuse_tampering(served: Any, config: Config) -> None:
    import requests
    from flyteidl2.dataproxy import dataproxy_service_pb2 as dp

    from union.transport import transport_for

    transport = transport_for(config)
    data = b"tamper-proof"
    answer = transport.create_upload_location(
        dp.CreateUploadLocationRequest(
            project="p",
            domain="d",
            filename="t.txt",
            content_md5=hashlib.md5(data).digest(),
            content_length=len(data),
        )
    )
    headers = dict(answer.headers)
    assert (
        requests.put(answer.signed_url.replace("t.txt", "u.txt"), data=data, headers=headers).status_code
        == 403
    )
    assert requests.put(answer.signed_url, data=b"tamper-prooF", headers=headers).status_code == 400
    parts = urlsplit(answer.signed_url)
    evil = parts._replace(path="/_data/p/d/%2e%2e/%2e%2e/x").geturl()
    assert requests.put(evil, data=data, headers=headers).status_code == 400
    assert requests.put(answer.signed_url, data=data, headers=headers).status_code == 200
    query = parse_qs(parts.query)
    assert set(query) == {"expires", "size", "md5", "sig"}


def test_signed_uploads_to_a_server_with_auth(tmp_path: Path) -> None:
    """The Connect calls carry the API key's token; the PUTs need none (the signature is the grant)."""
    pytest.importorskip("union.auth")
    from union.errors import UnauthenticatedError
    from union.remote import _client

    with _serve(tmp_path, auth=True) as server:
        key = server.auth.create_api_key("uploader", endpoint=server.url)
        _client.reset()
        config = resolve(endpoint=server.url, insecure=True, api_key=key, project="p", domain="d")
        src = tmp_path / "f.txt"
        src.write_bytes(b"authenticated upload")
        md5, uri = upload_file(src, config=config)
        assert uri == f"{server.dataproxy.store}/p/d/{md5}/f.txt"
        assert key not in server.test_log.getvalue()
        _client.reset()
        anonymous = resolve(endpoint=server.url, insecure=True, project="p", domain="d")
        with pytest.raises(UnauthenticatedError):
            upload_file(src, config=anonymous)
        _client.reset()
