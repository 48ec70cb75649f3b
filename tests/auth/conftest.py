"""A live OAuth2 test server per test, and no real OS keyring: the file cache unless a test fakes one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oauth_test_server import OAuthServer


@pytest.fixture(autouse=True)
def no_real_keyring() -> Iterator[None]:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        yield
        return
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture
def oauth() -> Iterator[OAuthServer]:
    server = OAuthServer(clients={"app": "app-secret"}).start()
    yield server
    server.stop()
