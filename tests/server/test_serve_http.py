"""The HTTP layer on its own (``union.server.http.HTTPServer`` with plain handlers), over real sockets."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from union.server.exchange import Request, Response
from union.server.http import HTTPServer
from union.server.logs import JsonLog


def _broken_stream() -> Iterator[bytes]:
    yield b"first"
    raise RuntimeError("secret-ish detail")


def handler(request: Request) -> Response:
    if request.path == "/boom":
        raise KeyError("token=abc")
    if request.path == "/broken":
        return Response(200, {"Content-Type": "text/plain"}, _broken_stream())
    if request.path == "/stream":
        return Response(200, {"Content-Type": "text/plain"}, iter([b"a", b"", b"bc"]))
    body = request.read_body()
    return Response(200, {"Content-Type": "text/plain"}, b"got %d" % len(body))


@pytest.fixture
def server() -> Iterator[tuple[HTTPServer, io.StringIO]]:
    log = io.StringIO()
    srv = HTTPServer(("127.0.0.1", 0), handler, max_body=4096, log=JsonLog(log))
    srv.start()
    yield srv, log
    srv.stop(grace=1)


def _logged(log: io.StringIO, predicate: Any) -> dict[str, Any]:
    """The first log line matching ``predicate``: lines are written just after the answer is sent."""
    import time

    deadline = time.monotonic() + 5
    while True:
        for text in log.getvalue().splitlines():
            line = json.loads(text)
            if predicate(line):
                return line  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, log.getvalue()
        time.sleep(0.01)


def _url(srv: HTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{srv.port}{path}"


def test_handler_exception_is_500_and_logged_by_type(server: tuple[HTTPServer, io.StringIO]) -> None:
    srv, log = server
    r = requests.get(_url(srv, "/boom"), timeout=5)
    assert r.status_code == 500 and r.json()["code"] == "internal"
    line = _logged(log, lambda x: x.get("path") == "/boom")
    assert line["status"] == 500 and line["error"] == "KeyError"
    assert "abc" not in log.getvalue()


def test_a_stream_failing_midway_cuts_the_connection(server: tuple[HTTPServer, io.StringIO]) -> None:
    srv, log = server
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(_url(srv, "/broken"), timeout=5).content  # noqa: B018
    assert requests.get(_url(srv, "/stream"), timeout=5).content == b"abc"  # the server goes on
    assert _logged(log, lambda x: x.get("path") == "/broken")["error"] == "RuntimeError"
    assert "secret-ish" not in log.getvalue()


def test_http_1_0_streams_end_by_closing(server: tuple[HTTPServer, io.StringIO]) -> None:
    srv, _ = server
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"chunked" not in head.lower() and body == b"abc"


def test_bodies_by_length_and_chunked(server: tuple[HTTPServer, io.StringIO]) -> None:
    srv, _ = server
    assert requests.post(_url(srv, "/echo"), data=b"x" * 100, timeout=5).text == "got 100"
    assert requests.post(_url(srv, "/echo"), data=iter([b"x" * 10, b"y" * 5]), timeout=5).text == "got 15"
    # Chunk extensions and trailers are accepted.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
        )
        answer: Any = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"got 5")


def test_connections_are_no_delay_and_the_backlog_is_deep(server: tuple[HTTPServer, io.StringIO]) -> None:
    """Nagle's algorithm would hold each keep-alive answer's body ~40 ms for the client's delayed ACK."""
    srv, _ = server
    assert srv.request_queue_size >= 128
    with requests.Session() as session:
        assert session.get(_url(srv, "/stream"), timeout=5).ok
        with srv._cond:
            conns = list(srv._conns)
        assert conns
        for conn in conns:
            assert conn.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        srv = HTTPServer(("::1", 0), handler, log=JsonLog(io.StringIO()))
    except OSError:
        pytest.skip("::1 cannot be bound here")
    srv.start()
    try:
        assert requests.get(f"http://[::1]:{srv.port}/stream", timeout=5).content == b"abc"
    finally:
        srv.stop(grace=1)


def test_a_client_dropping_mid_body_does_not_hurt_the_server(server: tuple[HTTPServer, io.StringIO]) -> None:
    srv, _ = server
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort")
    assert requests.post(_url(srv, "/echo"), data=b"ok", timeout=5).text == "got 2"
