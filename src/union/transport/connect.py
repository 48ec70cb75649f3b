"""``ConnectTransport``: the flyteidl2 services over the Connect protocol, with ``requests`` only.

Why not gRPC or the ``connectrpc`` client: both pull native dependencies (grpcio, pyqwest) into every
install, while Connect's unary calls are plain HTTP POSTs and its server streams are length-prefixed
envelopes over one HTTP response, which ``requests`` speaks on every platform and through every proxy.

One pooled ``requests.Session`` per transport. Each call:

- posts ``/<package.Service>/<Method>`` in binary protobuf (``codec="proto"``, the default) or JSON,
  with ``Connect-Protocol-Version: 1`` and ``Connect-Timeout-Ms`` (the time left), gzip above
  ``compress_min_bytes``, and accepts gzip answers;
- has a deadline: ``timeout`` (default: the transport's, 30 s) for unary calls; for streams only when a
  ``timeout`` is given, and then for the whole stream. Socket timeouts are re-armed from the time left
  before every read, so a slow server yields ``DeadlineExceededError`` on time, not twice as late;
- retries (``union.transport.retry``) with full-jitter backoff and the server's ``Retry-After`` on
  ``unavailable`` / ``resource_exhausted`` answers, HTTP 429/503 and dropped connections, but only when
  that is safe: reads are retried after any transient failure, writes (CreateRun, DeployTask...) only when
  the request never reached the server or the server said it did not process it (429/503);
- on ``unauthenticated`` asks the authenticator to ``refresh()`` once and retries once;
- maps Connect errors (and non-Connect error pages from proxies) to ``union.errors`` types.

Watch streams (WatchRunDetails, WatchActionDetails) re-send the current state when opened, so a dropped
stream is simply reopened (with backoff) and the caller never misses the terminal phase. TailLogs replays
an attempt's log from its start when reopened; the lines already delivered are skipped.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from union import errors
from union.redact import redact_text, redact_url
from union.transport import wire
from union.transport.endpoint import base_url, tls_verify
from union.transport.retry import Deadline, RetryPolicy, parse_retry_after
from union.transport.services import METHODS, Method

if TYPE_CHECKING:
    import requests
    from flyteidl2.auth import auth_service_pb2 as auth
    from flyteidl2.auth import identity_pb2 as identity
    from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy
    from flyteidl2.task import task_service_pb2 as tasks
    from flyteidl2.workflow import run_logs_service_pb2 as logs
    from flyteidl2.workflow import run_service_pb2 as runs
    from google.protobuf.message import Message
    from requests.auth import AuthBase

    from union.config import Config

log = logging.getLogger("union.transport")

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
COMPRESS_MIN_BYTES = 1024
MAX_MESSAGE_BYTES = 128 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024
READ_SIZE = 64 * 1024
DRAIN_TIMEOUT = 0.5
CODECS = ("proto", "json")
# Answers of a few hundred bytes of URL: gzip barely shrinks them and costs both ends more than it saves
# (an upload mints one per file), so these calls ask for them uncompressed.
SMALL_ANSWERS = frozenset({"create_upload_location", "create_download_link"})


class _Retryable(Exception):
    """An attempt failed in a way that may succeed if repeated; ``error`` is what the caller gets if not."""

    def __init__(self, error: errors.TransportError, *, processed: bool, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.processed = processed  # False: the server certainly did not act on the request
        self.retry_after = retry_after


class _Dropped(Exception):
    """A stream broke after it was opened; it may be reopened if the method is resumable."""

    def __init__(self, error: errors.TransportError) -> None:
        super().__init__(str(error))
        self.error = error


def _socket_options() -> list[tuple[int, int, int]]:
    """TCP keepalive on pooled connections, so an idle watch stream notices a dead peer."""
    from urllib3.connection import HTTPConnection

    options = list(HTTPConnection.default_socket_options)
    options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 6)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


def _new_session() -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("socket_options", _socket_options())
            super().init_poolmanager(*args, **kwargs)

    import urllib.request

    session = requests.Session()
    # requests re-reads proxy settings and .netrc from the environment on every call when trust_env is
    # on (1.5 ms of a 3.5 ms local call here); only proxies matter to us, so scan once. The CA bundle
    # variables trust_env would also read are applied in _tls_verify.
    session.trust_env = bool(urllib.request.getproxies())
    adapter = _Adapter(pool_connections=4, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _caused_by(exc: BaseException, *kinds: type[BaseException]) -> bool:
    """True when ``exc`` or anything it wraps (args, causes, urllib3 reasons) is one of ``kinds``."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        for nested in (
            *current.args,
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
        ):
            if isinstance(nested, BaseException):
                todo.append(nested)
    return False


