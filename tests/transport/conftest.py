"""Fixtures for the Connect client tests: a scriptable server and a client pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scripted import ScriptedServer

from union.config import Config
from union.transport.connect import ConnectTransport
from union.transport.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


@pytest.fixture
def connect(server: ScriptedServer) -> Iterator[Callable[..., ConnectTransport]]:
    """Build ConnectTransports against ``server`` (fast retries unless given), closed after the test."""
    made: list[ConnectTransport] = []

    def make(**kw: Any) -> ConnectTransport:
        kw.setdefault("retry", FAST)
        kw.setdefault("authenticator", None)
        config = kw.pop("config", None) or Config(endpoint=server.url)
        t = ConnectTransport(config, **kw)
        if kw["authenticator"] is None:
            t._auth_resolved = True  # no union.auth lookup: these tests speak without credentials
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()
