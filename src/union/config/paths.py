"""Where the embedded default keeps its data and caches on this machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _base(env_var: str, xdg_var: str, xdg_default: str, mac_default: str) -> Path:
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get(xdg_var)
    if xdg:
        return Path(xdg).expanduser() / "union"
    if sys.platform == "darwin":
        return Path.home() / mac_default / "union"
    return Path.home() / xdg_default / "union"


def data_dir() -> Path:
    """Persistent data (the local store, the embedded control plane): ``$UNION_DATA_DIR`` overrides."""
    return _base("UNION_DATA_DIR", "XDG_DATA_HOME", ".local/share", "Library/Application Support")


def cache_dir() -> Path:
    """Disposable caches (file hashes): ``$UNION_CACHE_DIR`` overrides."""
    return _base("UNION_CACHE_DIR", "XDG_CACHE_HOME", ".cache", "Library/Caches")


def user_config_file() -> Path:
    return Path.home() / ".union" / "config.yaml"


def project_config_file() -> Path:
    return Path.cwd() / ".union" / "config.yaml"
