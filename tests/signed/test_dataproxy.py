"""The data proxy's signed URLs, checked on exchange.Request directly: what is signed, what is refused."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp

from union.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from union.server.dataproxy import DataProxy
from union.server.exchange import Headers, Request, Response

from .conftest import SECRET


def mint(
    proxy: DataProxy,
    data: bytes,
    filename: str = "a.txt",
    *,
    root: str = "",
    size: bool = True,
    expires_in: int | None = None,
) -> dp.CreateUploadLocationResponse:
    request = dp.CreateUploadLocationRequest(
        project="p",
        domain="d",
        filename=filename,
        filename_root=root,
        content_md5=hashlib.md5(data).digest(),
        content_length=len(data) if size else 0,
    )
    if expires_in is not None:
        request.expires_in.FromSeconds(expires_in)
    return proxy.create_upload_location(request)


def call(
    proxy: DataProxy,
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    length: int | None = -1,
    stream: Any = None,
) -> Response:
    parts = urlsplit(url)
    return proxy.handle(
        Request(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=Headers(headers or {}),
            stream=stream or io.BytesIO(body),
            content_length=len(body) if length == -1 else length,
        )
    )


def put(proxy: DataProxy, answer: dp.CreateUploadLocationResponse, body: bytes, **kw: Any) -> Response:
    headers = dict(answer.headers)
    headers.update(kw.pop("headers", {}))
    return call(proxy, "PUT", answer.signed_url, body, headers, **kw)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def stored(store: Path) -> list[str]:
    """Every file in the store outside the staging area."""
    found = []
    for dirpath, dirnames, filenames in os.walk(store):
        dirnames[:] = [d for d in dirnames if d != ".union-tmp"]
        found += [os.path.relpath(os.path.join(dirpath, f), store) for f in filenames]
    return sorted(found)


def staging(store: Path) -> list[str]:
    area = store / ".union-tmp"
    return sorted(os.listdir(area)) if area.exists() else []


def text(response: Response) -> str:
    body = response.body
    return (body if isinstance(body, bytes) else b"".join(body)).decode()


# -- minting -------------------------------------------------------------------------------------------


def test_upload_location_layout_signature_and_headers(proxy: DataProxy, store: Path) -> None:
    data = b"hello"
    md5 = hashlib.md5(data)
    answer = mint(proxy, data)
    assert answer.native_url == f"{store.as_uri()}/p/d/{md5.hexdigest()}/a.txt"
    parts = urlsplit(answer.signed_url)
    assert parts.netloc == "proxy.test" and parts.path == f"/_data/p/d/{md5.hexdigest()}/a.txt"
    query = parse_qs(parts.query)
    assert set(query) == {"expires", "size", "md5", "sig"}
    assert query["size"] == ["5"] and query["md5"] == [md5.hexdigest()]
    assert dict(answer.headers) == {"Content-MD5": base64.b64encode(md5.digest()).decode()}
    assert answer.expires_at.seconds == int(query["expires"][0])


def test_filename_root_places_the_object_and_dot_means_the_domain_itself(
    proxy: DataProxy, store: Path
) -> None:
    assert mint(proxy, b"x", "dir/f.py", root="tree1").native_url == f"{store.as_uri()}/p/d/tree1/dir/f.py"
    assert (
        mint(proxy, b"x", "t.manifest.json", root=".").native_url == f"{store.as_uri()}/p/d/t.manifest.json"
    )


def test_expiry_is_what_was_asked_and_capped(proxy: DataProxy) -> None:
    import time

    now = time.time()
    short = mint(proxy, b"x", expires_in=90).expires_at.seconds
    assert now + 89 <= short <= now + 92
    long = mint(proxy, b"x", expires_in=10**9).expires_at.seconds
    assert long <= now + 7 * 24 * 3600 + 2


@pytest.mark.parametrize(
    "filename,root",
    [
        ("../x", ""),
        ("a/../../x", ""),
        ("/etc/passwd", ""),
        ("a\\b", ""),
        ("a\x00b", ""),
        ("a\nb", ""),
        ("a\x7fb", ""),
        ("", ""),
        ("a//b", ""),
        ("./a", ""),
        ("ok.txt", ".."),
        ("ok.txt", "../up"),
        ("ok.txt", "/abs"),
        ("ok.txt", "a\\b"),
    ],
)
def test_traversal_in_names_is_refused_when_minting(proxy: DataProxy, filename: str, root: str) -> None:
    with pytest.raises(InvalidArgumentError):
        mint(proxy, b"x", filename, root=root)


@pytest.mark.parametrize("field", ["project", "domain"])
def test_project_and_domain_must_be_plain_names(proxy: DataProxy, field: str) -> None:
    request = dp.CreateUploadLocationRequest(
        project="p", domain="d", filename="a", content_md5=hashlib.md5(b"").digest()
    )
    for bad in ("../x", ".union-tmp", "a/b", ""):
        setattr(request, field, bad)
        if bad:  # empty means the default project or domain
            with pytest.raises(InvalidArgumentError, match=field):
                proxy.create_upload_location(request)


def test_md5_is_required(proxy: DataProxy) -> None:
    with pytest.raises(InvalidArgumentError, match="content_md5"):
        proxy.create_upload_location(dp.CreateUploadLocationRequest(project="p", domain="d", filename="a"))


def test_a_declared_size_over_the_limit_is_refused(store: Path) -> None:
    proxy = DataProxy(store=store.as_uri(), secret=SECRET, public_url="http://p", max_upload=10)
    with pytest.raises(InvalidArgumentError, match="limit"):
        mint(proxy, b"x" * 11)


def test_a_short_secret_is_refused(store: Path) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        DataProxy(store=store.as_uri(), secret=b"short", public_url="http://p")


def test_repr_holds_no_secret(proxy: DataProxy) -> None:
    assert SECRET.decode() not in repr(proxy)


# -- PUT -----------------------------------------------------------------------------------------------


def test_put_stores_the_bytes_at_the_native_url(proxy: DataProxy, store: Path) -> None:
    data = b"hello world" * 1000
    answer = mint(proxy, data)
    response = put(proxy, answer, data)
    assert response.status == 200, text(response)
    assert response.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert (store / answer.native_url[len(store.as_uri()) + 1 :]).read_bytes() == data
    assert staging(store) == []


def test_an_empty_file(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"", "empty")
    assert put(proxy, answer, b"").status == 200
    assert stored(store) == [f"p/d/{hashlib.md5(b'').hexdigest()}/empty"]


def test_a_put_without_a_declared_size_is_bound_by_md5(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"abc", size=False)
    assert "size=" not in answer.signed_url
    assert put(proxy, answer, b"abd").status == 400
    assert put(proxy, answer, b"abc").status == 200


@pytest.mark.parametrize(
    "change",
    [
        {"sig": "AAAA"},
        {"md5": hashlib.md5(b"other").hexdigest()},
        {"size": "4"},
        {"expires": "9999999999"},
    ],
    ids=["forged-signature", "tampered-md5", "tampered-size", "extended-expiry"],
)
def test_a_changed_query_is_refused_with_403(proxy: DataProxy, store: Path, change: dict[str, str]) -> None:
    data = b"hello"
    answer = mint(proxy, data)
    response = call(proxy, "PUT", with_query(answer.signed_url, **change), data, dict(answer.headers))
    assert response.status == 403, text(response)
    assert stored(store) == []


def test_a_missing_signature_is_refused(proxy: DataProxy) -> None:
    answer = mint(proxy, b"x")
    parts = urlsplit(answer.signed_url)
    assert call(proxy, "PUT", parts._replace(query="").geturl(), b"x").status == 403


def test_a_tampered_path_is_refused_with_403(proxy: DataProxy, store: Path) -> None:
    data = b"hello"
    answer = mint(proxy, data)
    url = answer.signed_url.replace("/a.txt?", "/b.txt?")
    assert call(proxy, "PUT", url, data, dict(answer.headers)).status == 403
    url = answer.signed_url.replace("/p/d/", "/p/other/")
    assert call(proxy, "PUT", url, data, dict(answer.headers)).status == 403
    assert stored(store) == []


def test_a_signature_for_another_secret_is_refused(proxy: DataProxy, store: Path) -> None:
    other = DataProxy(
        store=store.as_uri(), secret=b"another-secret-0123456789", public_url="http://proxy.test"
    )
    answer = mint(other, b"x")
    assert put(proxy, answer, b"x").status == 403


def test_an_expired_url_is_refused(store: Path) -> None:
    now = [1_000_000.0]
    proxy = DataProxy(store=store.as_uri(), secret=SECRET, public_url="http://p", clock=lambda: now[0])
    answer = mint(proxy, b"x", expires_in=60)
    now[0] += 61
    response = put(proxy, answer, b"x")
    assert response.status == 403 and "expired" in text(response)
    now[0] -= 2
    assert put(proxy, answer, b"x").status == 200


def test_a_get_url_cannot_put_and_a_put_url_cannot_get(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"x")
    assert put(proxy, answer, b"x").status == 200
    assert call(proxy, "GET", answer.signed_url).status == 403
    link, _ = proxy.sign_download(answer.native_url)
    assert call(proxy, "PUT", link, b"y").status == 403
    assert (store / f"p/d/{hashlib.md5(b'x').hexdigest()}/a.txt").read_bytes() == b"x"


@pytest.mark.parametrize(
    "path",
    [
        "/_data/p/d/%ff%fe",
        "/_data/p/d/../../etc/passwd",
        "/_data/p/d/%2e%2e/x",
        "/_data//etc/passwd",
        "/_data/p/d/a%5cb",
        "/_data/p/d/a%00b",
    ],
)
def test_traversal_in_a_put_path_is_refused_with_400(proxy: DataProxy, store: Path, path: str) -> None:
    answer = mint(proxy, b"x")
    query = urlsplit(answer.signed_url).query
    assert call(proxy, "PUT", f"http://proxy.test{path}?{query}", b"x").status == 400
    assert stored(store) == []


def test_content_md5_header_must_match_the_signed_md5(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"x")
    other = base64.b64encode(hashlib.md5(b"y").digest()).decode()
    assert put(proxy, answer, b"x", headers={"Content-MD5": other}).status == 403
    assert put(proxy, answer, b"x", headers={"Content-MD5": "not base64!"}).status == 400
    assert stored(store) == []


def test_wrong_bytes_are_refused_and_never_visible(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"hello")
    response = put(proxy, answer, b"jello")
    assert response.status == 400 and "MD5" in text(response)
    assert stored(store) == [] and staging(store) == []


def test_a_content_length_other_than_the_signed_size_is_refused(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"hello")
    assert put(proxy, answer, b"hello!").status == 403
    assert stored(store) == []


def test_a_short_body_is_refused_and_never_visible(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"hello")
    assert put(proxy, answer, b"hel", length=None).status == 400  # chunked, ended early
    assert stored(store) == [] and staging(store) == []


def test_a_longer_body_than_signed_is_refused(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"hello")
    assert put(proxy, answer, b"hello and more", length=None).status == 400
    assert stored(store) == [] and staging(store) == []


class _Dropped(io.RawIOBase):
    """A body whose connection drops after some bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, n: int = -1) -> bytes:
        if self.data:
            out, self.data = self.data[:3], self.data[3:]
            return out
        raise ConnectionResetError("peer went away")


