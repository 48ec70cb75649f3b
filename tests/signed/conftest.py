"""A data proxy over a temporary store, served over real HTTP, and a transport that mints through it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from union.server.dataproxy import DataProxy
from union.server.exchange import Headers, Request, Response

SECRET = b"canary-secret-0123456789abcdef"

Middleware = Callable[[Request], Response | None]


class _LengthReader:
    def __init__(self, raw: Any, length: int) -> None:
        self.raw = raw
        self.left = length

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data: bytes = self.raw.read(n)
        self.left -= len(data)
        return data


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-answer (the fault tests do) are expected: no traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ProxyServer:
    """``DataProxy.handle`` behind a tiny threaded HTTP/1.1 server on 127.0.0.1 (port 0)."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.before: Middleware | None = None  # may answer instead of the proxy (fault injection)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                stream = _LengthReader(self.rfile, length)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers=Headers(self.headers.items()),
                    stream=stream,  # type: ignore[arg-type]
                    content_length=length,
                )
                outer.requests.append((self.command, self.path, dict(self.headers.items())))
                response = outer.before(request) if outer.before else None
                if response is None:
                    response = outer.proxy.handle(request)
                while stream.read(1 << 16):
                    pass
                body = response.body
                data = body if isinstance(body, bytes) else b"".join(body)
                self.send_response(response.status)
                for key, value in response.headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_PUT = do_GET = do_HEAD = do_POST = _serve

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.proxy = DataProxy(store=store.as_uri(), secret=SECRET, public_url=self.url)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ProxyTransport:
    """The one Transport method signed uploads need, answered by a DataProxy (as ``union serve`` does)."""

    def __init__(self, proxy: DataProxy) -> None:
        self.proxy = proxy
        self.minted: list[Any] = []
        self.urls: list[str] = []  # every signed URL handed out
        self.answer: Callable[[Any], Any] | None = None  # may replace the proxy's answer

    def create_upload_location(self, request: Any, *, timeout: float | None = None) -> Any:
        self.minted.append(request)
        response = (
            self.answer(request) if self.answer is not None else self.proxy.create_upload_location(request)
        )
        self.urls.append(response.signed_url)
        return response

    @property
    def for_puts(self) -> list[Any]:
        """The minted requests that were for a PUT (not for an existence probe)."""
        return [r for r in self.minted if r.content_md5 != bytes(16)]

    def close(self) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.fixture
def proxy(store: Path) -> DataProxy:
    return DataProxy(store=store.as_uri(), secret=SECRET, public_url="http://proxy.test")


@pytest.fixture
def server(store: Path) -> Iterator[ProxyServer]:
    running = ProxyServer(store)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def transport(server: ProxyServer) -> ProxyTransport:
    return ProxyTransport(server.proxy)


@pytest.fixture(autouse=True)
def fresh_probe_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Which endpoints refuse existence probes is remembered per process; each test starts afresh."""
    from union.storage import signed

    monkeypatch.setattr(signed, "_NO_PROBE", set())
