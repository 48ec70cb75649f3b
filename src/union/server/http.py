"""The HTTP/1.1 layer of ``union serve``: sockets in, :class:`union.server.exchange.Request` out.

Built on the standard library's ``ThreadingHTTPServer`` (a thread per connection) because the engine
behind it is synchronous SQLite and subprocesses; nothing here knows about Connect. What it adds:

- keep-alive, and request bodies de-chunked (``Transfer-Encoding: chunked``) behind one ``stream``;
- responses whose body is an iterable sent with chunked transfer encoding, a flush per chunk, so server
  streams reach the client as they are produced;
- a body-size limit (``Expect: 100-continue`` answered 413 up front when the declared size is too big);
- graceful shutdown: stop accepting, close idle keep-alive connections, let busy ones finish (streams are
  ended by the layer above when :attr:`HTTPServer.closing` is set), then cut what is left;
- one JSON log line per request (see :mod:`union.server.logs`), never the query string or headers.
"""

from __future__ import annotations

import contextlib
import io
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from union import errors
from union.server.exchange import Handler, Headers, Request, Response
from union.server.logs import JsonLog

DEFAULT_MAX_BODY = 64 * 1024 * 1024
IDLE_TIMEOUT_S = 60.0
HANGUP_POLL_S = 0.25
# What is read and thrown away of a body the handler did not consume, to keep the connection usable.
DRAIN_LIMIT = 1024 * 1024
COALESCE_MAX = 64 * 1024  # answers up to this size go out with their headers in one write


_current = threading.local()
_date_cache: tuple[int, str] = (0, "")  # (second, its HTTP date), replaced whole


def client_gone() -> threading.Event | None:
    """For the request handled on this thread: an event set when its client hangs up while a streamed
    response is being produced (so a watch nobody reads stops and frees its slot). None outside one."""
    return getattr(_current, "gone", None)


class BadChunkError(errors.InvalidArgumentError):
    """The chunked request body is malformed (the connection is closed after answering)."""


