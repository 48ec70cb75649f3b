"""The data proxy of ``union serve``: signed URLs for uploads and downloads, and the handlers that honour them.

A client with no access to the server's store asks ``CreateUploadLocation`` for a URL, then PUTs the bytes
there. The URL carries an HMAC-SHA256 (keyed by the server's secret) over the method, the object's path,
the expiry, and the size and MD5 the client declared, so it is good for exactly one object, one content
and a limited time: any change to the path, size, MD5 or expiry, or a URL used after it expired, is
refused with 403. Filenames are relative paths of plain segments; ``..``, absolute paths, backslashes and
NUL are refused with 400, both when a URL is minted and when it is used.

A PUT streams its body to a temporary name in the store, hashing on the way, and moves it into place only
when its size and MD5 are those that were signed: nothing half-written, and nothing with other bytes, is
ever visible at the object's path. Downloads are GET URLs signed the same way, streamed from the store.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from union.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from union.server.exchange import Request, Response

if TYPE_CHECKING:
    from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy

log = logging.getLogger(__name__)

PREFIX = "/_data/"
STAGING = ".union-tmp"
DEFAULT_EXPIRY = 3600
MAX_EXPIRY = 7 * 24 * 3600
DEFAULT_MAX_UPLOAD = 5 << 30
CHUNK = 1 << 20
SIZE_HEADER = "X-Union-Size"
ROOT_HERE = "."  # filename_root meaning "directly under <project>/<domain>" (tree manifests live there)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Refused(Exception):
    """A request the data proxy answers with ``status`` and a message free of secrets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_segments(path: str, what: str) -> list[str]:
    """The segments of a relative POSIX path, refusing anything that could leave its folder."""
    if not path:
        raise InvalidArgumentError(f"{what} is empty. Give a relative file name such as data.csv.")
    if "\x00" in path or "\\" in path:
        raise InvalidArgumentError(
            f"{what} {path!r} contains a NUL or a backslash. Use a relative path with '/' separators."
        )
    if path.startswith("/"):
        raise InvalidArgumentError(f"{what} {path!r} is absolute. Give a path relative to its folder.")
    segments = path.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidArgumentError(
                f"{what} {path!r} has an empty, '.' or '..' segment. Give a plain relative path "
                "such as dir/data.csv."
            )
        if _CONTROL.search(segment):
            raise InvalidArgumentError(f"{what} {path!r} contains control characters. Rename the file.")
    return segments


def _sign(secret: bytes, method: str, path: str, expires: int, size: int | None, md5: str) -> str:
    message = "\n".join([method, path, str(expires), "" if size is None else str(size), md5])
    mac = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


