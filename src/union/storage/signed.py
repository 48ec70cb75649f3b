"""Uploads through signed URLs, for deployments that give the client no direct access to their bucket.

:class:`SignedURLFileSystem` is an fsspec filesystem whose writes go through the control plane's data
proxy: for each object it asks ``transport.create_upload_location`` for a URL (bound to the object's path,
size and MD5) just before sending, then PUTs the bytes there (with urllib3's connection pool directly, or
through ``requests`` when proxy variables are set or a session is given). A retried PUT asks for a
new URL, so no URL is ever used after the moment it was minted for; each URL's expiry is at least the
PUT's own time budget. ``Content-MD5`` (and any headers the data proxy returns) go with every PUT, so the
store refuses damaged bytes; Azure Blob URLs also get ``x-ms-blob-type: BlockBlob``.

Paths in this filesystem are ``<project>/<domain>/<root>/<name...>``: ``<root>`` is sent as
``filename_root`` and the rest as ``filename`` (a tree manifest, directly under the domain, is sent with
``filename_root="."``). The URI of an uploaded object is the ``native_url`` the data proxy answered.

The client cannot list the store. ``info`` knows what this instance uploaded (trusted because the PUT
succeeded with a checked MD5) and otherwise asks the data proxy with ``HEAD`` on an upload URL for the
path: ``union serve`` answers whether the object is stored, so unchanged data is not sent again; stores
that refuse (S3 and Azure upload URLs allow only a PUT) are not asked again, and every upload sends its
bytes (content addressing makes a repeated PUT harmless). Signed-URL query strings are never shown:
errors, logs and reprs hold redacted URLs only.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fsspec.spec import AbstractFileSystem

from union.errors import IntegrityError, SourceChangedError, StorageError, UnionError, UploadPathNotFoundError
from union.redact import redact_text, redact_url
from union.storage.protocols import StorageProtocol
from union.transport.retry import RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    import requests

    from union.config import Config
    from union.storage.destination import UploadDestination
    from union.storage.walk import LocalFile
    from union.transport.base import Transport

PROTOCOL_NAME = "union-signed"
ROOT_HERE = "."
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
MIN_RATE = 256 * 1024  # bytes/s a PUT may not fall below; sets its time budget (and the URL's expiry)
BASE_BUDGET = 60.0
EXPIRY_MARGIN = 60.0  # clock skew and the wait between minting and sending
ATTEMPTS = 5
BACKOFF = 0.25
BACKOFF_MAX = 8.0
RETRY_AFTER_MAX = 30.0
READ_SIZE = 1 << 20
KNOWN_MAX = 10_000
PROBE_MD5 = bytes(16)  # existence probes mint an upload URL that is never used to PUT
SIZE_HEADER = "X-Union-Size"
SPOOL_MEMORY = 8 << 20  # open(path, "wb") keeps up to this much in memory, then spills to a temporary file
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})

OnBytes = Callable[[int], None]
log = logging.getLogger(__name__)
_NO_PROBE: set[str] = set()  # endpoints whose stores do not answer HEAD on an upload URL


# -- keeping signatures out of logs ------------------------------------------------------------------

_QUERY = re.compile(r"\?[^\s'\"<>)?]*=[^\s'\"<>)]*")


class _RedactQueries(logging.Filter):
    """urllib3 logs request lines (``PUT /path?sig=...``); drop their query strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = _QUERY.sub("?***", record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_QUERY.sub("?***", a) if isinstance(a, str) else _scrub_obj(a) for a in args)
        return True


def _scrub_obj(value: Any) -> Any:
    text = str(value)
    return _QUERY.sub("?***", text) if "?" in text else value


_filter_lock = threading.Lock()
_filter_installed = False


def install_log_filter() -> None:
    """Redact query strings in the loggers of urllib3, which log request URLs at DEBUG and retries."""
    global _filter_installed
    with _filter_lock:
        if _filter_installed:
            return
        for name in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.connection", "requests"):
            logging.getLogger(name).addFilter(_RedactQueries())
        _filter_installed = True


def _scrub(text: str, url: str) -> str:
    """``text`` with the URL's query string and each of its values (servers echo signatures in their
    errors, e.g. S3's ``SignatureProvided``) redacted, wherever they appear."""
    from urllib.parse import parse_qsl, quote

    query = urlsplit(url).query
    if query:
        text = text.replace(query, "***")
        for _, value in parse_qsl(query, keep_blank_values=True):
            if len(value) >= 6:
                text = text.replace(value, "***").replace(quote(value, safe=""), "***")
    return redact_text(_QUERY.sub("?***", text))


