"""Fixtures for ``union serve``'s authentication: a ServerAuth on a temp dir with a controllable clock."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from auth_helpers import BASE, Clock

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
