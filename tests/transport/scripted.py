"""A scriptable HTTP/1.1 server for the Connect client's fault tests.

Each test installs ``server.handler(h, request)``; the handler writes whatever it likes with the helpers
below (a Connect answer, an HTML error page, a stream cut off mid-message, nothing at all) so faults are
produced on a real socket, not mocked inside requests.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from union.transport import wire


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int = 0

    def message(self, cls: Any, *, json_format: bool = False) -> Any:
        body = self.body
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if self.headers.get("content-type", "").startswith("application/connect+"):
            frame = next(wire.read_frames(iter([body])))
            body = gzip.decompress(frame.payload) if frame.compressed else frame.payload
        return wire.decode_message(body, cls, json_format=json_format)


Handler = Callable[[BaseHTTPRequestHandler, Seen], None]


@dataclass
class ScriptedServer:
    handler: Handler | None = None
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                seen = Seen(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    self.client_address[1],
                )
                outer.requests.append(seen)
                assert outer.handler is not None
                try:
                    outer.handler(self, seen)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        class _Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hung up on purpose (deadline tests)

        self.httpd = _Server(("127.0.0.1", 0), _H)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- what a handler can do ----------------------------------------------------------------------------


def reply(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    content_type: str = "application/proto",
    headers: dict[str, str] | None = None,
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)
    h.wfile.flush()


def reply_message(
    h: BaseHTTPRequestHandler, message: Any, *, json_format: bool = False, gzip_it: bool = False
) -> None:
    body = wire.encode_message(message, json_format=json_format)
    headers = {}
    if gzip_it:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    reply(h, 200, body, wire.UNARY_JSON if json_format else wire.UNARY_PROTO, headers)


def reply_error(
    h: BaseHTTPRequestHandler, code: str, message: str = "", headers: dict[str, str] | None = None
) -> None:
    error = wire.WireError(code, message)
    reply(h, error.http_status, error.to_bytes(), "application/json", headers)


def drop(h: BaseHTTPRequestHandler) -> None:
    """Close the connection without answering."""
    h.close_connection = True
    h.connection.shutdown(socket.SHUT_RDWR)


def start_stream(
    h: BaseHTTPRequestHandler, *, json_format: bool = False, headers: dict[str, str] | None = None
) -> None:
    h.send_response(200)
    h.send_header("Content-Type", wire.STREAM_JSON if json_format else wire.STREAM_PROTO)
    h.send_header("Transfer-Encoding", "chunked")
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.flush()


def chunk(h: BaseHTTPRequestHandler, data: bytes) -> None:
    h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    h.wfile.flush()


def end_chunks(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()


def send_messages(
    h: BaseHTTPRequestHandler, messages: Iterable[Any], *, json_format: bool = False, pause: float = 0.0
) -> None:
    for message in messages:
        chunk(h, wire.envelope(wire.encode_message(message, json_format=json_format)))
        if pause:
            time.sleep(pause)


def finish_stream(h: BaseHTTPRequestHandler, error: wire.WireError | None = None) -> None:
    chunk(h, wire.end_stream(error))
    end_chunks(h)