def _arm(response: Any, deadline: Deadline) -> None:
    """Set the socket timeout of ``response``'s connection to the time left (best effort)."""
    left = deadline.remaining()
    if left is None:
        return
    connection = getattr(response.raw, "connection", None) or getattr(response.raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(left, 0.001))


def _read_chunks(response: Any, deadline: Deadline) -> Iterator[bytes]:
    """The (HTTP-decoded) body of ``response`` as it arrives, each read bounded by the deadline."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 1.x
        yield from raw.stream(READ_SIZE, decode_content=True)
        return
    while True:
        if deadline.expired():
            raise errors.DeadlineExceededError(f"no complete answer within {deadline.timeout:g}s")
        _arm(response, deadline)
        data = raw.read1(READ_SIZE, decode_content=True)
        if not data:
            return
        yield data


class ConnectTransport:
    """The Transport for a remote control plane (see the module docstring).

    ``config`` gives the endpoint, ``insecure`` and the TLS settings (applied per request, so a shared
    ``session`` is not modified; without TLS settings a shared session's own ``verify`` applies);
    ``authenticator`` is a
    ``requests.auth.AuthBase`` with ``refresh() -> bool``; when omitted, ``union.auth.authenticator_for``
    picks one from the config on first use. ``codec`` is ``"proto"`` or ``"json"``.
    """

    def __init__(
        self,
        config: Config,
        *,
        session: requests.Session | None = None,
        authenticator: AuthBase | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        codec: str = "proto",
        retry: RetryPolicy | None = None,
        compress_min_bytes: int | None = COMPRESS_MIN_BYTES,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        if codec not in CODECS:
            raise errors.ConfigError(f"unknown Connect codec {codec!r}: use 'proto' or 'json'.")
        if not timeout > 0:
            raise errors.ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}.")
        self.config = config
        self.url = base_url(config)
        self.timeout = float(timeout)
        self.codec = codec
        self.retry = retry or RetryPolicy()
        self.compress_min_bytes = compress_min_bytes
        self.max_message_bytes = max_message_bytes
        self._json = codec == "json"
        self._own_session = session is None
        self._urls: dict[str, str] = {}  # method path -> its prepared URL
        self._session = session if session is not None else _new_session()
        self._verify: bool | str | None = self._tls_verify(config)
        if self._verify is None and session is None:
            # our session does not read the environment on each call (see _new_session): do it here
            self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self._auth = authenticator
        self._auth_resolved = authenticator is not None
        self._auth_lock = threading.Lock()
        from union._version import __version__

        self._user_agent = f"union/{__version__} connect-python-requests"

    def __repr__(self) -> str:
        return f"ConnectTransport(endpoint={self.url!r})"

    @staticmethod
    def _tls_verify(config: Config) -> bool | str | None:
        """``tls_verify``, plus one loud warning when verification is off (None: the default bundle)."""
        verify = tls_verify(config)
        if verify is False:
            warnings.warn(
                f"TLS certificates of {config.endpoint} are not verified (insecure_skip_verify): anyone "
                "on the network path can read and change this traffic. Use ca_cert_path for a private CA.",
                stacklevel=3,
            )
            # One warning above is enough: silence urllib3's per-request repeat, for this host only.
            from urllib.parse import urlsplit

            from urllib3.exceptions import InsecureRequestWarning

            host = re.escape(urlsplit(base_url(config)).hostname or "")
            warnings.filterwarnings(
                "ignore", f"Unverified HTTPS request is being made to host '{host}'", InsecureRequestWarning
            )
        return verify

    # -- auth ---------------------------------------------------------------------------------------

    def _authenticator(self) -> AuthBase | None:
        if self._auth_resolved:
            return self._auth
        with self._auth_lock:
            if not self._auth_resolved:
                self._auth = self._load_authenticator()
                self._auth_resolved = True
        return self._auth

    def _load_authenticator(self) -> AuthBase | None:
        try:
            from union.auth import authenticator_for
        except ModuleNotFoundError as exc:  # client auth not installed: talk without credentials
            if exc.name in ("union.auth",):
                return None
            raise
        from flyteidl2.auth import auth_service_pb2

        def metadata() -> tuple[Any, Any]:
            return (
                self.get_oauth2_metadata(auth_service_pb2.GetOAuth2MetadataRequest()),
                self.get_public_client_config(auth_service_pb2.GetPublicClientConfigRequest()),
            )

        found: AuthBase | None = authenticator_for(self.config, metadata=metadata, session=self._session)
        return found

    def _refresh(self) -> bool:
        refresh = getattr(self._auth, "refresh", None)
        if refresh is None:
            return False
        try:
            return bool(refresh())
        except errors.UnionError:
            raise
        except Exception as exc:
            # the type only: an authenticator's error text may quote what it was refreshing
            log.warning("refreshing the credential failed (%s)", type(exc).__name__)
            return False

    # -- plumbing -----------------------------------------------------------------------------------

    def _headers(self, deadline: Deadline, *, streaming: bool) -> dict[str, str]:
        headers = {
            wire.PROTOCOL_VERSION_HEADER: wire.PROTOCOL_VERSION,
            "User-Agent": self._user_agent,
        }
        if streaming:
            headers["Content-Type"] = wire.STREAM_JSON if self._json else wire.STREAM_PROTO
            headers[wire.STREAM_ACCEPT_ENCODING_HEADER] = "gzip"
            headers["Accept-Encoding"] = "identity"
        else:
            headers["Content-Type"] = wire.UNARY_JSON if self._json else wire.UNARY_PROTO
            headers["Accept-Encoding"] = "gzip"
        left = deadline.remaining()
        if left is not None:
            headers[wire.TIMEOUT_HEADER] = wire.timeout_header(left)
        return headers

    def _where(self, method: Method) -> str:
        return f"{method.service.rsplit('.', 1)[-1]}.{method.name} at {self.url}"

    def _post(self, method: Method, body: bytes, headers: dict[str, str], deadline: Deadline) -> Any:
        """One HTTP exchange up to the response headers; transport failures are classified here."""
        import requests

        connect = deadline.bound(CONNECT_TIMEOUT)
        read = deadline.remaining()
        auth = self._authenticator() if method.authenticated else None
        try:
            session = self._session
            if self._own_session and not (
                session.trust_env or session.cookies or session.auth or session.params
            ):
                return self._session.send(
                    self._prepare(method, body, headers, auth),
                    stream=True,
                    timeout=(connect, read),
                    verify=self._verify,
                    allow_redirects=False,
                )
            return self._session.post(
                self.url + method.path,
                data=body,
                headers=headers,
                timeout=(connect, read),
                auth=auth,
                stream=True,
                verify=self._verify,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise errors.UnavailableError(
                f"TLS with {self.url} failed ({redact_text(str(exc.args[0] if exc.args else exc))[:300]}). "
                "If the control plane uses a private CA, set ca_cert_path to its PEM bundle; use "
                "insecure: true for a plaintext http endpoint."
            ) from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
            if deadline.expired() or isinstance(exc, requests.exceptions.ReadTimeout):
                raise errors.DeadlineExceededError(
                    f"{self._where(method)} did not answer within {deadline.timeout:g}s"
                ) from None
            raise _Retryable(
                errors.UnavailableError(f"cannot connect to {self.url}: timed out"),
                processed=False,
                retry_after=None,
            ) from None
        except requests.exceptions.RequestException as exc:
            from urllib3.exceptions import NewConnectionError

            if deadline.expired():
                raise errors.DeadlineExceededError(
                    f"{self._where(method)} did not answer within {deadline.timeout:g}s"
                ) from None
            never_sent = _caused_by(exc, NewConnectionError, ConnectionRefusedError, socket.gaierror)
            if _caused_by(exc, socket.gaierror):
                problem = f"cannot resolve the host of {self.url}: check the endpoint setting"
            elif never_sent:
                problem = f"cannot connect to {self.url} ({type(exc).__name__}): is the server up?"
            else:
                problem = f"lost the connection to {self.url} ({type(exc).__name__})"
            raise _Retryable(
                errors.UnavailableError(problem),
                processed=not never_sent,
                retry_after=None,
            ) from None

    def _prepare(self, method: Method, body: bytes, headers: dict[str, str], auth: AuthBase | None) -> Any:
        """The request ``session.post`` would send, built without its per-call merging of settings (it
        checks every setting against typing protocols: about a fifth of a small call's CPU). Only for our own
        session, which has no environment to read, no cookies and nothing but the default headers."""
        from requests import PreparedRequest
        from requests.cookies import RequestsCookieJar
        from requests.hooks import default_hooks
        from requests.structures import CaseInsensitiveDict

        url = self._urls.get(method.path)
        if url is None:
            template = PreparedRequest()
            template.prepare_url(self.url + method.path, None)
            url = self._urls[method.path] = str(template.url)
        prepared = PreparedRequest()
        prepared.method = "POST"
        prepared.url = url
        merged: CaseInsensitiveDict[str] = CaseInsensitiveDict(
            cast("Mapping[str, str]", self._session.headers)
        )
        merged.update(headers)
        merged["Content-Length"] = str(len(body))
        prepared.headers = merged
        prepared.body = body
        hooks = default_hooks()
        for event, found in self._session.hooks.items():  # the session's hooks run, as with post()
            hooks.setdefault(event, []).extend([found] if callable(found) else found)
        prepared.hooks = hooks
        prepared.prepare_cookies(RequestsCookieJar())  # none to send; read when a redirect is examined
        if auth is not None:
            prepared.prepare_auth(auth)
        return prepared

    def _read_all(self, method: Method, response: Any, deadline: Deadline, limit: int) -> bytes:
        import requests
        from urllib3.exceptions import HTTPError as Urllib3Error

        parts: list[bytes] = []
        size = 0
        try:
            for chunk in _read_chunks(response, deadline):
                size += len(chunk)
                if size > limit:
                    raise errors.TransportError(
                        f"the answer of {self._where(method)} exceeds {limit} bytes",
                        code="resource_exhausted",
                    )
                parts.append(chunk)
        except (Urllib3Error, OSError, http.client.HTTPException, requests.RequestException) as exc:
            if deadline.expired() or _caused_by(exc, TimeoutError, socket.timeout):
                raise errors.DeadlineExceededError(
                    f"{self._where(method)} did not answer within {deadline.timeout:g}s"
                ) from None
            raise _Retryable(
                errors.UnavailableError(f"the connection to {self.url} broke while reading the answer"),
                processed=True,
                retry_after=None,
            ) from None
        finally:
            response.close()
        return b"".join(parts)

    def _error(self, method: Method, response: Any, deadline: Deadline) -> Exception:
        """The exception for a non-200 answer: a typed error, wrapped in _Retryable when worth retrying."""
        import json

        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        try:
            body = self._read_all(method, response, deadline, MAX_ERROR_BYTES)
        except (_Retryable, errors.TransportError):
            body = b""
        data: Any = None
        if wire.is_json(response.headers.get("Content-Type", "")):
            try:
                data = json.loads(body)  # already gunzipped by _read_all
            except (ValueError, errors.UnionError):
                data = None
        parsed = wire.WireError.from_json(data, http_status=status)
        if isinstance(data, dict) and data.get("code") in wire.CODE_TO_HTTP:
            message = f"{self._where(method)}: {redact_text(parsed.message) or parsed.code}"
        elif 300 <= status < 400:
            location = redact_url(response.headers.get("Location", "") or "?")
            message = (
                f"{self._where(method)} redirected (HTTP {status}) to {location}: Connect calls are not "
                "redirected; set the endpoint to the URL the server names (https:// instead of http://?)."
            )
        else:
            message = (
                f"{self._where(method)} answered HTTP {status} without a Connect error "
                "(a proxy or load balancer in the way?)"
            )
        error = wire.WireError(parsed.code, message).exception()
        if isinstance(error, errors.UnauthenticatedError):
            return error
        if status in (429, 503):
            return _Retryable(error, processed=False, retry_after=retry_after)
        if parsed.code in wire.RETRYABLE_CODES:
            return _Retryable(error, processed=True, retry_after=retry_after)
        return error

    def _call(self, method: Method, deadline: Deadline, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it succeeds, retrying what is safe to retry within ``deadline``."""
        refreshed = False
        retries = 0
        while True:
            try:
                return attempt()
            except errors.UnauthenticatedError as exc:
                if method.authenticated and not refreshed and self._auth is not None:
                    refreshed = True
                    if self._refresh():
                        log.debug("%s: credential refreshed, retrying once", self._where(method))
                        continue
                hint = (
                    "the credential was refused; check the auth settings (api_key, auth_type, token)."
                    if self._auth is not None
                    else "no credential is configured: set api_key (UNION_API_KEY) or auth_type."
                )
                raise errors.UnauthenticatedError(f"{exc} ({hint})") from None
            except _Retryable as exc:
                safe = not exc.processed or method.idempotent
                if not safe or retries + 1 >= self.retry.max_attempts:
                    raise exc.error from None
                delay = exc.retry_after if exc.retry_after is not None else self.retry.backoff(retries)
                if not deadline.allows(delay):
                    if deadline.expired():
                        raise errors.DeadlineExceededError(
                            f"{self._where(method)} did not succeed within {deadline.timeout:g}s: {exc.error}"
                        ) from None
                    raise exc.error from None
                retries += 1
                log.info(
                    "%s failed (%s); retry %d in %.2fs", self._where(method), exc.error.code, retries, delay
                )
                time.sleep(delay)

    # -- unary --------------------------------------------------------------------------------------

    def _encode(self, request: Message) -> tuple[bytes, bool]:
        payload = wire.encode_message(request, json_format=self._json)
        if self.compress_min_bytes is not None and len(payload) >= self.compress_min_bytes:
            return wire.compress(payload, "gzip"), True
        return payload, False

    def _unary(self, name: str, request: Message, timeout: float | None) -> Any:
        method = METHODS[name]
        deadline = Deadline(self.timeout if timeout is None else timeout)
        payload, compressed = self._encode(request)
        response_class = method.response_class()

        def attempt() -> Any:
            headers = self._headers(deadline, streaming=False)
            if compressed:
                headers["Content-Encoding"] = "gzip"
            if name in SMALL_ANSWERS:
                headers["Accept-Encoding"] = "identity"
            response = self._post(method, payload, headers, deadline)
            if response.status_code != 200:
                raise self._error(method, response, deadline)
            content_type = response.headers.get("Content-Type", "")
            expected = wire.UNARY_JSON if self._json else wire.UNARY_PROTO
            if content_type.split(";", 1)[0].strip().lower() != expected:
                response.close()
                raise errors.TransportError(
                    f"{self._where(method)} answered {content_type or 'no content type'}, not {expected}: "
                    "check that the endpoint points at the control plane's API."
                )
            body = self._read_all(method, response, deadline, self.max_message_bytes)
            return wire.decode_message(body, response_class, json_format=self._json)

        return self._call(method, deadline, attempt)

    # -- server streams -----------------------------------------------------------------------------

    def _stream(self, name: str, request: Message, timeout: float | None) -> Iterator[Any]:
        """Open the stream now (so an unreachable server or a refused request fails at the call) and
        return an iterator over its messages that reopens the stream when it drops."""
        method = METHODS[name]
        deadline = Deadline(timeout)
        payload, compressed = self._encode(request)
        body = wire.envelope(payload, flags=wire.FLAG_COMPRESSED if compressed else 0)

        def attempt() -> Any:
            headers = self._headers(deadline, streaming=True)
            if compressed:
                headers[wire.STREAM_ENCODING_HEADER] = "gzip"
            response = self._post(method, body, headers, deadline)
            if response.status_code != 200:
                raise self._error(method, response, deadline)
            content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if not content_type.startswith("application/connect+"):
                response.close()
                raise errors.TransportError(
                    f"{self._where(method)} answered {content_type or 'no content type'}, not a Connect "
                    "stream: check that the endpoint points at the control plane's API."
                )
            return response

        def reopen() -> Any:
            return self._call(method, deadline, attempt)

        return _Stream(self, method, reopen(), reopen, deadline)

    # -- flyteidl2.workflow.RunService ----------------------------------------------------------------

    def create_run(
        self, request: runs.CreateRunRequest, *, timeout: float | None = None
    ) -> runs.CreateRunResponse:
        from union._task_context import refuse_run_in_task

        refuse_run_in_task()
        result: runs.CreateRunResponse = self._unary("create_run", request, timeout)
        return result

    def get_run_details(
        self, request: runs.GetRunDetailsRequest, *, timeout: float | None = None
    ) -> runs.GetRunDetailsResponse:
        result: runs.GetRunDetailsResponse = self._unary("get_run_details", request, timeout)
        return result

    def watch_run_details(
        self, request: runs.WatchRunDetailsRequest, *, timeout: float | None = None
    ) -> Iterator[runs.WatchRunDetailsResponse]:
        return self._stream("watch_run_details", request, timeout)

    def list_runs(
        self, request: runs.ListRunsRequest, *, timeout: float | None = None
    ) -> runs.ListRunsResponse:
        result: runs.ListRunsResponse = self._unary("list_runs", request, timeout)
        return result

    def abort_run(
        self, request: runs.AbortRunRequest, *, timeout: float | None = None
    ) -> runs.AbortRunResponse:
        result: runs.AbortRunResponse = self._unary("abort_run", request, timeout)
        return result

    def list_actions(
        self, request: runs.ListActionsRequest, *, timeout: float | None = None
    ) -> runs.ListActionsResponse:
        result: runs.ListActionsResponse = self._unary("list_actions", request, timeout)
        return result

    def get_action_details(
        self, request: runs.GetActionDetailsRequest, *, timeout: float | None = None
    ) -> runs.GetActionDetailsResponse:
        result: runs.GetActionDetailsResponse = self._unary("get_action_details", request, timeout)
        return result

    def watch_action_details(
        self, request: runs.WatchActionDetailsRequest, *, timeout: float | None = None
    ) -> Iterator[runs.WatchActionDetailsResponse]:
        return self._stream("watch_action_details", request, timeout)

    def get_action_data(
        self, request: runs.GetActionDataRequest, *, timeout: float | None = None
    ) -> runs.GetActionDataResponse:
        result: runs.GetActionDataResponse = self._unary("get_action_data", request, timeout)
        return result

    # -- flyteidl2.workflow.RunLogsService ------------------------------------------------------------

    def tail_logs(
        self, request: logs.TailLogsRequest, *, timeout: float | None = None
    ) -> Iterator[logs.TailLogsResponse]:
        return self._stream("tail_logs", request, timeout)

    # -- flyteidl2.task.TaskService -------------------------------------------------------------------

    def deploy_task(
        self, request: tasks.DeployTaskRequest, *, timeout: float | None = None
    ) -> tasks.DeployTaskResponse:
        result: tasks.DeployTaskResponse = self._unary("deploy_task", request, timeout)
        return result

    def get_task_details(
        self, request: tasks.GetTaskDetailsRequest, *, timeout: float | None = None
    ) -> tasks.GetTaskDetailsResponse:
        result: tasks.GetTaskDetailsResponse = self._unary("get_task_details", request, timeout)
        return result

    def list_tasks(
        self, request: tasks.ListTasksRequest, *, timeout: float | None = None
    ) -> tasks.ListTasksResponse:
        result: tasks.ListTasksResponse = self._unary("list_tasks", request, timeout)
        return result

    # -- flyteidl2.dataproxy.DataProxyService ---------------------------------------------------------

    def create_upload_location(
        self, request: dataproxy.CreateUploadLocationRequest, *, timeout: float | None = None
    ) -> dataproxy.CreateUploadLocationResponse:
        result: dataproxy.CreateUploadLocationResponse = self._unary(
            "create_upload_location", request, timeout
        )
        return result

    def upload_inputs(
        self, request: dataproxy.UploadInputsRequest, *, timeout: float | None = None
    ) -> dataproxy.UploadInputsResponse:
        result: dataproxy.UploadInputsResponse = self._unary("upload_inputs", request, timeout)
        return result

    def create_download_link(
        self, request: dataproxy.CreateDownloadLinkRequest, *, timeout: float | None = None
    ) -> dataproxy.CreateDownloadLinkResponse:
        result: dataproxy.CreateDownloadLinkResponse = self._unary("create_download_link", request, timeout)
        return result

    # -- flyteidl2.auth -------------------------------------------------------------------------------

    def get_oauth2_metadata(
        self, request: auth.GetOAuth2MetadataRequest, *, timeout: float | None = None
    ) -> auth.GetOAuth2MetadataResponse:
        result: auth.GetOAuth2MetadataResponse = self._unary("get_oauth2_metadata", request, timeout)
        return result

    def get_public_client_config(
        self, request: auth.GetPublicClientConfigRequest, *, timeout: float | None = None
    ) -> auth.GetPublicClientConfigResponse:
        result: auth.GetPublicClientConfigResponse = self._unary("get_public_client_config", request, timeout)
        return result

    def user_info(
        self, request: identity.UserInfoRequest, *, timeout: float | None = None
    ) -> identity.UserInfoResponse:
        result: identity.UserInfoResponse = self._unary("user_info", request, timeout)
        return result

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> ConnectTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _count_lines(message: Any) -> int:
    return sum(len(batch.lines) for batch in message.logs)


def _drop_lines(message: Any, count: int) -> int:
    """Remove the first ``count`` log lines of a TailLogsResponse in place; returns how many it removed."""
    removed = 0
    for batch in message.logs:
        take = min(count - removed, len(batch.lines))
        if take:
            del batch.lines[:take]
            removed += take
    while message.logs and not message.logs[0].lines:
        del message.logs[0]
    return removed


class _Stream(Iterator[Any]):
    """Messages of one server stream, reopened after drops when the method allows (see module docs)."""

    def __init__(
        self,
        transport: ConnectTransport,
        method: Method,
        response: Any,
        reopen: Callable[[], Any],
        deadline: Deadline,
    ) -> None:
        self._transport = transport
        self._method = method
        self._response: Any = response
        self._reopen = reopen
        self._deadline = deadline
        self._messages = self._run()

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> Any:
        return next(self._messages)

    def close(self) -> None:
        """Stop reading and release the connection (also done when the stream ends or fails)."""
        self._messages.close()
        if self._response is not None:
            self._response.close()
            self._response = None

    def __del__(self) -> None:
        response = getattr(self, "_response", None)
        if response is not None:
            response.close()

    def _frames(self) -> Iterator[wire.Frame]:
        import requests
        from urllib3.exceptions import HTTPError as Urllib3Error

        method, deadline = self._method, self._deadline
        chunks = _read_chunks(self._response, deadline)
        frames = wire.read_frames(chunks, max_bytes=self._transport.max_message_bytes)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                raise _Dropped(
                    errors.UnavailableError(
                        f"the stream of {self._transport._where(method)} ended without its end-of-stream message"
                    )
                ) from None
            except errors.UnavailableError as exc:  # cut off mid-message
                raise _Dropped(exc) from None
            except (Urllib3Error, OSError, http.client.HTTPException, requests.RequestException) as exc:
                if deadline.expired() or (
                    deadline.at is not None and _caused_by(exc, TimeoutError, socket.timeout)
                ):
                    raise errors.DeadlineExceededError(
                        f"the stream of {self._transport._where(method)} did not end within "
                        f"{deadline.timeout:g}s"
                    ) from None
                raise _Dropped(
                    errors.UnavailableError(f"the stream of {self._transport._where(method)} was cut off")
                ) from None
            yield frame
            if frame.end:
                return

    def _run(self) -> Generator[Any, None, None]:
        transport, method = self._transport, self._method
        response_class = method.response_class()
        is_logs = method.name == "TailLogs"
        delivered = 0  # log lines handed to the caller, skipped after a reconnect replays them
        skip = 0
        reconnects = 0
        refreshed = False
        try:
            while True:
                try:
                    encoding = self._response.headers.get(wire.STREAM_ENCODING_HEADER)
                    for frame in self._frames():
                        payload = frame.payload
                        if frame.compressed:
                            if not encoding or encoding == "identity":
                                raise errors.TransportError(
                                    f"{transport._where(method)} sent a compressed message without "
                                    f"{wire.STREAM_ENCODING_HEADER}",
                                    code="internal",
                                )
                            payload = wire.decompress(payload, encoding, limit=transport.max_message_bytes)
                        if frame.end:
                            error, _trailers = wire.parse_end_stream(payload)
                            if error is None:
                                self._drain()
                                return
                            if error.code in wire.RETRYABLE_CODES:
                                raise _Dropped(self._exception(error))
                            if (
                                error.code == "unauthenticated"
                                and method.resumable
                                and not refreshed
                                and transport._auth is not None
                            ):
                                refreshed = True  # a long watch outlived its token: refresh once, reopen
                                if transport._refresh():
                                    raise _Dropped(self._exception(error))
                            raise self._exception(error)
                        message = wire.decode_message(payload, response_class, json_format=transport._json)
                        reconnects = 0
                        if is_logs:
                            if skip:
                                skip -= _drop_lines(message, skip)
                                if not message.logs:
                                    continue
                            delivered += _count_lines(message)
                        yield message
                except _Dropped as dropped:
                    self._response.close()
                    if not method.resumable or reconnects >= transport.retry.max_stream_reconnects:
                        raise dropped.error from None
                    delay = transport.retry.backoff(reconnects)
                    if not self._deadline.allows(delay):
                        raise errors.DeadlineExceededError(
                            f"the stream of {transport._where(method)} did not end within "
                            f"{self._deadline.timeout:g}s ({dropped.error})"
                        ) from None
                    reconnects += 1
                    log.info(
                        "%s: stream dropped (%s); reconnecting in %.2fs",
                        transport._where(method),
                        dropped.error,
                        delay,
                    )
                    time.sleep(delay)
                    self._response = self._reopen()
                    skip = delivered
        finally:
            if self._response is not None:
                self._response.close()

    def _drain(self) -> None:
        """Read the little that follows the end-of-stream frame (the chunked terminator), so the
        connection goes back to the pool instead of being closed; give up quickly on a server that lingers."""
        raw = self._response.raw
        if not hasattr(raw, "read1"):
            return
        try:
            _arm(self._response, Deadline(DRAIN_TIMEOUT))
            for _ in range(4):
                if not raw.read1(READ_SIZE):
                    return
        except Exception:  # draining is an optimisation: the caller has its answer already
            pass

    def _exception(self, error: wire.WireError) -> errors.TransportError:
        where = self._transport._where(self._method)
        return wire.WireError(error.code, f"{where}: {redact_text(error.message) or error.code}").exception()
