"""Shared fixtures: every test gets its own user directories and no inherited UNION_* settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_user(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fresh data, cache and home directories, and the plugin/config singletons reset around each test."""
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
    yield home
    union.config.reset()
    union.plugins.reset()