# -- request bodies ------------------------------------------------------------------------------------


class _DeadlineExceeded(Exception):
    """The PUT took longer than its time budget (not an OSError, so urllib3 does not wrap it)."""


class _FileBody:
    """A local file as a PUT body: exactly ``size`` bytes, hashed as sent, within a deadline.

    If the bytes read are not the content that was hashed before (the file changed), the last chunk is
    withheld and the request aborts, so the server never receives a complete, wrong body.
    """

    def __init__(self, src: LocalFile, md5: bytes, deadline: float, on_bytes: OnBytes | None) -> None:
        from union.storage.transfer import _open_source

        self.src = src
        self.md5 = md5
        self.deadline = deadline
        self.on_bytes = on_bytes
        self.file = _open_source(src)
        self.hasher = hashlib.md5(usedforsecurity=False)
        self.sent = 0
        self.failure: BaseException | None = None

    def __len__(self) -> int:
        return self.src.size

    def read(self, n: int = -1) -> bytes:
        try:
            if time.monotonic() > self.deadline:
                raise _DeadlineExceeded("the PUT took longer than its time budget (and its URL's lifetime)")
            want = min(max(n, READ_SIZE), self.src.size - self.sent)
            chunk = self.file.read(want) if want > 0 else b""
            if want > 0 and not chunk:
                raise SourceChangedError(
                    f"{self.src.path} shrank while it was being uploaded; nothing was published for it. "
                    "Upload again once the file is no longer being written."
                )
            self.hasher.update(chunk)
            self.sent += len(chunk)
            if self.sent == self.src.size:
                st = os.fstat(self.file.fileno())
                if (
                    self.hasher.digest() != self.md5
                    or st.st_size != self.src.size
                    or st.st_mtime_ns != self.src.mtime_ns
                ):
                    raise SourceChangedError(
                        f"{self.src.path} changed while it was being uploaded; nothing was published for "
                        "it. Upload again once the file is no longer being written."
                    )
        except BaseException as exc:
            self.failure = exc
            raise
        if self.on_bytes and chunk:
            self.on_bytes(len(chunk))
        return chunk

    def close(self) -> None:
        self.file.close()


# -- sending -------------------------------------------------------------------------------------------


class _Transient(Exception):
    """A PUT sent through urllib3 failed in a way another attempt may not (the connection, a timeout)."""


class _Answer:
    """The parts of an HTTP answer a PUT looks at, as ``requests.Response`` names them."""

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


@functools.lru_cache(maxsize=16)
def _tls_kwargs(verify: bool | str) -> dict[str, Any]:
    """urllib3 pool settings for ``verify`` as requests reads it (True: its CA bundle; a path: a PEM
    bundle or a folder of certificates; False: no verification)."""
    if verify is False:
        return {"cert_reqs": "CERT_NONE", "ca_certs": None, "ca_cert_dir": None}
    if verify is True:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        verify = DEFAULT_CA_BUNDLE_PATH
    if os.path.isdir(verify):
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": None, "ca_cert_dir": verify}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": verify, "ca_cert_dir": None}


# -- the filesystem ------------------------------------------------------------------------------------


def _is_azure(url: str) -> bool:
    parts = urlsplit(url)
    if (parts.hostname or "").endswith(".blob.core.windows.net"):
        return True
    query = parse_qs(parts.query)
    return "sv" in query and "sig" in query


def _needs_environment() -> bool:
    """Whether requests must read proxy settings from the environment on every request (it scans the
    whole environment each time, about a millisecond here); without proxy variables it need not."""
    import urllib.request

    return bool(urllib.request.getproxies())


def put_budget(size: int) -> float:
    """Seconds a PUT of ``size`` bytes may take; the URL for it stays valid at least this long."""
    return BASE_BUDGET + size / MIN_RATE


class SignedURLFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """Write-only fsspec filesystem over a data proxy's signed upload URLs (see the module docstring)."""

    protocol = PROTOCOL_NAME
    cachable = False
    root_marker = ""

    def __init__(
        self,
        transport: Transport,
        *,
        org: str | None = None,
        session: requests.Session | None = None,
        verify: bool | str = True,
        endpoint_host: str | None = None,
        attempts: int = ATTEMPTS,
        backoff: float | None = None,
        pool_size: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        import requests
        from requests.adapters import HTTPAdapter

        install_log_filter()
        self.transport = transport
        self.org = org or ""
        self.verify = verify
        self.endpoint_host = endpoint_host
        self.attempts = max(1, attempts)
        self._retry = RetryPolicy(
            max_attempts=self.attempts,
            initial_backoff=BACKOFF if backoff is None else backoff,
            max_backoff=BACKOFF_MAX,
        )
        self._pool: Any = None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.trust_env = _needs_environment()
            if not session.trust_env:
                # PUTs go straight to urllib3 (the pool requests itself uses): requests' per-call
                # merging of settings, cookies and hooks costs more CPU than sending a small file.
                # With proxy variables set, or a caller's session, requests sends them (it applies those).
                import urllib3

                self._pool = urllib3.PoolManager(num_pools=4, maxsize=pool_size, retries=False)
        self.session = session
        # With trust_env off, requests no longer reads these itself; signed URLs never use .netrc.
        self._default_verify: bool | str = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        # What this instance uploaded, newest last; bounded, since a tree may hold millions of files and
        # only recent entries are asked about (the folder URI of a tree comes from the learned prefix).
        self._known: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._uploaded = 0
        self._prefix: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SignedURLFileSystem(transport={type(self.transport).__name__}, uploaded={self._uploaded})"

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        if text.startswith(PROTOCOL_NAME + "://"):
            text = text[len(PROTOCOL_NAME) + 3 :]
        return text.strip("/")

    def unstrip_protocol(self, name: str) -> str:
        """The native URL (where the store keeps it) of an uploaded object or of a folder below one."""
        path = self._strip_protocol(name)
        with self._lock:
            known = self._known.get(path)
            prefix = self._prefix
        if known is not None:
            return str(known["native_url"])
        if prefix is not None:
            return f"{prefix}/{path}"
        raise StorageError(
            f"cannot name {PROTOCOL_NAME}://{path} before anything was uploaded through the data proxy: "
            "its native location is only known from an upload's answer. Upload a file first."
        )

    # -- minting ----------------------------------------------------------------------------------------

    def _request_for(self, path: str, md5: bytes, size: int, expires_in: float) -> Any:
        from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy

        parts = path.split("/")
        if len(parts) < 3 or not all(parts):
            raise StorageError(
                f"{PROTOCOL_NAME}://{path} is not <project>/<domain>/<name>: signed uploads need a project "
                "and a domain. Set them in your config."
            )
        project, domain, rest = parts[0], parts[1], parts[2:]
        root, filename = (ROOT_HERE, rest[0]) if len(rest) == 1 else (rest[0], "/".join(rest[1:]))
        request = dataproxy.CreateUploadLocationRequest(
            project=project,
            domain=domain,
            org=self.org,
            filename=filename,
            filename_root=root,
            content_md5=md5,
            content_length=size,
        )
        request.expires_in.FromSeconds(int(expires_in + 0.999))
        return request

    def _mint(self, path: str, md5: bytes, size: int, budget: float) -> tuple[str, str, dict[str, str]]:
        """A fresh URL for one PUT of ``path``: (signed_url, native_url, headers to send)."""
        request = self._request_for(path, md5, size, budget + EXPIRY_MARGIN)
        try:
            response = self.transport.create_upload_location(request, timeout=READ_TIMEOUT)
        except UnionError:
            raise
        except Exception as exc:
            raise StorageError(
                f"the data proxy did not give an upload URL for {path}: {type(exc).__name__}: "
                f"{redact_text(str(exc))}"
            ) from None
        if not response.signed_url:
            raise StorageError(f"the data proxy answered no signed URL for {path}. Check the deployment.")
        scheme = urlsplit(response.signed_url).scheme
        if scheme not in ("http", "https"):
            raise StorageError(
                f"the data proxy answered a {scheme or 'schemeless'}:// location for {path}, not an HTTP URL: "
                "this control plane expects direct storage access. Set storage.raw_data_prefix to its bucket."
            )
        return response.signed_url, response.native_url, dict(response.headers)

    def _verify_for(self, url: str) -> bool | str:
        """The endpoint's TLS settings apply to URLs on the endpoint's host; others use the defaults."""
        if self.endpoint_host and urlsplit(url).hostname == self.endpoint_host and self.verify is not True:
            return self.verify
        return self._default_verify

    # -- the PUT ----------------------------------------------------------------------------------------

    def _put(
        self,
        path: str,
        md5: bytes,
        size: int,
        body: Callable[[float], Any],
    ) -> dict[str, Any]:
        """PUT one object through freshly minted URLs, retrying transient failures with backoff."""
        import requests

        budget = put_budget(size)
        last = ""
        for attempt in range(self.attempts):
            url, native, extra = self._mint(path, md5, size, budget)
            headers = {k: v for k, v in extra.items() if k.lower() != "content-length"}
            headers["Content-MD5"] = base64.b64encode(md5).decode()
            if _is_azure(url):
                headers["x-ms-blob-type"] = "BlockBlob"
            deadline = time.monotonic() + budget
            data = body(deadline)
            wait: float | None = None
            try:
                response = self._send_put(url, data, headers)
            except (requests.ConnectionError, requests.Timeout, _DeadlineExceeded, _Transient) as exc:
                failure = getattr(data, "failure", None)
                if isinstance(failure, UnionError):
                    raise failure from None
                what = str(exc) if isinstance(exc, _Transient) else f"{type(exc).__name__}: {exc}"
                last = _scrub(what, url)
            except UnionError:
                raise
            except requests.RequestException as exc:
                raise StorageError(
                    f"PUT {redact_url(url)} failed: {type(exc).__name__}: {_scrub(str(exc), url)}"
                ) from None
            else:
                if 200 <= response.status_code < 300:
                    return self._accepted(path, native, md5, size, response)
                text = _scrub(response.text[:500], url).strip()
                if response.status_code not in RETRY_STATUS:
                    self._refused(path, url, response.status_code, text)
                last = f"HTTP {response.status_code}: {text}"
                wait = parse_retry_after(response.headers.get("Retry-After"))
            finally:
                close = getattr(data, "close", None)
                if close is not None:
                    close()
            if attempt + 1 < self.attempts:
                delay = min(wait, RETRY_AFTER_MAX) if wait is not None else self._retry.backoff(attempt)
                log.info("retrying the upload of %s in %.2fs after %s", path, delay, last)
                time.sleep(delay)
        raise StorageError(
            f"uploading {path} through signed URLs failed {self.attempts} times; last: {last}. "
            "Check that the data proxy's store is reachable and try again."
        )

    def _send_put(self, url: str, data: Any, headers: dict[str, str]) -> Any:
        """One PUT, no redirects followed: through urllib3 directly when this instance owns its pool."""
        if self._pool is None:
            return self.session.put(
                url,
                data=data,
                headers=headers,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                verify=self._verify_for(url),
                allow_redirects=False,
            )
        import urllib3
        from urllib3.exceptions import HTTPError, LocationValueError

        headers["Content-Length"] = str(len(data))
        try:
            pool = self._pool.connection_from_url(url, pool_kwargs=_tls_kwargs(self._verify_for(url)))
            raw = pool.urlopen(
                "PUT",
                url,
                body=data,
                headers=headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
                preload_content=True,
            )
        except LocationValueError as exc:
            raise StorageError(
                f"PUT {redact_url(url)} failed: {type(exc).__name__}: {_scrub(str(exc), url)}"
            ) from None
        except HTTPError as exc:  # connection refused or broken, timeouts, TLS: worth another attempt
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        return _Answer(raw.status, raw.headers, raw.data)

    def _refused(self, path: str, url: str, status: int, text: str) -> None:
        shown = redact_url(url)
        lowered = text.lower()
        if status == 400 and ("md5" in lowered or "digest" in lowered):
            raise IntegrityError(
                f"the store refused {path} at {shown}: its bytes differ from their MD5 ({text})."
            )
        if status == 403:
            raise StorageError(
                f"the store refused the signed URL for {path} ({shown}): HTTP 403: {text}. The URL was minted "
                "just now, so check the clocks of this machine and the server, and the data proxy's setup."
            )
        if status == 413:
            raise StorageError(f"{path} is over the store's size limit ({shown}): {text}")
        raise StorageError(f"PUT {shown} for {path} failed: HTTP {status}: {text}")

    def _remember(self, path: str, native: str, info: dict[str, Any]) -> None:
        with self._lock:
            self._known[path] = info
            self._known.move_to_end(path)
            if len(self._known) > KNOWN_MAX:
                self._known.popitem(last=False)
            if self._prefix is None and native.endswith("/" + path):
                self._prefix = native[: -len(path) - 1]

    def _accepted(self, path: str, native: str, md5: bytes, size: int, response: Any) -> dict[str, Any]:
        etag = (response.headers.get("ETag") or "").strip('"')
        if len(etag) == 32 and "-" not in etag and etag.lower() != md5.hex():
            raise IntegrityError(
                f"the store reports MD5 {etag} for {path} but {md5.hex()} was sent; upload it again."
            )
        info = {"name": path, "size": size, "type": "file", "content_md5": md5, "native_url": native}
        self._remember(path, native, info)
        with self._lock:
            self._uploaded += 1
        if len(path.split("/")) == 3 and not native.endswith("/" + path):
            raise StorageError(
                f"the data proxy placed {path} at {redact_url(native)}, not directly under its project and "
                "domain: it does not support the tree layout upload_dir needs. Upload directly instead: set "
                "storage.raw_data_prefix to the deployment's bucket."
            )
        return dict(info)

    # -- the fsspec surface -----------------------------------------------------------------------------

    def pipe_file(
        self,
        path: str,
        value: bytes,
        mode: str = "overwrite",
        content_md5: bytes | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        path = self._strip_protocol(path)
        data = bytes(value)
        md5 = content_md5 or hashlib.md5(data, usedforsecurity=False).digest()
        return self._put(path, md5, len(data), lambda deadline: data)

    def put_file_checked(
        self, src: LocalFile, path: str, md5: bytes, on_bytes: OnBytes | None = None
    ) -> dict[str, Any]:
        """Stream a local file (never whole in memory) whose size and MD5 are known before its bytes."""
        path = self._strip_protocol(path)
        sent: list[_FileBody] = []

        def body(deadline: float) -> _FileBody:
            # A retry starts the file again; undo the progress the failed attempt reported.
            if sent and on_bytes and sent[-1].sent:
                on_bytes(-sent[-1].sent)
            sent.append(_FileBody(src, md5, deadline, on_bytes))
            return sent[-1]

        return self._put(path, md5, src.size, body)

    def put_file(self, lpath: str, rpath: str, callback: Any = None, **kwargs: Any) -> None:
        from union.storage.transfer import hash_file
        from union.storage.walk import LocalFile

        try:
            st = os.stat(lpath)
        except FileNotFoundError:
            raise UploadPathNotFoundError(f"{lpath} does not exist. Check the path.") from None
        src = LocalFile.from_stat(os.path.basename(lpath), lpath, st)
        self.put_file_checked(src, rpath, kwargs.get("content_md5") or hash_file(src))

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" in mode:
            raise StorageError(
                f"{PROTOCOL_NAME}:// is write-only: signed-URL uploads cannot read {path} back. Read it "
                "through its native URL with storage access, or through a download link."
            )
        return _SpoolWriter(self, self._strip_protocol(path))

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        with self._lock:
            known = self._known.get(path)
            below = any(p.startswith(path + "/") for p in self._known)
        if known is not None:
            return dict(known)
        if below:
            return {"name": path, "size": 0, "type": "directory"}
        found = self._probe(path)
        if found is not None:
            return found
        raise FileNotFoundError(f"{PROTOCOL_NAME}://{path} (not stored, or the data proxy cannot say)")

    def _probe(self, path: str) -> dict[str, Any] | None:
        """Ask the data proxy whether ``path`` is stored: HEAD on an upload URL for it.

        ``union serve`` answers 200 with the object's size, or 404; a store that refuses HEAD on an upload
        URL (S3 and Azure do: the URL only allows a PUT) is not asked again in this process, and the
        upload simply sends the bytes. Objects are content-addressed and only ever stored whole and
        checked, so one of the right size is the content asked for.
        """
        key = self.endpoint_host or type(self.transport).__name__
        if key in _NO_PROBE or len(path.split("/")) < 3:
            return None
        try:
            url, native, _ = self._mint(path, PROBE_MD5, 0, 0.0)
            response = self.session.head(
                url,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                verify=self._verify_for(url),
                allow_redirects=False,
            )
        except Exception:  # the upload that follows reports real problems, with their causes
            return None
        if response.status_code == 404:
            return None
        size = response.headers.get(SIZE_HEADER) or response.headers.get("Content-Length") or ""
        if response.status_code != 200 or not size.isdigit():
            _NO_PROBE.add(key)
            return None
        info = {"name": path, "size": int(size), "type": "file", "native_url": native}
        self._remember(path, native, info)
        return dict(info)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        prefix = path + "/"
        with self._lock:
            entries = [
                dict(v)
                for p, v in self._known.items()
                if p.startswith(prefix) and "/" not in p[len(prefix) :]
            ]
        if not entries:
            raise FileNotFoundError(
                f"{PROTOCOL_NAME}://{path} (signed-URL storage lists only what it uploaded)"
            )
        return entries if detail else [e["name"] for e in entries]

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        path = self._strip_protocol(path)
        prefix = path + "/"
        with self._lock:
            found = {p: dict(v) for p, v in sorted(self._known.items()) if p.startswith(prefix) or p == path}
        return found if detail else list(found)

    def rm_file(self, path: str) -> None:
        """Forget the object (a signed-URL client cannot delete; content addressing makes that safe)."""
        with self._lock:
            self._known.pop(self._strip_protocol(path), None)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Object stores have no folders; nothing to do."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Object stores have no folders; nothing to do."""


class _SpoolWriter:
    """``open(path, "wb")``: the PUT needs the size and MD5 first, so bytes are spooled to a temporary
    file (memory up to 8 MiB, then disk) and sent on ``close``; ``discard`` drops them unsent."""

    def __init__(self, fs: SignedURLFileSystem, path: str) -> None:
        self.fs = fs
        self.path = path
        self.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - closed by close()/discard()
        self.hasher = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        self.hasher.update(data)
        self.size += len(data)
        return self.spool.write(data)

    def discard(self) -> None:
        self.closed = True
        self.spool.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        spool = self.spool
        md5 = self.hasher.digest()
        size = self.size

        def body(deadline: float) -> Any:
            spool.seek(0)
            return spool.read() if size <= SPOOL_MEMORY else _Rewound(spool, size)

        try:
            self.fs._put(self.path, md5, size, body)
        finally:
            spool.close()

    def __enter__(self) -> _SpoolWriter:
        return self

    def __exit__(self, exc_type: Any, *args: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


class _Rewound:
    """A spooled body of known length that requests can stream without reading it whole."""

    def __init__(self, spool: Any, size: int) -> None:
        self.spool = spool
        self.size = size

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.spool.read(max(n, READ_SIZE))
        return data


def _content_md5_kwargs(md5: bytes) -> dict[str, Any]:
    return {"content_md5": md5}


def _reported_md5(info: Mapping[str, Any]) -> bytes | None:
    value = info.get("content_md5")
    return bytes(value) if value else None


SIGNED_PROTOCOL = StorageProtocol(
    name=PROTOCOL_NAME,
    class_path="union.storage.signed.SignedURLFileSystem",
    install_hint="pip install union",
    checksum_kwargs=_content_md5_kwargs,
    remote_md5=_reported_md5,
)


# -- choosing and building the destination -------------------------------------------------------------


def storage_mode(config: Config) -> str:
    """``signed`` or ``direct``: how the built-in destination sends uploads for ``config``.

    Signed URLs when an endpoint is configured and the user configured no raw-data prefix of their own (a
    prefix that only comes from defaults names a store this machine usually cannot reach); otherwise the
    raw-data prefix, directly. Variant plugins choose for their deployments through their own
    ``union_upload_destination`` (returning :func:`signed_destination` for signed mode).
    """
    return "signed" if config.endpoint and not config.set_by_user("raw_data_prefix") else "direct"


def signed_destination(config: Config, transport: Transport, **options: Any) -> UploadDestination:
    """Uploads for ``config`` through ``transport``'s data proxy; a variant plugin can return this from
    its ``union_upload_destination`` hook."""
    from union.storage.destination import UploadDestination
    from union.transport.endpoint import base_url, tls_verify

    verify = tls_verify(config)
    host = urlsplit(base_url(config)).hostname if config.endpoint else None
    fs = SignedURLFileSystem(
        transport,
        org=config.org,
        verify=True if verify is None else verify,
        endpoint_host=host,
        pool_size=max(10, config.upload_concurrency * 2),
        **options,
    )
    root = "/".join([config.project or "default", config.domain or "development"])
    return UploadDestination(fs=fs, root=root, protocol=SIGNED_PROTOCOL)
