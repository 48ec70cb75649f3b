"""Fixtures for ``union serve``'s authentication: a ServerAuth on a temp dir with a controllable clock."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from auth_helpers import BASE, Clock, Served

from union.server.app import ServeConfig, Server
from union.server.auth import ServerAuth


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(tmp_path: Path, clock: Clock) -> Iterator[ServerAuth]:
    server_auth = ServerAuth(
        data_dir=tmp_path / "server",
        public_url=BASE,
        enabled=True,
        token_ttl=60,
        device_interval=5,
        failure_delay=0.0,
        clock=clock,
    )
    yield server_auth
    server_auth.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A real ``union serve`` with auth on (no failure delay), and its log."""
    log = io.StringIO()
    with Server(ServeConfig(port=0, data_dir=tmp_path / "server", auth=True, log_stream=log)) as server:
        served = Served(server, log)
        served.auth.failure_delay = 0.0
        yield served
