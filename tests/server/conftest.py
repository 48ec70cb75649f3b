"""``union serve`` in-process on a free port, with its logs captured; tasks deployed through it over HTTP."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
for folder in (HERE, HERE.parent / "engine"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from engine_helpers import Bundle  # noqa: E402
from serve_helpers import TASKS, Served  # noqa: E402

from union.server.app import ServeConfig, Server  # noqa: E402


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start servers with the given ServeConfig fields; all stopped (and their workers killed) after."""
    started: list[Server] = []

    def make(**fields: Any) -> Served:
        log = io.StringIO()
        fields.setdefault("auth", False)
        fields.setdefault("concurrency", 4)
        data_dir = fields.pop("data_dir", tmp_path / f"server{len(started)}")
        server = Server(ServeConfig(port=0, data_dir=data_dir, log_stream=log, **fields))
        server.start()
        started.append(server)
        return Served(server, log)

    yield make
    for server in started:
        transport = server.transport
        server.stop(grace=2)
        if transport is not None and hasattr(transport, "kill_all"):
            transport.kill_all()


@pytest.fixture
def served(make_server: Callable[..., Served]) -> Served:
    return make_server()


@pytest.fixture
def bundle(served: Served, tmp_path: Path) -> Bundle:
    """The TASKS module uploaded, deployed through the server with a raw JSON client."""
    return Bundle(served.client("json"), tmp_path / "bundle", TASKS, module="serve_tasks")
