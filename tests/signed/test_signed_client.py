"""upload_file and upload_dir through signed URLs, over real HTTP to union serve's DataProxy behind a test
HTTP server (tests/signed/conftest.py: ProxyServer, with fault injection), whose URLs a stand-in transport
mints; the whole `union serve` is in test_signed_serve.py, real object stores in test_signed_s3/azure.py."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp

import union.plugins
from union.config import Config, resolve
from union.errors import IntegrityError, SourceChangedError, StorageError
from union.plugins import hookimpl
from union.server.exchange import Response
from union.storage import signed
from union.storage.upload import read_manifest, upload_dir, upload_file
from union.storage.walk import LocalFile

from .conftest import ProxyServer, ProxyTransport

ENDPOINT = "http://signed.test"


class _TransportPlugin:
    def __init__(self, transport: Any) -> None:
        self.transport = transport

    @hookimpl
    def union_transport(self, config: Config) -> Any:
        return self.transport if config.endpoint == ENDPOINT else None


@pytest.fixture
def config(transport: ProxyTransport) -> Iterator[Config]:
    """An endpoint and no raw-data prefix of the user's own: uploads go through signed URLs."""
    union.plugins.register(_TransportPlugin(transport), name="signed-test-transport")
    cfg = resolve(endpoint=ENDPOINT, project="p", domain="d", upload_concurrency=4)
    from union.remote import _client

    _client.reset()
    yield cfg
    _client.reset()


def sigs(server: ProxyServer) -> list[str]:
    return [parse_qs(urlsplit(path).query)["sig"][0] for method, path, _ in server.requests if "sig=" in path]


def puts(server: ProxyServer) -> list[tuple[str, dict[str, str]]]:
    return [(urlsplit(path).path, headers) for method, path, headers in server.requests if method == "PUT"]


# -- choosing signed mode ------------------------------------------------------------------------------


def test_signed_mode_when_an_endpoint_has_no_prefix_of_the_users() -> None:
    assert signed.storage_mode(resolve(endpoint=ENDPOINT)) == "signed"
    assert signed.storage_mode(resolve(endpoint=ENDPOINT, raw_data_prefix="s3://b/x")) == "direct"
    assert signed.storage_mode(resolve()) == "direct"


def test_the_builtin_destination_is_signed_and_mints_through_the_transport(
    config: Config, transport: ProxyTransport
) -> None:
    from union.storage.destination import upload_destination

    dest = upload_destination(config)
    assert isinstance(dest.fs, signed.SignedURLFileSystem)
    assert dest.protocol.name == "union-signed" and dest.root == "p/d"
    assert not dest.is_local
    assert transport.minted == []  # nothing asked of the control plane before an upload


def test_a_plugin_destination_receives_the_transport(
    config: Config, transport: ProxyTransport, store: Path, tmp_path: Path
) -> None:
    got: list[Any] = []

    class DestinationPlugin:
        @hookimpl
        def union_upload_destination(self, config: Config, transport: Any) -> Any:
            got.append(transport)
            return signed.signed_destination(config, transport)

    union.plugins.register(DestinationPlugin(), name="signed-test-destination")
    from union.storage.destination import upload_destination

    explicit = upload_destination(config, transport)  # type: ignore[arg-type]
    assert got == [transport] and isinstance(explicit.fs, signed.SignedURLFileSystem)
    src = tmp_path / "f.txt"
    src.write_bytes(b"via a plugin")
    md5, uri = upload_file(src, config=config)  # the plugin gets the configuration's transport, lazily
    assert uri == f"{store.as_uri()}/p/d/{md5}/f.txt" and len(transport.for_puts) == 1
    assert "LazyTransport" in repr(got[1])


# -- upload_file ---------------------------------------------------------------------------------------


