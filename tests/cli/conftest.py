"""CLI tests reuse the remote tests' task bundle and fake transport."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REMOTE = Path(__file__).parents[1] / "remote"
for folder in (REMOTE, REMOTE / "bundle"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fake_transport import FakeTransport, install  # noqa: E402


@pytest.fixture
def fake() -> Iterator[FakeTransport]:
    from union.remote import _client

    transport = FakeTransport()
    install(transport)
    yield transport
    _client.reset()


@pytest.fixture
def tasks_file() -> str:
    return str(REMOTE / "bundle" / "rt_tasks.py")
