"""The plugin system: hookspecs, the manager that loads plugins, and the built-in defaults."""

from __future__ import annotations

import pluggy

from union.plugins.hookspecs import PROJECT_NAME
from union.plugins.manager import (
    PluginInfo,
    get_plugin_manager,
    hook,
    plugin_infos,
    register,
    reset,
    unregister,
)

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = [
    "PluginInfo",
    "get_plugin_manager",
    "hook",
    "hookimpl",
    "plugin_infos",
    "register",
    "reset",
    "unregister",
]