class ChunkedReader(io.RawIOBase):
    """De-chunk a ``Transfer-Encoding: chunked`` body as it is read (trailers are read and ignored)."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self._left = 0  # bytes left in the current chunk
        self._done = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        """Read the next chunk's size line; False at the last (empty) chunk."""
        line = self._raw.readline(1024)
        if not line.endswith(b"\n"):
            raise BadChunkError("truncated chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadChunkError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            while True:  # trailers, up to the empty line
                trailer = self._raw.readline(8192)
                if trailer in (b"\r\n", b"\n", b""):
                    break
            self._done = True
        self._left = size
        return size > 0

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._done or not len(view):
            return 0
        if self._left == 0 and not self._next_chunk():
            return 0
        want = min(len(view), self._left)
        data = self._raw.read(want)
        if not data:
            raise BadChunkError("the connection closed in the middle of a chunk")
        view[: len(data)] = data
        self._left -= len(data)
        if self._left == 0 and self._raw.read(2) not in (b"\r\n", b"\n"):
            raise BadChunkError("chunk not followed by CRLF")
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            out = bytearray()
            while chunk := super().read(65536):
                out += chunk
            return bytes(out)
        out = bytearray()
        while len(out) < size:
            chunk = super().read(size - len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)


class LengthReader(io.RawIOBase):
    """At most ``length`` bytes of the connection: the body of a request with a Content-Length."""

    def __init__(self, raw: io.BufferedIOBase, length: int) -> None:
        self._raw = raw
        self.left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.left <= 0 or not len(view):
            return 0
        data = self._raw.read(min(len(view), self.left))
        view[: len(data)] = data
        self.left -= len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        # One buffered read: it returns ``size`` bytes unless the connection ends first. (RawIOBase.read
        # would allocate and zero a buffer of ``size`` bytes per call, 1 MiB for every small upload.)
        if size is None or size < 0 or size > self.left:
            size = self.left
        if size <= 0:
            return b""
        data: bytes = self._raw.read(size)
        self.left -= len(data)
        return data


class _Connection(BaseHTTPRequestHandler):
    """One client connection: parse each request, hand it to the server's handler, write the answer."""

    protocol_version = "HTTP/1.1"
    server_version = "union-serve"
    # Streamed and large answers go out as several writes (headers, then body): with Nagle, the body
    # would wait ~40 ms for the client's delayed ACK on every keep-alive request.
    disable_nagle_algorithm = True
    sys_version = ""
    server: HTTPServer
    busy = False
    _gone: threading.Event | None = None

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, formatted once per second rather than once per answer."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        global _date_cache
        now = int(time.time())
        second, text = _date_cache
        if second != now:
            text = super().date_time_string(now)
            _date_cache = (now, text)  # a race only formats the same second twice
        return text

    # -- connection lifecycle ----------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(IDLE_TIMEOUT_S)
        self.server._track(self, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server._track(self, False)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True
        finally:
            self.server._set_busy(self, False)
            if self.server.closing.is_set():
                self.close_connection = True

    def parse_request(self) -> bool:
        self.server._set_busy(self, True)
        return super().parse_request()

    def handle_expect_100(self) -> bool:
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.server.max_body:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
            self.close_connection = True
            return False
        return super().handle_expect_100()

    # -- logging: structured, without the request line (it holds the query string) ------------------

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Called for malformed requests before any handler ran: log them without the raw request line.
        self.server.log.write(
            "http_error",
            status=int(code),
            client=self.client_address[0] if self.client_address else "",
            reason=str(message or ""),
        )
        self.close_connection = True
        with contextlib.suppress(OSError):
            super().send_error(code, message, explain)

    # -- requests ----------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _body_stream(self) -> tuple[BinaryIO, int | None]:
        encoding = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in encoding:
            return ChunkedReader(self.rfile), None  # type: ignore[return-value]
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return LengthReader(self.rfile, 0), 0  # type: ignore[return-value]
        if not length_text.strip().isdigit():
            raise BadChunkError(f"bad Content-Length {length_text[:20]!r}")
        length = int(length_text)
        return LengthReader(self.rfile, length), length  # type: ignore[return-value]

    def _serve(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        client = self.client_address[0] if self.client_address else ""
        status = 500
        sent = 0
        error: str | None = None
        try:
            try:
                stream, length = self._body_stream()
            except BadChunkError as exc:
                status = 400
                self._plain(400, str(exc))
                return
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=Headers(self.headers.raw_items()),  # already-parsed values, no re-parse per header
                stream=stream,
                content_length=length,
                client=client,
                max_body=self.server.max_body,
            )
            _current.gone = self._gone = threading.Event()
            try:
                response = self.server.handler(request)
            except Exception as exc:  # a handler bug: answer 500, log the type only
                error = type(exc).__name__
                response = Response(
                    500,
                    {"Content-Type": "application/json"},
                    b'{"code":"internal","message":"internal error"}',
                )
            status = response.status
            sent = self._write(response)
            self._drain(stream, length)
        except (ConnectionError, TimeoutError, BadChunkError, OSError) as exc:
            error = error or type(exc).__name__
            self.close_connection = True
        except Exception as exc:  # a streamed body failed after its headers went out: cut the connection
            error = error or type(exc).__name__
            self.close_connection = True
        finally:
            _current.gone = None
            self.server.log.request(
                method=self.command,
                path=parts.path,
                status=status,
                duration=time.monotonic() - started,
                client=client,
                bytes=sent,
                error=error,
            )

    def _drain(self, stream: BinaryIO, length: int | None) -> None:
        """Read what the handler left of the body, so the next request on this connection parses."""
        if isinstance(stream, LengthReader) and stream.left > DRAIN_LIMIT:
            self.close_connection = True
            return
        left = DRAIN_LIMIT
        while left > 0:
            chunk = stream.read(min(65536, left))
            if not chunk:
                return
            left -= len(chunk)
        self.close_connection = True

    def _plain(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(body)

    def _write(self, response: Response) -> int:
        """Send ``response``; an iterable body goes out chunked, flushed chunk by chunk."""
        closing = self.server.closing.is_set()
        body = response.body
        if not isinstance(body, (bytes, bytearray, memoryview)):
            try:
                self._head(response, closing)
                return self._write_stream(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        self._head(response, closing)
        data = bytes(body)
        self.send_header("Content-Length", str(len(data)))
        if self.command != "HEAD" and len(data) <= COALESCE_MAX and hasattr(self, "_headers_buffer"):
            # Headers and a small body in one write: one segment, and the client reads it in one go.
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(data)
            self.flush_headers()
            return len(data)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return len(data)

    def _head(self, response: Response, closing: bool) -> None:
        self.send_response(response.status)
        headers = {k.lower(): (k, v) for k, v in response.headers.items()}
        for name in ("content-length", "transfer-encoding", "connection"):
            headers.pop(name, None)
        for key, value in headers.values():
            self.send_header(key, value)
        if closing:
            self.send_header("Connection", "close")
            self.close_connection = True

    def _write_stream(self, body: Iterable[bytes]) -> int:
        chunked = self.request_version == "HTTP/1.1"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()
        sent = 0
        iterator = iter(body)
        self.server._watch_stream(self.connection, self._gone)
        try:
            for chunk in iterator:
                if not chunk:
                    continue
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        finally:
            self.server._unwatch_stream(self.connection)
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        return sent


class HTTPServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server calling one :data:`~union.server.exchange.Handler` per request."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the listen backlog: socketserver's 5 refuses bursts of new connections
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: Handler,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        log: JsonLog | None = None,
    ) -> None:
        self.handler = handler
        self.max_body = max_body
        self.log = log or JsonLog()
        self.closing = threading.Event()
        self._conns: dict[_Connection, bool] = {}  # connection -> busy
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.on_close: list[Callable[[], None]] = []
        self._streams: dict[socket.socket, threading.Event] = {}
        self._monitor: threading.Thread | None = None
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
            address = (address[0].strip("[]"), address[1])
        super().__init__(address, _Connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """An exception escaped a connection: one log line with its type (never a traceback on stderr)."""
        import sys

        kind = sys.exc_info()[0]
        self.log.write("connection_error", error=kind.__name__ if kind else "", client=str(client_address[0]))

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def _track(self, conn: _Connection, alive: bool) -> None:
        with self._cond:
            if alive:
                self._conns[conn] = False
            else:
                self._conns.pop(conn, None)
            self._cond.notify_all()

    def _set_busy(self, conn: _Connection, busy: bool) -> None:
        with self._cond:
            if conn in self._conns:
                self._conns[conn] = busy
            if not busy and self.closing.is_set():
                _shut(conn.connection)
            self._cond.notify_all()

    # -- noticing clients that hang up during a stream ----------------------------------------------

    def _watch_stream(self, sock: socket.socket, gone: threading.Event | None) -> None:
        if gone is None:
            return
        with self._cond:
            self._streams[sock] = gone
            if self._monitor is None:
                self._monitor = threading.Thread(
                    target=self._watch_hangups, name="union-serve-hangups", daemon=True
                )
                self._monitor.start()
            self._cond.notify_all()

    def _unwatch_stream(self, sock: socket.socket) -> None:
        with self._cond:
            self._streams.pop(sock, None)

    def _watch_hangups(self) -> None:
        """A streaming connection's socket turning readable with EOF means its client left."""
        while not self.closing.is_set():
            with self._cond:
                while not self._streams and not self.closing.is_set():
                    self._cond.wait(1.0)
                watched = dict(self._streams)
            try:
                readable, _, _ = select.select(list(watched), [], [], HANGUP_POLL_S)
            except (OSError, ValueError):  # a socket closed meanwhile: take a fresh snapshot
                time.sleep(HANGUP_POLL_S)
                continue
            for sock in readable:
                try:
                    data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                # EOF: the client hung up. Data: it sent more (pipelining) and cannot be watched this way.
                if not data:
                    watched[sock].set()
                self._unwatch_stream(sock)
            if readable:
                time.sleep(HANGUP_POLL_S)  # readable but still registered: do not spin

    def start(self) -> None:
        """Serve on a background thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="union-serve", daemon=True
        )
        self._thread.start()

    def stop(self, grace: float = 10.0) -> None:
        """Graceful shutdown: no new connections, idle ones closed, busy ones given ``grace`` seconds."""
        if self.closing.is_set():
            return
        self.closing.set()
        for callback in self.on_close:
            with contextlib.suppress(Exception):
                callback()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
        self.server_close()
        deadline = time.monotonic() + grace
        with self._cond:
            for conn, busy in self._conns.items():
                if not busy:
                    _shut(conn.connection)
            while self._conns and time.monotonic() < deadline:
                self._cond.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            for conn in self._conns:
                _shut(conn.connection)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