def test_upload_file_through_signed_urls(
    config: Config, server: ProxyServer, transport: ProxyTransport, store: Path, tmp_path: Path
) -> None:
    src = tmp_path / "data.csv"
    src.write_bytes(b"a,b\n1,2\n")
    md5, uri = upload_file(src, config=config)
    assert md5 == hashlib.md5(b"a,b\n1,2\n").hexdigest()
    assert uri == f"{store.as_uri()}/p/d/{md5}/data.csv"
    assert (store / "p/d" / md5 / "data.csv").read_bytes() == b"a,b\n1,2\n"
    (request,) = transport.for_puts
    assert (request.project, request.domain, request.filename_root, request.filename) == (
        "p",
        "d",
        md5,
        "data.csv",
    )
    assert request.content_md5.hex() == md5 and request.content_length == 8
    assert request.expires_in.seconds >= signed.put_budget(8)
    ((_path, headers),) = puts(server)
    assert headers["Content-MD5"] and headers["Content-Length"] == "8"
    assert "x-ms-blob-type" not in {k.lower() for k in headers}
    assert "authorization" not in {k.lower() for k in headers}
    # A second upload asks whether the object is there (HEAD on an upload URL) and sends nothing.
    assert upload_file(src, config=config) == (md5, uri)
    assert len(puts(server)) == 1 and [m for m, _, _ in server.requests].count("HEAD") == 2


def test_a_large_file_is_streamed_not_read_whole(
    config: Config, server: ProxyServer, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from union.storage import transfer

    monkeypatch.setattr(transfer, "SINGLE_PUT_MAX", 1024)
    data = os.urandom(5 << 20)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    reads: list[int] = []
    original = signed._FileBody.read

    def spy(self: Any, n: int = -1) -> bytes:
        chunk: bytes = original(self, n)
        reads.append(len(chunk))
        return chunk

    monkeypatch.setattr(signed._FileBody, "read", spy)
    seen: list[int] = []
    md5, _uri = upload_file(src, config=config, progress=lambda p: seen.append(p.bytes_done))
    assert (store / "p/d" / md5 / "big.bin").read_bytes() == data
    assert max(reads) <= signed.READ_SIZE and sum(reads) == len(data)
    assert seen[-1] == len(data)
    ((_, headers),) = puts(server)
    assert headers["Content-Length"] == str(len(data)) and "Transfer-Encoding" not in headers


def test_a_file_changed_since_it_was_hashed_is_not_stored(
    transport: ProxyTransport, store: Path, tmp_path: Path
) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(3 << 20))
    local = LocalFile.from_stat("f.bin", str(src), os.stat(src))
    fs = signed.SignedURLFileSystem(transport)  # type: ignore[arg-type]
    with pytest.raises(SourceChangedError):
        fs.put_file_checked(local, "p/d/r/f.bin", hashlib.md5(b"what was hashed before").digest())
    assert not (store / "p").exists()


# -- upload_dir ----------------------------------------------------------------------------------------


def make_tree(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "pkg" / "a.py").write_text("print('a')\n")
    (root / "pkg" / "sub" / "b.txt").write_text("b" * 5000)
    (root / "top.json").write_text("{}")
    return root


