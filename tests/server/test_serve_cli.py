"""``union serve`` as a command: prints its URL, serves, stops cleanly on SIGTERM/SIGINT, refuses unsafe flags."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from union.cli.main import main


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "union.cli.main",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "d"),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"listening on (http://\S+)", line)
    assert found, line + (proc.stderr.read() if proc.stderr else "")
    return proc, found.group(1)


def test_signal_handlers_are_in_place_before_the_url_is_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whoever reads the URL may signal at once (a supervisor, a test): it must get a graceful stop."""
    from union.server.app import Server

    seen: list[object] = []
    original = Server.start

    def start(self: Server) -> str:
        seen.append(signal.getsignal(signal.SIGTERM))
        url = original(self)
        self.request_stop()  # as the handler would: serve_forever returns, the server stops
        return url

    monkeypatch.setattr(Server, "start", start)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--no-auth", "--quiet"]) == 0
    assert "listening on" in capsys.readouterr().out
    assert seen and seen[0] is not before and callable(seen[0])
    assert signal.getsignal(signal.SIGTERM) is before  # restored afterwards


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_url_and_stops_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    proc, url = _start(tmp_path, "--no-auth")
    try:
        assert url.startswith("http://127.0.0.1:")  # no --host: this machine only
        assert requests.get(url + "/healthz", timeout=5).text == "ok\n"
        r = requests.post(url + "/flyteidl2.task.TaskService/ListTasks", json={}, timeout=5)
        assert r.status_code == 200
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=8)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert events[0] == "serving" and "request" in events and events[-1] == "stopped"
    assert (tmp_path / "d" / "engine.sqlite").exists()


def test_serve_with_auth_refuses_anonymous_calls(tmp_path: Path) -> None:
    proc, url = _start(tmp_path, "--quiet", "--concurrency", "2")
    try:
        r = requests.post(url + "/flyteidl2.task.TaskService/ListTasks", json={}, timeout=5)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    finally:
        proc.terminate()
        proc.communicate(timeout=8)
    assert proc.returncode == 0


def test_no_auth_is_refused_off_loopback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--no-auth", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "refusing to serve without authentication on '0.0.0.0'" in err and "127.0.0.1" in err
    assert main(["serve", "--no-auth", "--concurrency", "0", "--data-dir", str(tmp_path)]) == 1
    assert "concurrency" in capsys.readouterr().err


def test_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--no-auth", "--port", str(port), "--data-dir", str(tmp_path)])
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_loopback() -> None:
    from union.server.app import is_loopback

    assert is_loopback("localhost") and is_loopback("127.0.0.1") and is_loopback("[::1]")
    assert not is_loopback("union.example.com")