def test_a_dropped_connection_leaves_nothing(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"hello world")
    response = put(proxy, answer, b"", stream=_Dropped(b"hello "), length=11)
    assert response.status == 400
    assert stored(store) == [] and staging(store) == []


def test_a_body_over_the_server_limit_is_413(store: Path) -> None:
    proxy = DataProxy(store=store.as_uri(), secret=SECRET, public_url="http://p", max_upload=8)
    answer = mint(proxy, b"x" * 8, size=False)
    assert put(proxy, answer, b"x" * 20).status == 413
    assert put(proxy, answer, b"x" * 20, length=None).status == 413
    assert stored(store) == [] and staging(store) == []


def test_an_earlier_object_stays_when_a_replacement_fails(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"hello", root="r")
    assert put(proxy, answer, b"hello").status == 200
    assert put(proxy, answer, b"hellx").status == 400
    assert (store / "p/d/r/a.txt").read_bytes() == b"hello"


def test_other_methods_are_405(proxy: DataProxy) -> None:
    answer = mint(proxy, b"x")
    assert call(proxy, "DELETE", answer.signed_url).status == 405


# -- GET -----------------------------------------------------------------------------------------------


def test_signed_download_streams_the_object(proxy: DataProxy) -> None:
    data = os.urandom(3 << 20)
    answer = mint(proxy, data, "big.bin")
    assert put(proxy, answer, data).status == 200
    link, _ = proxy.sign_download(answer.native_url)
    response = call(proxy, "GET", link)
    assert response.status == 200 and not isinstance(response.body, bytes)
    assert b"".join(response.body) == data
    assert call(proxy, "HEAD", link).headers["Content-Length"] == str(len(data))


