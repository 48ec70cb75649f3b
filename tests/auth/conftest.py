"""A live OAuth2 test server per test (tests/conftest.py keeps the real OS keyring out of every test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oauth_test_server import OAuthServer


@pytest.fixture
def oauth() -> Iterator[OAuthServer]:
    server = OAuthServer(clients={"app": "app-secret"}).start()
    yield server
    server.stop()
