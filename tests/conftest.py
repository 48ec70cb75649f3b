"""Shared fixtures: every test gets its own user directories and no inherited UNION_* settings."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import ObjectStore, serve

REMOTE_TESTS = Path(__file__).parent / "remote"


@pytest.fixture(autouse=True)
def isolated_user(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Fresh data, cache and home directories, the plugin/config singletons reset around each test, and no
    real OS keyring (tokens go to the isolated file cache unless a test installs a fake keyring)."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("UNION_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("UNION_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("UNION_CACHE_DIR", str(home / "cache"))
    monkeypatch.chdir(home)
    import union.config
    import union.plugins

    union.config.reset()
    union.plugins.reset()
    with _no_real_keyring():
        yield home
    union.config.reset()
    union.plugins.reset()


@contextlib.contextmanager
def _no_real_keyring() -> Iterator[None]:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        yield
        return
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(before)


@pytest.fixture(scope="session", autouse=True)
def worker_bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Let worker processes cache compiled modules in a temporary folder when the environment forbids
    writing them next to the sources (PYTHONDONTWRITEBYTECODE): otherwise every worker recompiles
    protobuf, flyteidl2 and fsspec from source, which dominates a run's cost."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        yield
        return
    saved = os.environ.pop("PYTHONDONTWRITEBYTECODE")
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(tmp_path_factory.mktemp("pycache")))
    try:
        yield
    finally:
        os.environ["PYTHONDONTWRITEBYTECODE"] = saved
        os.environ.pop("PYTHONPYCACHEPREFIX", None)


# -- object-store servers, started once per session and only when a test asks for one --------------

SERVER_FIXTURES = {
    "moto_s3": "moto-s3",
    "localstack_s3": "localstack-s3",
    "azurite": "azurite",
    "fake_gcs": "fake-gcs",
}


def _serve(name: str, factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    with serve(name, factory.mktemp(name)) as store:
        yield store


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    yield from _serve("moto-s3", tmp_path_factory)


@pytest.fixture(scope="session")
def localstack_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    yield from _serve("localstack-s3", tmp_path_factory)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    yield from _serve("azurite", tmp_path_factory)


@pytest.fixture(scope="session")
def fake_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    yield from _serve("fake-gcs", tmp_path_factory)


@pytest.fixture(scope="session", params=list(SERVER_FIXTURES), ids=list(SERVER_FIXTURES.values()))
def object_store(request: pytest.FixtureRequest) -> ObjectStore:
    """Each of the four servers in turn."""
    store: ObjectStore = request.getfixturevalue(request.param)
    return store


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {*SERVER_FIXTURES, "object_store"}:
            item.add_marker(pytest.mark.servers)


@pytest.fixture
def fake() -> Iterator[Any]:
    """A FakeTransport (tests/remote/fake_transport.py) that Run, Task and union.run get from the hook."""
    for folder in (REMOTE_TESTS, REMOTE_TESTS / "bundle"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    from fake_transport import FakeTransport, install

    from union.remote import _client

    transport = FakeTransport()
    install(transport)
    yield transport
    _client.reset()


@pytest.fixture
def engine(isolated_user: Path) -> Iterator[Any]:
    """The default transport (the embedded engine, from the builtin hook), its workers killed afterwards.

    tests/engine/ overrides this with an engine on its own database file.
    """
    from union.remote import _client

    _client.reset()
    transport = _client.transport()
    assert type(transport).__name__ == "EmbeddedTransport"
    yield transport
    transport.kill_all()
    transport.close()
    _client.reset()
