"""Fixtures for Run/Task/union.run tests: the tasks' bundle on sys.path and a fake transport."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BUNDLE = Path(__file__).parent / "bundle"
if str(BUNDLE) not in sys.path:
    sys.path.insert(0, str(BUNDLE))

from fake_transport import FakeTransport, install  # noqa: E402


@pytest.fixture
def fake() -> Iterator[FakeTransport]:
    """A FakeTransport that Run, Task and union.run get from the union_transport hook."""
    from union.remote import _client

    transport = FakeTransport()
    install(transport)
    yield transport
    _client.reset()