def test_download_links_only_for_the_store(proxy: DataProxy, store: Path) -> None:
    with pytest.raises(PermissionDeniedError):
        proxy.sign_download("file:///etc/passwd")
    with pytest.raises(PermissionDeniedError):
        proxy.sign_download(store.as_uri() + "-other/x")
    with pytest.raises(InvalidArgumentError):
        proxy.sign_download(store.as_uri() + "/p/../../etc/passwd")


def test_download_of_a_missing_object_is_404_and_tampering_403(proxy: DataProxy, store: Path) -> None:
    link, _ = proxy.sign_download(store.as_uri() + "/p/d/none")
    assert call(proxy, "GET", link).status == 404
    assert call(proxy, "GET", with_query(link, sig="x" + link[-10:])).status == 403
    assert call(proxy, "GET", link.replace("/none?", "/nonf?")).status == 403


def test_create_download_link_uses_locate(store: Path) -> None:
    seen: list[dp.CreateDownloadLinkRequest] = []

    def locate(request: dp.CreateDownloadLinkRequest) -> str:
        seen.append(request)
        return store.as_uri() + "/p/d/report.html"

    proxy = DataProxy(store=store.as_uri(), secret=SECRET, public_url="http://p", locate=locate)
    request = dp.CreateDownloadLinkRequest(artifact_type=dp.ARTIFACT_TYPE_REPORT)
    request.expires_in.FromSeconds(120)
    response = proxy.create_download_link(request)
    (url,) = response.pre_signed_urls.signed_url
    assert urlsplit(url).path == "/_data/p/d/report.html" and seen == [request]
    (store / "p/d").mkdir(parents=True)
    (store / "p/d/report.html").write_text("<p>hi</p>")
    assert b"".join(call(proxy, "GET", url).body) == b"<p>hi</p>"  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        DataProxy(store=store.as_uri(), secret=SECRET, public_url="http://p").create_download_link(request)


def test_a_store_that_cannot_take_the_object_is_503(proxy: DataProxy, store: Path) -> None:
    answer = mint(proxy, b"hello", root="r")
    (store / "p" / "d").mkdir(parents=True)
    (store / "p" / "d" / "r").write_text("a file where a folder must go")
    response = put(proxy, answer, b"hello")
    assert response.status == 503 and "Retry" in text(response)
    assert staging(store) == []


def test_head_with_an_upload_url_says_whether_the_object_is_there(proxy: DataProxy) -> None:
    probe = mint(proxy, b"", "a.txt", root="r", size=False)  # what a client mints to ask
    response = call(proxy, "HEAD", probe.signed_url)
    assert response.status == 404
    data = b"stored already"
    assert put(proxy, mint(proxy, data, "a.txt", root="r"), data).status == 200
    response = call(proxy, "HEAD", probe.signed_url)
    assert response.status == 200 and response.headers["X-Union-Size"] == str(len(data))
    assert call(proxy, "HEAD", with_query(probe.signed_url, sig="forged")).status == 403
    assert call(proxy, "HEAD", probe.signed_url.replace("/a.txt?", "/b.txt?")).status == 403
