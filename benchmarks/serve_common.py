"""Shared set-up for the ``serve_*`` benchmarks (not a benchmark itself: it has no NAME and no ``run``).

``served(name)`` starts ``union serve`` as its own process (``--port 0 --no-auth --quiet``, a fresh data
dir in scratch space), points this process at it over real HTTP (``union.init(endpoint=url,
insecure=True)``, no raw-data prefix, so uploads go through the data proxy's signed URLs), imports the
benchmark task module and yields a :class:`Served`. The server is stopped with SIGTERM at the end.
The engine's SQLite file is read directly only to learn when a worker recorded a terminal phase.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from benchmarks.run_common import isolated_user, tasks_module


@dataclass
class Served:
    work: Path
    url: str
    data_dir: Path
    tasks: ModuleType
    process: subprocess.Popen[str]

    @property
    def db(self) -> Path:
        return self.data_dir / "engine.sqlite"

    def row(self, name: str) -> sqlite3.Row:
        """The engine's record of a run, read from the server's SQLite file (read-only)."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            found = conn.execute("SELECT * FROM runs WHERE name = ?", (name,)).fetchone()
        finally:
            conn.close()
        assert found is not None, f"run {name} is not in {self.db}"
        return found  # type: ignore[no-any-return]


def start_server(data_dir: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    """``union serve`` on a free loopback port; returns the process and its base URL."""
    args = [sys.executable, "-m", "union", "serve", "--port", "0", "--no-auth", "--quiet"]
    proc = subprocess.Popen(
        [*args, "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "listening on" in line:
            return proc, line.rsplit(" ", 1)[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"union serve did not start: see {log}")


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def served(name: str) -> Iterator[Served]:
    """``union serve`` in its own process plus this process configured to use it (module docstring)."""
    with isolated_user(name) as work:
        data_dir = work / "server"
        proc, url = start_server(data_dir, work / "serve.log")
        try:
            import union

            union.init(endpoint=url, insecure=True)
            yield Served(work=work, url=url, data_dir=data_dir, tasks=tasks_module(), process=proc)
        finally:
            stop_server(proc)