def test_upload_dir_through_signed_urls_writes_the_manifest_last(
    config: Config, server: ProxyServer, store: Path, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree")
    digest, uri = upload_dir(tree, config=config)
    assert uri == f"{store.as_uri()}/p/d/{digest}"
    manifest = read_manifest(uri)
    assert sorted(e.path for e in manifest.files) == ["pkg/a.py", "pkg/sub/b.txt", "top.json"]
    assert (store / "p/d" / digest / "pkg/sub/b.txt").read_text() == "b" * 5000
    paths = [p for p, _ in puts(server)]
    assert paths[-1] == f"/_data/p/d/{digest}.manifest.json" and len(paths) == 4


def test_upload_dir_of_many_files_concurrently(config: Config, store: Path, tmp_path: Path) -> None:
    tree = tmp_path / "many"
    tree.mkdir()
    for i in range(60):
        (tree / f"f{i:03d}.txt").write_text(f"file {i}")
    digest, uri = upload_dir(tree, config=config)
    assert len(read_manifest(uri).files) == 60
    assert (store / "p/d" / digest / "f059.txt").read_text() == "file 59"


def test_an_empty_tree(config: Config, tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    _digest, uri = upload_dir(tmp_path / "nothing", config=config)
    assert read_manifest(uri).files == ()


# -- retries and refusals ------------------------------------------------------------------------------


def test_transient_failures_are_retried_with_a_new_url_each_time(
    config: Config,
    server: ProxyServer,
    transport: ProxyTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signed, "BACKOFF", 0.01)
    answers = iter(
        [Response(503, {"Retry-After": "0"}, b"busy"), Response(500, {}, b"oops"), Response(429, {}, b"")]
    )
    server.before = lambda request: next(answers, None) if request.method == "PUT" else None
    src = tmp_path / "f.txt"
    src.write_bytes(b"retry me")
    _md5, uri = upload_file(src, config=config)
    assert Path(urlsplit(uri).path).read_bytes() == b"retry me"
    assert len(transport.for_puts) == 4
    assert (
        len([s for s in server.requests if s[0] == "PUT"]) == 4
    )  # every PUT went out with a URL minted just before it


def test_a_connection_failure_is_retried(
    config: Config, server: ProxyServer, transport: ProxyTransport, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    first = [True]

    def answer(request: Any) -> Any:
        response = transport.proxy.create_upload_location(request)
        if request.content_md5 != bytes(16) and (first.pop() if first else False):
            response.signed_url = response.signed_url.replace(server.url, f"http://127.0.0.1:{dead}")
        return response

    transport.answer = answer
    src = tmp_path / "f.txt"
    src.write_bytes(b"after a refused connection")
    _md5, uri = upload_file(src, config=config)
    assert Path(urlsplit(uri).path).read_bytes() == b"after a refused connection"
    assert len(transport.for_puts) == 2


def test_a_refused_signature_is_not_retried_and_not_shown(
    config: Config, transport: ProxyTransport, store: Path, tmp_path: Path
) -> None:
    forged: list[str] = []

    def answer(request: Any) -> Any:
        response = transport.proxy.create_upload_location(request)
        response.signed_url = response.signed_url[:-6] + "AAAAAA"
        forged.append(parse_qs(urlsplit(response.signed_url).query)["sig"][0])
        return response

    transport.answer = answer
    src = tmp_path / "f.txt"
    src.write_bytes(b"x")
    with pytest.raises(StorageError, match="403") as info:
        upload_file(src, config=config)
    assert len(transport.for_puts) == 1
    assert forged[-1] not in str(info.value) and "sig=" not in str(info.value)
    assert not (store / "p").exists()


def test_wrong_bytes_reported_by_the_store_are_an_integrity_error(
    config: Config, server: ProxyServer, tmp_path: Path
) -> None:
    server.before = lambda r: Response(400, {}, b"<Code>BadDigest</Code>") if r.method == "PUT" else None
    src = tmp_path / "f.txt"
    src.write_bytes(b"x")
    with pytest.raises(IntegrityError):
        upload_file(src, config=config)
    server.before = lambda r: (
        Response(200, {"ETag": '"' + "0" * 32 + '"'}, b"") if r.method == "PUT" else None
    )
    with pytest.raises(IntegrityError, match="reports MD5"):
        upload_file(src, config=config)


def test_retries_give_up_with_a_typed_error(
    config: Config,
    server: ProxyServer,
    transport: ProxyTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signed, "BACKOFF", 0.001)
    server.before = lambda r: Response(503, {}, b"down") if r.method == "PUT" else None
    src = tmp_path / "f.txt"
    src.write_bytes(b"x")
    with pytest.raises(StorageError, match="failed 5 times"):
        upload_file(src, config=config)
    assert len(transport.for_puts) == signed.ATTEMPTS


def test_a_direct_storage_answer_is_refused_with_the_fix(transport: ProxyTransport, tmp_path: Path) -> None:
    transport.answer = lambda request: dp.CreateUploadLocationResponse(
        signed_url=(tmp_path / "x").as_uri(), native_url=(tmp_path / "x").as_uri()
    )
    fs = signed.SignedURLFileSystem(transport)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="raw_data_prefix"):
        fs.pipe_file("p/d/r/x", b"x")


def test_a_path_without_project_and_domain_is_refused(transport: ProxyTransport) -> None:
    fs = signed.SignedURLFileSystem(transport)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="project"):
        fs.pipe_file("justaname", b"x")


# -- Azure ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url,azure",
    [
        ("https://acct.blob.core.windows.net/c/b", True),
        ("http://127.0.0.1:10000/devstoreaccount1/c/b?sv=2023-01-03&se=x&sr=b&sp=cw&sig=abc", True),
        ("https://bucket.s3.amazonaws.com/k?X-Amz-Signature=abc", False),
        ("http://127.0.0.1:8080/_data/p/d/x?expires=1&sig=abc", False),
    ],
)
def test_azure_urls_are_recognised(url: str, azure: bool) -> None:
    assert signed._is_azure(url) is azure


