"""Fixtures for Run/Task/union.run tests: the tasks' bundle on sys.path and a fake transport."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BUNDLE = Path(__file__).parent / "bundle"
if str(BUNDLE) not in sys.path:
    sys.path.insert(0, str(BUNDLE))

from fake_transport import FakeTransport  # noqa: E402

from union.plugins import hookimpl  # noqa: E402


class _Plugin:
    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport

    @hookimpl
    def union_transport(self, config: object) -> FakeTransport:
        return self.transport


@pytest.fixture
def fake() -> Iterator[FakeTransport]:
    """A FakeTransport that Run, Task and union.run get from the union_transport hook."""
    import union.plugins
    from union.remote import _client

    transport = FakeTransport()
    plugin = _Plugin(transport)
    union.plugins.register(plugin, name="fake-transport")
    _client.reset()
    yield transport
    _client.reset()
