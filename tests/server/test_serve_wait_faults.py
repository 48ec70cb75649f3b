"""``Run.wait`` over ``union serve`` when its watch stream breaks: the server restarted mid-wait, or every
connection cut (reset) mid-stream by the network. The waiter must still see the terminal phase."""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serve_helpers import Served

import union
from union.remote import _client
from union.server.app import ServeConfig, Server

BUNDLE = Path(__file__).parent.parent / "remote" / "bundle"
if str(BUNDLE) not in sys.path:
    sys.path.insert(0, str(BUNDLE))

import rt_tasks  # noqa: E402


class CuttingProxy:
    """A TCP forwarder to ``target``; ``cut()`` resets every connection open through it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.cuts = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self) -> int:
        with self.lock:
            victims, self.open = self.open, []
        for s in victims:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                s.close()
            except OSError:
                pass
        self.cuts += 1
        return len(victims)

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture
def isolated() -> Iterator[None]:
    _client.reset()
    yield
    _client.reset()


def _wait_in_thread(run: union.remote.Run) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def wait() -> None:
        started = time.monotonic()
        try:
            out["phase"] = run.wait(timeout=60).phase
            out["result"] = run.result()
        except Exception as exc:  # reported by the assertion below
            out["error"] = exc
        out["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread, out


def _until(predicate: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for a condition on real state (not a guessed delay)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@contextlib.contextmanager
def _stream_dropped() -> Iterator[threading.Event]:
    """An event set when the Connect transport logs that a stream dropped and it reconnects."""
    event = threading.Event()

    class OnDrop(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "stream dropped" in record.getMessage():
                event.set()

    handler = OnDrop()
    transport_log = logging.getLogger("union.transport")
    previous = transport_log.level
    transport_log.addHandler(handler)
    transport_log.setLevel(logging.INFO)
    try:
        yield event
    finally:
        transport_log.removeHandler(handler)
        transport_log.setLevel(previous)


def test_wait_sees_the_terminal_phase_across_a_server_restart(tmp_path: Path, isolated: None) -> None:
    log = io.StringIO()
    data_dir = tmp_path / "server"
    first = Server(ServeConfig(port=0, data_dir=data_dir, auth=False, log_stream=log, concurrency=4))
    first.start()
    port = int(first.url.rsplit(":", 1)[1])
    second: Server | None = None
    try:
        union.init(endpoint=first.url, insecure=True)
        _client.reset()
        run = union.run(rt_tasks.sleepy, seconds=3)
        with _stream_dropped() as dropped:
            thread, out = _wait_in_thread(run)
            _until(lambda: first._routes.streams.open >= 1)  # the waiter follows the watch stream now
            assert thread.is_alive()
            first.stop(grace=1)  # the stream ends with the server; the worker keeps running the task
            assert dropped.wait(30), "the waiter never saw its stream end"
        second = Server(ServeConfig(port=port, data_dir=data_dir, auth=False, log_stream=log, concurrency=4))
        second.start()
        thread.join(60)
        assert not thread.is_alive()
        assert "error" not in out, out
        assert out["phase"] == "SUCCEEDED" and out["result"] == "slept"
        # The restarted server answered the waiter (it watched or polled again after the restart).
        after = log.getvalue().split('"event":"serving"')[-1]
        assert "RunService/WatchRunDetails" in after or "RunService/GetRunDetails" in after
    finally:
        for server in (first, second):
            if server is not None:
                transport = server.transport
                server.stop(grace=1)
                if transport is not None and hasattr(transport, "kill_all"):
                    transport.kill_all()


def test_wait_sees_the_terminal_phase_when_streams_are_reset(
    make_server: Callable[..., Served], isolated: None
) -> None:
    served = make_server()
    host, port = served.url.removeprefix("http://").rsplit(":", 1)
    proxy = CuttingProxy((host, int(port)))
    try:
        union.init(endpoint=f"http://127.0.0.1:{proxy.port}", insecure=True)
        _client.reset()
        run = union.run(rt_tasks.sleepy, seconds=3)
        thread, out = _wait_in_thread(run)
        deadline = time.monotonic() + 2.5
        cut = 0
        while time.monotonic() < deadline:  # reset every connection, the watch stream's too, a few times
            time.sleep(0.5)
            cut += proxy.cut()
        assert cut > 0 and thread.is_alive()
        thread.join(60)
        assert not thread.is_alive()
        assert "error" not in out, out
        assert out["phase"] == "SUCCEEDED" and out["result"] == "slept"
        assert float(str(out["seconds"])) < 30
    finally:
        proxy.close()