def test_azure_urls_get_the_block_blob_header(
    config: Config, server: ProxyServer, transport: ProxyTransport, tmp_path: Path
) -> None:
    def answer(request: Any) -> Any:
        response = transport.proxy.create_upload_location(request)
        response.signed_url = f"{server.url}/az/container/blob?sv=2023-01-03&sr=b&sp=cw&sig=azuresig"
        return response

    transport.answer = answer
    server.before = lambda r: Response(201, {}, b"")
    src = tmp_path / "f.txt"
    src.write_bytes(b"to azure")
    upload_file(src, config=config)
    ((path, headers),) = puts(server)
    assert path == "/az/container/blob" and headers["x-ms-blob-type"] == "BlockBlob"
    assert headers["Content-MD5"]


# -- no signature ever shown ---------------------------------------------------------------------------


def test_canary_signatures_never_appear_in_errors_logs_or_reprs(
    config: Config,
    server: ProxyServer,
    transport: ProxyTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(signed, "BACKOFF", 0.001)
    caplog.set_level(logging.DEBUG)
    src = tmp_path / "f.txt"
    src.write_bytes(b"canary")
    upload_file(src, config=config)
    errors: list[str] = []
    server.before = lambda r: Response(503, {}, r.path.encode() + b"?" + str(r.query).encode())
    with pytest.raises(StorageError) as info:
        upload_file(src, config=config)
    errors.append(str(info.value))
    server.before = None

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]

    def to_dead(request: Any) -> Any:
        response = transport.proxy.create_upload_location(request)
        response.signed_url = response.signed_url.replace(server.url, f"http://127.0.0.1:{dead}")
        return response

    transport.answer = to_dead
    with pytest.raises(StorageError) as info:
        upload_file(src, config=config)
    errors.append(str(info.value))
    errors.append(repr(info.value.__cause__) + repr(info.value.__context__))

    from union.storage.destination import upload_destination

    fs = upload_destination(config).fs
    shown = "\n".join([*errors, caplog.text, repr(fs)])
    minted = [parse_qs(urlsplit(u).query)["sig"][0] for u in transport.urls]
    assert minted and sigs(server)
    for sig in {*sigs(server), *minted}:
        assert sig not in shown
    assert "sig=" not in shown


def test_a_proxy_that_cannot_place_a_manifest_is_named(
    config: Config, transport: ProxyTransport, tmp_path: Path
) -> None:
    def flyte_like(request: Any) -> Any:
        if request.filename_root == ".":  # a data proxy without the "." root: the MD5 folder instead
            request.filename_root = ""
        return transport.proxy.create_upload_location(request)

    transport.answer = flyte_like
    tree = make_tree(tmp_path / "tree")
    with pytest.raises(StorageError, match="tree layout.*raw_data_prefix"):
        upload_dir(tree, config=config)


