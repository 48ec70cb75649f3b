"""pytest fixtures for plugin test suites: ``from union.testing.fixtures import *`` in a conftest.py.

``union_isolated`` gives a test fresh home, data and cache directories, no inherited ``UNION_*``,
``FLYTE_*`` or ``FLYTECTL_CONFIG`` variables, and fresh configuration, plugin and transport singletons.
``union_server`` starts ``union serve`` without auth on local disk (a plain deployment to point at).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from union.testing.deployment import RunningServer, serve

ISOLATED_PREFIXES = ("UNION_", "FLYTE_", "FLYTECTL_")


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point this process at an empty home and forget every cached configuration."""
    for name in list(os.environ):
        if name.startswith(ISOLATED_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("UNION_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("UNION_CACHE_DIR", str(home / "cache"))
    monkeypatch.chdir(home)
    reset_singletons()


def reset_singletons() -> None:
    import union.config
    import union.plugins
    from union.remote import _client

    union.config.reset()
    union.plugins.reset()
    _client.reset()


@pytest.fixture
def union_isolated(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    isolate(monkeypatch, home)
    yield home
    reset_singletons()


@pytest.fixture
def union_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(tmp_path_factory.mktemp("serve")) as server:
        yield server


__all__ = ["union_isolated", "union_server"]
