"""Connect unary and server-streaming routes over plain Python objects (the engine, the data proxy, auth).

A route is ``POST /<package.Service>/<Method>``; its request and response classes and whether it streams
come from the flyteidl2 service descriptors, so the server and the generated clients cannot disagree. The
Python method called is the snake_case of the RPC (``CreateRun`` -> ``create_run``), taking the request
message and, when its signature accepts them, ``timeout`` (from ``Connect-Timeout-Ms``), ``request``
(the :class:`~union.server.exchange.Request`), ``principal``, or, for streams, ``cancel`` (a
``threading.Event`` set when the client hangs up, so a long watch stops instead of holding its slot).

Protocol (https://connectrpc.com/docs/protocol): unary in ``application/json`` or ``application/proto``,
gzip bodies both ways (``Content-Encoding`` / ``Accept-Encoding``), unary ``GET`` with ``?message=``;
streams in ``application/connect+json|proto`` with 5-byte envelopes, per-message gzip
(``Connect-Content-Encoding`` / ``Connect-Accept-Encoding``) and an end-of-stream frame carrying the error.
Unary errors are Connect JSON error bodies with the matching HTTP status; an unknown procedure is 404.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from union import errors
from union.server.exchange import Request, Response
from union.server.logs import JsonLog
from union.transport import wire

if TYPE_CHECKING:
    from google.protobuf.message import Message

# Compress responses only when it can pay off.
MIN_COMPRESS_BYTES = 256
_ATTR_OVERRIDES = {"GetOAuth2Metadata": "get_oauth2_metadata", "GetActionDataURIs": "get_action_data_uris"}


def snake_case(name: str) -> str:
    """``CreateRun`` -> ``create_run``: the Python name of an RPC (the Transport's method names)."""
    return _ATTR_OVERRIDES.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Method:
    """One RPC, as the descriptors define it."""

    service: str
    name: str
    input: type[Message]
    output: type[Message]
    streaming: bool

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def attr(self) -> str:
        return snake_case(self.name)


def service_methods(full_name: str) -> list[Method]:
    """Every unary and server-streaming method of a flyteidl2 service, from its descriptor."""
    from google.protobuf import descriptor_pool, message_factory

    service = descriptor_pool.Default().FindServiceByName(full_name)
    found = []
    for m in service.methods:
        if m.client_streaming:
            continue  # not served: Connect client streams need HTTP/2 semantics this server lacks
        found.append(
            Method(
                service=full_name,
                name=m.name,
                input=message_factory.GetMessageClass(m.input_type),
                output=message_factory.GetMessageClass(m.output_type),
                streaming=m.server_streaming,
            )
        )
    return found


def _import_services() -> None:
    """Load the generated modules so their services are in the default descriptor pool."""
    import flyteidl2.auth.auth_service_pb2
    import flyteidl2.auth.identity_pb2
    import flyteidl2.dataproxy.dataproxy_service_pb2
    import flyteidl2.task.task_service_pb2
    import flyteidl2.workflow.run_logs_service_pb2
    import flyteidl2.workflow.run_service_pb2  # noqa: F401


@dataclass
class _Route:
    method: Method
    target: Callable[..., Any] | None  # None: declared by the service, not offered here
    kwargs: frozenset[str]
    public: bool  # callable without authentication


class StreamLimit:
    """At most ``limit`` server streams open at once; one more is refused with resource_exhausted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.open -= 1


class ConnectRoutes:
    """The Connect procedures served, and the handler answering them.

    ``targets`` maps a service name to the object implementing it (or a mapping of method name to
    object, to split one service between several). ``authenticate`` is called before every non-public
    procedure; it raises ``UnauthenticatedError`` to refuse. ``closing`` ends open streams (with
    ``unavailable``, so clients reconnect elsewhere or later) when set.
    """

    def __init__(
        self,
        targets: Mapping[str, object | Mapping[str, object]],
        *,
        public_services: frozenset[str] = frozenset(),
        authenticate: Callable[[Request], None] | None = None,
        max_streams: int = 100,
        closing: threading.Event | None = None,
        log: JsonLog | None = None,
    ) -> None:
        _import_services()
        self.log = log
        self.authenticate = authenticate
        self.streams = StreamLimit(max_streams)
        self.closing = closing or threading.Event()
        self.routes: dict[str, _Route] = {}
        for service, target in targets.items():
            for method in service_methods(service):
                obj = target.get(method.name) if isinstance(target, Mapping) else target
                fn = getattr(obj, method.attr, None) if obj is not None else None
                self.routes[method.path] = _Route(
                    method, fn, _accepted_kwargs(fn) if fn else frozenset(), service in public_services
                )

    def __contains__(self, path: str) -> bool:
        return path in self.routes

    # -- entry point -------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        route = self.routes.get(request.path)
        if route is None:
            return _error_response(
                wire.WireError("unimplemented", f"no procedure {request.path}: see the flyteidl2 services"),
                status=404,
            )
        if route.method.streaming:
            return self._stream(route, request)
        return self._unary(route, request)

    # -- unary -------------------------------------------------------------------------------------

    def _unary(self, route: _Route, request: Request) -> Response:
        accept = _accepts_gzip(request.headers.get("accept-encoding"))
        if request.method == "GET":
            return self._unary_get(route, request, accept)
        if request.method != "POST":
            return Response(405, {"Allow": "GET, POST", "Content-Type": "text/plain"}, b"use POST\n")
        content_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if content_type not in (wire.UNARY_JSON, wire.UNARY_PROTO):
            return _unsupported_media(content_type, streaming=False)
        json_format = content_type == wire.UNARY_JSON
        try:
            _check_version(request.headers.get(wire.PROTOCOL_VERSION_HEADER))
            self._check_auth(route, request)  # before reading: no work for an unauthenticated body
            body = request.read_body()
            body = wire.decompress(body, request.headers.get("content-encoding"), limit=request.max_body)
            return self._answer(route, request, body, json_format, accept)
        except Exception as exc:
            return _error_response(self._error(exc))

    def _unary_get(self, route: _Route, request: Request, accept: bool) -> Response:
        encoding = request.query_one("encoding") or ""
        if encoding not in ("json", "proto"):
            return _error_response(wire.WireError("invalid_argument", "GET needs encoding=json or proto"))
        try:
            _check_version(request.query_one("connect"), query=True)
            self._check_auth(route, request)
            raw = (request.query_one("message") or "").encode()
            if request.query_one("base64") == "1":
                try:
                    raw = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
                except ValueError as exc:
                    raise errors.InvalidArgumentError(f"message is not URL-safe base64: {exc}") from None
            body = wire.decompress(raw, request.query_one("compression"), limit=request.max_body)
            return self._answer(route, request, body, encoding == "json", accept)
        except Exception as exc:
            return _error_response(self._error(exc))

    def _answer(
        self, route: _Route, request: Request, body: bytes, json_format: bool, accept_gzip: bool
    ) -> Response:
        message = wire.decode_message(body, route.method.input, json_format=json_format)
        began = time.monotonic()
        timeout = wire.parse_timeout(request.headers.get(wire.TIMEOUT_HEADER))
        result = self._call(route, request, message, timeout=timeout)
        if timeout is not None and time.monotonic() - began > timeout:
            # The client has given up: say so rather than send an answer nobody reads as success.
            raise errors.DeadlineExceededError(f"the call took longer than its {timeout:g}s timeout")
        if not isinstance(result, route.method.output):
            raise TypeError(f"{route.method.path} returned {type(result).__name__}")
        data = wire.encode_message(result, json_format=json_format)
        headers = {"Content-Type": wire.UNARY_JSON if json_format else wire.UNARY_PROTO}
        if accept_gzip and len(data) >= MIN_COMPRESS_BYTES:
            data = wire.compress(data, "gzip")
            headers["Content-Encoding"] = "gzip"
        return Response(200, headers, data)

    # -- server streams ----------------------------------------------------------------------------

    def _stream(self, route: _Route, request: Request) -> Response:
        if request.method != "POST":
            return Response(405, {"Allow": "POST", "Content-Type": "text/plain"}, b"use POST\n")
        content_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if content_type not in (wire.STREAM_JSON, wire.STREAM_PROTO):
            return _unsupported_media(content_type, streaming=True)
        json_format = content_type == wire.STREAM_JSON
        gzip_out = _accepts_gzip(request.headers.get(wire.STREAM_ACCEPT_ENCODING_HEADER))
        headers = {"Content-Type": content_type}
        if gzip_out:
            headers[wire.STREAM_ENCODING_HEADER] = "gzip"
        try:
            _check_version(request.headers.get(wire.PROTOCOL_VERSION_HEADER))
            deadline_s = wire.parse_timeout(request.headers.get(wire.TIMEOUT_HEADER))
            self._check_auth(route, request)
            message = self._read_envelope(route, request, json_format)
        except Exception as exc:
            return Response(200, headers, [wire.end_stream(self._error(exc))])
        if not self.streams.acquire():
            error = wire.WireError(
                "resource_exhausted",
                f"too many open streams (limit {self.streams.limit}): retry later",
            )
            return Response(200, headers, [wire.end_stream(error)])
        frames = self._frames(route, request, message, json_format, gzip_out, deadline_s)
        return Response(200, headers, _Stream(frames, self.streams.release))

    def _read_envelope(self, route: _Route, request: Request, json_format: bool) -> Message:
        body = request.read_body()
        frames = list(wire.read_frames(iter([body]), max_bytes=request.max_body))
        if len(frames) != 1 or frames[0].end:
            raise errors.InvalidArgumentError(
                f"a server stream's request holds exactly one message; got {len(frames)} frames"
            )
        payload = frames[0].payload
        if frames[0].compressed:
            payload = wire.decompress(
                payload,
                request.headers.get(wire.STREAM_ENCODING_HEADER) or "gzip",
                limit=request.max_body,
            )
        return wire.decode_message(payload, route.method.input, json_format=json_format)

    def _frames(
        self,
        route: _Route,
        request: Request,
        message: Message,
        json_format: bool,
        gzip_out: bool,
        timeout: float | None,
    ) -> Iterator[bytes]:
        from union.server.http import client_gone

        deadline = None if timeout is None else time.monotonic() + timeout
        gone = client_gone()
        iterator: Iterator[Any] | None = None
        try:
            error: wire.WireError | None = None
            try:
                iterator = iter(self._call(route, request, message, timeout=timeout, cancel=gone))
                for item in iterator:
                    data = wire.encode_message(item, json_format=json_format)
                    if gzip_out and len(data) >= MIN_COMPRESS_BYTES:
                        yield wire.envelope(wire.compress(data, "gzip"), flags=wire.FLAG_COMPRESSED)
                    else:
                        yield wire.envelope(data)
                    if self.closing.is_set():
                        raise errors.UnavailableError("the server is shutting down: reconnect")
                    if deadline is not None and time.monotonic() >= deadline:
                        raise errors.DeadlineExceededError(f"the stream exceeded its {timeout:g}s timeout")
            except GeneratorExit:
                raise
            except Exception as exc:
                error = self._error(exc)
                if self.closing.is_set() and error.code != "deadline_exceeded":
                    error = wire.WireError("unavailable", "the server is shutting down: reconnect")
            yield wire.end_stream(error)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    # -- shared ------------------------------------------------------------------------------------

    def _error(self, exc: BaseException) -> wire.WireError:
        error = _wire_error(exc)
        if error.code == "internal" and self.log is not None:
            # A bug, not a bad request: say where, but not the message (it may quote what a client sent).
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
            self.log.write("internal_error", error=type(exc).__name__, where=where)
        return error

    def _check_auth(self, route: _Route, request: Request) -> None:
        if self.authenticate is not None and not route.public:
            self.authenticate(request)

    def _call(
        self,
        route: _Route,
        request: Request,
        message: Message,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> Any:
        if route.target is None:
            raise errors.UnimplementedError(f"{route.method.path} is not offered by this server")
        kwargs: dict[str, Any] = {}
        if "timeout" in route.kwargs:
            kwargs["timeout"] = timeout
        if "request" in route.kwargs:
            kwargs["request"] = request
        if "principal" in route.kwargs:
            kwargs["principal"] = request.principal
        if "cancel" in route.kwargs and cancel is not None:
            kwargs["cancel"] = cancel
        return route.target(message, **kwargs)


class _Stream:
    """A response body that gives its stream slot back exactly once, even if it is never iterated."""

    def __init__(self, frames: Iterator[bytes], release: Callable[[], None]) -> None:
        self._frames = frames
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._frames
        finally:
            self.close()

    def close(self) -> None:
        self._frames.close()  # type: ignore[attr-defined]
        release, self._release = self._release, None
        if release is not None:
            release()


def _accepted_kwargs(fn: Callable[..., Any]) -> frozenset[str]:
    """Which of timeout/request/principal/cancel ``fn`` takes besides its first parameter (the message)."""
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return frozenset({"timeout"})
    names = {p.name for p in params}
    return frozenset(name for name in ("timeout", "request", "principal", "cancel") if name in names)


def _check_version(value: str | None, *, query: bool = False) -> None:
    """Connect-Protocol-Version (or ``connect=v1`` on GET) is optional, but when sent must be version 1."""
    expected = "v1" if query else wire.PROTOCOL_VERSION
    if value is not None and value != expected:
        where = "the connect query parameter" if query else wire.PROTOCOL_VERSION_HEADER
        raise errors.InvalidArgumentError(f"{where} is {value!r}: this server speaks Connect {expected}")


def _accepts_gzip(header: str | None) -> bool:
    if not header:
        return False
    return any(part.split(";", 1)[0].strip().lower() == "gzip" for part in header.split(","))


def _wire_error(exc: BaseException) -> wire.WireError:
    """The Connect error for ``exc``, its message with URLs redacted (signed URLs hold secrets)."""
    from union.redact import redact_text

    error = wire.WireError.from_exception(exc)
    error.message = redact_text(error.message)
    return error


def _error_response(error: wire.WireError, *, status: int | None = None) -> Response:
    return Response(
        status or error.http_status,
        {"Content-Type": "application/json"},
        error.to_bytes(),
    )


def _unsupported_media(content_type: str, *, streaming: bool) -> Response:
    accept = (
        f"{wire.STREAM_JSON}, {wire.STREAM_PROTO}" if streaming else f"{wire.UNARY_JSON}, {wire.UNARY_PROTO}"
    )
    return Response(
        415,
        {"Accept-Post": accept, "Content-Type": "text/plain"},
        f"unsupported content type {content_type!r}: use {accept}\n".encode(),
    )