def test_a_put_over_its_time_budget_is_abandoned_and_retried(
    config: Config,
    server: ProxyServer,
    transport: ProxyTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from union.storage import transfer

    monkeypatch.setattr(transfer, "SINGLE_PUT_MAX", 1024)
    monkeypatch.setattr(signed, "BACKOFF", 0.001)
    monkeypatch.setattr(signed, "BASE_BUDGET", 0.0)
    monkeypatch.setattr(signed, "MIN_RATE", 10**15)  # a budget of nothing: every streamed PUT is late
    src = tmp_path / "slow.bin"
    src.write_bytes(os.urandom(64 * 1024))
    with pytest.raises(StorageError, match="time budget"):
        upload_file(src, config=config)
    assert len(transport.for_puts) == signed.ATTEMPTS
    assert all(r.expires_in.seconds >= signed.EXPIRY_MARGIN for r in transport.for_puts)
    assert not (server.store / "p").exists()


def test_open_for_writing_sends_on_close_and_nothing_on_error(
    transport: ProxyTransport, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signed, "SPOOL_MEMORY", 1024)  # spill to disk and stream from there
    fs = signed.SignedURLFileSystem(transport)  # type: ignore[arg-type]
    data = os.urandom(5000)
    with fs.open("p/d/r/written.bin", "wb") as f:
        f.write(data[:100])
        f.write(data[100:])
    assert (store / "p/d/r/written.bin").read_bytes() == data
    assert fs.info("p/d/r/written.bin")["content_md5"] == hashlib.md5(data).digest()
    assert fs.unstrip_protocol("p/d/r/written.bin") == f"{store.as_uri()}/p/d/r/written.bin"
    with pytest.raises(RuntimeError), fs.open("p/d/r/never.bin", "wb") as f:
        f.write(b"half")
        raise RuntimeError("the writer failed")
    assert not (store / "p/d/r/never.bin").exists() and len(transport.for_puts) == 1
    with pytest.raises(StorageError, match="write-only"):
        fs.open("p/d/r/written.bin", "rb")


def test_the_record_of_uploads_is_bounded(transport: ProxyTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signed, "KNOWN_MAX", 3)
    fs = signed.SignedURLFileSystem(transport)  # type: ignore[arg-type]
    for i in range(5):
        fs.pipe_file(f"p/d/tree/f{i}", b"%d" % i)
    assert fs.find("p/d/tree") == ["p/d/tree/f2", "p/d/tree/f3", "p/d/tree/f4"]
    assert fs.unstrip_protocol("p/d/tree/f0").endswith("/p/d/tree/f0")  # from the learned prefix
    assert "uploaded=5" in repr(fs)


def test_a_warm_upload_dir_sends_nothing(
    config: Config, server: ProxyServer, transport: ProxyTransport, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree")
    first = upload_dir(tree, config=config)
    sent = len(puts(server))
    server.requests.clear()
    del transport.minted[:]
    assert upload_dir(tree, config=config) == first
    assert [m for m, _, _ in server.requests] == ["HEAD"]  # the manifest is there: the tree is complete
    assert len(transport.minted) == 1 and transport.for_puts == [] and sent == 4


def test_a_store_that_refuses_probes_is_not_probed_again(
    config: Config, server: ProxyServer, transport: ProxyTransport, tmp_path: Path
) -> None:
    server.before = lambda r: Response(403, {}, b"SignatureDoesNotMatch") if r.method == "HEAD" else None
    for i in range(3):
        src = tmp_path / f"f{i}.txt"
        src.write_bytes(b"%d" % i)
        upload_file(src, config=config)
    assert [m for m, _, _ in server.requests] == ["HEAD", "PUT", "PUT", "PUT"]
    assert len(transport.minted) == 4


def test_environment_proxies_and_ca_bundles_are_honoured(
    transport: ProxyTransport, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    plain = signed.SignedURLFileSystem(transport)  # type: ignore[arg-type]
    assert plain.session.trust_env is False  # no proxy variables: no per-request scan of the environment
    assert plain._verify_for("https://bucket.s3.amazonaws.com/k") is True
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    proxied = signed.SignedURLFileSystem(transport, verify="/endpoint-ca.pem", endpoint_host="union.example")  # type: ignore[arg-type]
    assert proxied.session.trust_env is True
    assert proxied._verify_for("https://bucket.s3.amazonaws.com/k") == str(tmp_path / "ca.pem")
    assert proxied._verify_for("https://union.example/_data/x") == "/endpoint-ca.pem"


def test_puts_use_urllib3_directly_unless_requests_must_apply_proxies(
    transport: ProxyTransport, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert signed.SignedURLFileSystem(transport)._pool is not None  # type: ignore[arg-type]
    import requests

    given = requests.Session()
    assert signed.SignedURLFileSystem(transport, session=given)._pool is None  # type: ignore[arg-type]
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert signed.SignedURLFileSystem(transport)._pool is None  # type: ignore[arg-type]
    # TLS settings as requests reads them: verify, a CA bundle file or folder, or no verification.
    assert signed._tls_kwargs(False)["cert_reqs"] == "CERT_NONE"
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    assert signed._tls_kwargs(str(bundle)) == {
        "cert_reqs": "CERT_REQUIRED",
        "ca_certs": str(bundle),
        "ca_cert_dir": None,
    }
    assert signed._tls_kwargs(str(tmp_path))["ca_cert_dir"] == str(tmp_path)
    assert signed._tls_kwargs(True)["ca_certs"]