class DataProxy:
    """Mints and serves signed URLs over the store at ``store`` (any fsspec URI).

    ``public_url`` is the base URL clients reach the server at; signed URLs are ``<public_url>/_data/...``.
    ``locate`` answers ``CreateDownloadLink`` (an artifact request -> the native URL it names), e.g.
    ``DataProxy.locate_through(engine)``; without it that RPC is refused as not found.
    """

    def __init__(
        self,
        *,
        store: str,
        secret: bytes,
        public_url: str,
        storage_options: Mapping[str, Any] | None = None,
        max_upload: int = DEFAULT_MAX_UPLOAD,
        locate: Callable[[dataproxy.CreateDownloadLinkRequest], str | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from union.storage.protocols import filesystem_for

        if len(secret) < 16:
            raise ValueError("the data proxy's signing secret must be at least 16 bytes")
        self._secret = secret
        self.public_url = public_url.rstrip("/")
        self.max_upload = max_upload
        self.locate = locate
        self._clock = clock
        self.fs, _, root = filesystem_for(store, storage_options)
        self.root = root.rstrip("/")
        self.store = str(self.fs.unstrip_protocol(self.root))
        self._local: bool | None = None

    def __repr__(self) -> str:
        return f"DataProxy(store={self.store!r}, public_url={self.public_url!r})"

    # -- signing -----------------------------------------------------------------------------------

    def sign(
        self, method: str, rel: str, expires_in: float, *, size: int | None = None, md5: str = ""
    ) -> tuple[str, int]:
        """A URL allowing ``method`` on ``rel`` (a path below the store) until the returned expiry."""
        check_segments(rel, "the object path")
        expires = int(self._clock() + max(1.0, min(float(expires_in), MAX_EXPIRY)))
        query = f"expires={expires}"
        if size is not None:
            query += f"&size={size}"
        if md5:
            query += f"&md5={md5}"
        query += "&sig=" + _sign(self._secret, method, rel, expires, size, md5)
        return f"{self.public_url}{PREFIX}{quote(rel, safe='/')}?{query}", expires

    def native_url(self, rel: str) -> str:
        return f"{self.store}/{rel}"

    def relative(self, native_url: str) -> str:
        """The path below the store of a native URL, refusing URLs outside it."""
        prefix = self.store + "/"
        if not native_url.startswith(prefix):
            raise PermissionDeniedError(
                "the data proxy signs links only for objects in its own store. Ask for an object "
                "that an upload through this server returned."
            )
        rel = native_url[len(prefix) :]
        check_segments(rel, "the object path")
        return rel

    # -- RPCs ----------------------------------------------------------------------------------------

    def create_upload_location(
        self, request: dataproxy.CreateUploadLocationRequest, *, timeout: float | None = None
    ) -> dataproxy.CreateUploadLocationResponse:
        """A PUT URL for ``<project>/<domain>/<filename_root or md5 hex>/<filename>``, bound to the MD5."""
        from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy

        project = request.project or "default"
        domain = request.domain or "development"
        for value, what in ((project, "project"), (domain, "domain")):
            if not _NAME.match(value):
                raise InvalidArgumentError(
                    f"{what} {value!r} is not a valid name. Use letters, digits, '-', '_' and '.', "
                    "starting with a letter or digit."
                )
        if len(request.content_md5) != 16:
            raise InvalidArgumentError(
                "content_md5 must be the 16-byte MD5 digest of the file to upload; "
                f"got {len(request.content_md5)} bytes."
            )
        md5 = request.content_md5.hex()
        filename = check_segments(request.filename, "filename")
        root = request.filename_root or md5
        folder: list[str] = [] if root == ROOT_HERE else check_segments(root, "filename_root")
        rel = "/".join([project, domain, *folder, *filename])
        size = request.content_length if request.content_length > 0 else None
        if size is not None and size > self.max_upload:
            raise InvalidArgumentError(
                f"{size} bytes is over this server's upload limit of {self.max_upload} bytes. "
                "Split the data, or raise the server's limit."
            )
        expires_in = (
            request.expires_in.ToSeconds() if request.HasField("expires_in") else DEFAULT_EXPIRY
        ) or DEFAULT_EXPIRY
        url, expires = self.sign("PUT", rel, expires_in, size=size, md5=md5)
        response = dataproxy.CreateUploadLocationResponse(
            signed_url=url,
            native_url=self.native_url(rel),
            headers={"Content-MD5": base64.b64encode(request.content_md5).decode()},
        )
        response.expires_at.FromSeconds(expires)
        return response

    def sign_download(self, native_url: str, expires_in: float = DEFAULT_EXPIRY) -> tuple[str, int]:
        """A GET URL for an object of this store (``native_url`` as an upload returned it)."""
        return self.sign("GET", self.relative(native_url), expires_in)

    @staticmethod
    def locate_through(
        transport: Any,
    ) -> Callable[[dataproxy.CreateDownloadLinkRequest], str | None]:
        """A ``locate`` that asks a transport (the embedded engine, which answers native URLs)."""

        def locate(request: dataproxy.CreateDownloadLinkRequest) -> str | None:
            urls = transport.create_download_link(request).pre_signed_urls.signed_url
            return str(urls[0]) if urls else None

        return locate

    def create_download_link(
        self, request: dataproxy.CreateDownloadLinkRequest, *, timeout: float | None = None
    ) -> dataproxy.CreateDownloadLinkResponse:
        """A signed GET URL for the artifact ``locate`` finds for the request."""
        from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy

        native = self.locate(request) if self.locate is not None else None
        if not native:
            raise NotFoundError(
                "no stored artifact matches this download request. Check the task or action identifier "
                "and the artifact type."
            )
        expires_in = (
            request.expires_in.ToSeconds() if request.HasField("expires_in") else DEFAULT_EXPIRY
        ) or DEFAULT_EXPIRY
        rel = self.relative(native).rstrip("/")
        response = dataproxy.CreateDownloadLinkResponse()
        signed = response.pre_signed_urls
        for path in [rel, *self._tree_files(rel)]:
            url, expires = self.sign("GET", path, expires_in)
            signed.signed_url.append(url)
        signed.expires_at.FromSeconds(expires)
        return response

    def _tree_files(self, rel: str) -> list[str]:
        """For a tree (an ``upload_dir``, such as a code bundle): its manifest, then each file in the
        manifest's order, so one link answer downloads the whole tree. Empty for a single object."""
        from union.storage.manifest import SUFFIX, Manifest

        digest = rel.rsplit("/", 1)[-1]
        try:
            data = self.fs.cat_file(f"{self.root}/{rel}{SUFFIX}")
        except (FileNotFoundError, IsADirectoryError):
            return []
        manifest = Manifest.from_bytes(data, expected_digest=digest)
        return [f"{rel}{SUFFIX}", *(f"{rel}/{entry.path}" for entry in manifest.files)]

    # -- HTTP ----------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Serve ``PUT``, ``GET`` and ``HEAD`` on ``/_data/<path>?expires=..&sig=..``."""
        try:
            if request.method == "PUT":
                return self._put(request)
            if request.method in ("GET", "HEAD"):
                return self._get(request)
            return Response(
                405, {"Allow": "GET, HEAD, PUT", "Content-Type": "text/plain"}, b"use GET or PUT\n"
            )
        except _Refused as exc:
            return Response.text(exc.status, f"{exc}\n")

    def _rel_path(self, request: Request) -> str:
        if not request.path.startswith(PREFIX):
            raise _Refused(404, "not a data proxy path")
        try:
            rel = unquote(request.path[len(PREFIX) :], errors="strict")
            check_segments(rel, "the object path")
        except UnicodeDecodeError:
            raise _Refused(400, "the object path is not valid UTF-8 once decoded.") from None
        except InvalidArgumentError as exc:
            raise _Refused(400, str(exc)) from None
        return rel

    def _verify(self, request: Request, method: str, rel: str) -> tuple[int | None, str]:
        """Check the signature and expiry; returns the signed size and MD5 hex."""
        sig = request.query_one("sig") or ""
        expires_text = request.query_one("expires") or ""
        size_text = request.query_one("size")
        md5 = request.query_one("md5") or ""
        if not sig or not expires_text.isdigit() or (size_text is not None and not size_text.isdigit()):
            raise _Refused(403, "missing or malformed signature. Ask the server for a new signed URL.")
        expires = int(expires_text)
        size = int(size_text) if size_text is not None else None
        expected = _sign(self._secret, method, rel, expires, size, md5)
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            raise _Refused(403, "the signature does not match this URL. Ask the server for a new signed URL.")
        if expires < self._clock():
            raise _Refused(403, "this signed URL has expired. Ask the server for a new one.")
        return size, md5

    def _put(self, request: Request) -> Response:
        rel = self._rel_path(request)
        size, md5 = self._verify(request, "PUT", rel)
        header_md5 = request.headers.get("content-md5")
        if header_md5 is not None:
            try:
                sent = base64.b64decode(header_md5, validate=True).hex()
            except (binascii.Error, ValueError):
                raise _Refused(400, "Content-MD5 is not base64. Send the base64 of the MD5 digest.") from None
            if md5 and sent != md5:
                raise _Refused(403, "Content-MD5 differs from the MD5 this URL was signed for.")
            md5 = md5 or sent
        length = request.content_length
        if size is not None and length is not None and length != size:
            raise _Refused(403, f"Content-Length {length} differs from the size this URL was signed for.")
        limit = size if size is not None else self.max_upload
        if length is not None and length > self.max_upload:
            raise _Refused(413, f"the body exceeds this server's upload limit of {self.max_upload} bytes.")
        target = f"{self.root}/{rel}"
        got_md5, _ = self._store(request, target, md5, size, limit)
        return Response(200, {"ETag": f'"{got_md5}"', "Content-Length": "0"}, b"")

    def _store(
        self, request: Request, target: str, md5: str, size: int | None, limit: int
    ) -> tuple[str, int]:
        """Stream the body to a temporary name, check it, then move it into place.

        A body that breaks off is the client's problem (400, retry); a store that cannot take the bytes is
        the server's (503, so clients retry later).
        """
        tmp = f"{self.root}/{STAGING}/{os.getpid()}-{uuid.uuid4().hex}"
        hasher = hashlib.md5(usedforsecurity=False)
        received = 0
        committed = False
        try:
            with self._open_staged(tmp) as out:
                while True:
                    try:
                        chunk = request.stream.read(CHUNK)
                    except (OSError, ValueError):
                        raise _Refused(
                            400, "the upload was interrupted; nothing was stored. Upload again."
                        ) from None
                    if not chunk:
                        break
                    received += len(chunk)
                    if received > limit:
                        status = 413 if received > self.max_upload else 400
                        raise _Refused(status, f"the body is larger than the {limit} bytes allowed.")
                    hasher.update(chunk)
                    out.write(chunk)
            if size is not None and received != size:
                raise _Refused(400, f"received {received} bytes but {size} were signed; nothing was stored.")
            digest = hasher.hexdigest()
            if md5 and digest != md5:
                raise _Refused(
                    400, "the body's MD5 differs from the MD5 this URL was signed for; nothing was stored."
                )
            self._move(tmp, target)
            committed = True
            return digest, received
        except OSError as exc:
            log.warning("data proxy: the store could not take an object: %s", type(exc).__name__)
            raise _Refused(
                503, "the store could not take the object; nothing was stored. Retry later."
            ) from None
        finally:
            if not committed:
                with contextlib.suppress(Exception):
                    self.fs.rm_file(tmp)

    def _is_local(self) -> bool:
        if self._local is None:
            from fsspec.implementations.local import LocalFileSystem

            self._local = isinstance(self.fs, LocalFileSystem)
        return self._local

    def _open_staged(self, tmp: str) -> Any:
        """A staging file to write: plain ``open`` on a local store (fsspec's wrapper costs more than a
        small upload), creating the staging folder the first time."""
        if not self._is_local():
            return self.fs.open(tmp, "wb")
        try:
            return open(tmp, "wb")
        except FileNotFoundError:
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
            return open(tmp, "wb")

    def _move(self, tmp: str, target: str) -> None:
        if self._is_local():
            try:
                os.replace(tmp, target)  # the folder usually exists: one system call
            except FileNotFoundError:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.replace(tmp, target)
        else:
            self.fs.mv(tmp, target)

    def _get(self, request: Request) -> Response:
        rel = self._rel_path(request)
        try:
            self._verify(request, "GET", rel)
        except _Refused:
            # HEAD with an upload URL: whoever may write an object may ask whether it is there already,
            # so a client skips sending what is stored (answered 200 with its size, or 404).
            if request.method != "HEAD":
                raise
            self._verify(request, "PUT", rel)
        target = f"{self.root}/{rel}"
        try:
            info = self.fs.info(target)
        except FileNotFoundError:
            raise _Refused(404, "no such object.") from None
        if info.get("type") == "directory":
            raise _Refused(404, "no such object (it is a folder).")
        size = str(int(info["size"]))
        # Servers may set Content-Length from the (empty) body of a HEAD answer; X-Union-Size survives.
        headers = {"Content-Type": "application/octet-stream", "Content-Length": size, SIZE_HEADER: size}
        if request.method == "HEAD":
            return Response(200, headers, b"")
        return Response(200, headers, self._chunks(target))

    def _chunks(self, target: str) -> Iterator[bytes]:
        with self.fs.open(target, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
