"""The host side of the hooks: loads plugins once and calls them.

Loading order: the built-in defaults first (marked ``trylast``), then every entry point in the ``union``
group. pluggy calls the most recently registered implementation first, so installed plugins win.

Environment switches:

- ``UNION_DISABLE_PLUGINS=a,b`` never loads the named entry points;
- ``UNION_PLUGINS=a,b`` loads only the named entry points (the built-ins always load).

A name in either that no installed plugin has is an UnknownPluginError listing the installed ones: a typo
would otherwise load (or keep) plugins the user meant to exclude (or include).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from union.errors import PluginError, UnionError, UnknownPluginError
from union.plugins import hookspecs

ENTRY_POINT_GROUP = "union"
BUILTIN_NAME = "union.builtin"
DISABLE_ENV = "UNION_DISABLE_PLUGINS"
ALLOW_ENV = "UNION_PLUGINS"


@dataclass(frozen=True)
class PluginInfo:
    """What ``union plugins`` shows about one loaded plugin."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...] = field(default_factory=tuple)


_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
_infos: dict[str, tuple[str, str]] = {}


def _names_from_env(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None or not raw.strip():
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _guard(plugin_name: str, hook_name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a third-party hook implementation so its crashes name the plugin."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except UnionError:
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin {plugin_name!r} failed in hook {hook_name}: {type(exc).__name__}: {exc}. "
                f"Fix or upgrade the plugin, or skip it with {DISABLE_ENV}={plugin_name}."
            ) from exc

    return guarded


def _register_entry_point(pm: pluggy.PluginManager, ep: importlib.metadata.EntryPoint) -> None:
    try:
        plugin = ep.load()
    except Exception as exc:
        raise PluginError(
            f"plugin {ep.name!r} (entry point {ep.value!r}) failed to import: "
            f"{type(exc).__name__}: {exc}. Fix or uninstall it, or skip it with {DISABLE_ENV}={ep.name}."
        ) from exc
    try:
        pm.register(plugin, name=ep.name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(name=ep.name)
        raise PluginError(
            f"plugin {ep.name!r} is not a valid union plugin: {exc}. "
            f"Fix or uninstall it, or skip it with {DISABLE_ENV}={ep.name}."
        ) from exc
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                # HookImpl.function is declared Final, but swapping in a guarded wrapper is the one
                # way to attribute a crash to its plugin without re-implementing pluggy's call loop.
                setattr(impl, "function", _guard(ep.name, caller.name, impl.function))  # noqa: B010
    dist = ep.dist
    _infos[ep.name] = (dist.name if dist else "?", dist.version if dist else "?")


def _check_names(var: str, names: set[str], installed: list[str]) -> None:
    """Refuse a plugin switch that names no installed plugin (the built-ins count as installed)."""
    from union.config.settings import suggest

    known = [*sorted(set(installed)), BUILTIN_NAME]
    unknown = sorted(names - set(known))
    if unknown:
        raise UnknownPluginError(
            f"${var} names {unknown[0]!r}, which is not an installed plugin.{suggest(unknown[0], known)} "
            f"Installed plugins: {', '.join(known)}. Correct the name, or remove it from ${var}."
        )


def _build() -> pluggy.PluginManager:
    from union import __version__
    from union.plugins import builtin

    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin, name=BUILTIN_NAME)
    _infos[BUILTIN_NAME] = ("union", __version__)
    blocked = _names_from_env(DISABLE_ENV) or set()
    allowed = _names_from_env(ALLOW_ENV)
    entry_points = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    _check_names(DISABLE_ENV, blocked, [ep.name for ep in entry_points])
    _check_names(ALLOW_ENV, allowed or set(), [ep.name for ep in entry_points])
    for ep in entry_points:
        if ep.name in blocked or (allowed is not None and ep.name not in allowed):
            continue
        if pm.has_plugin(ep.name):
            continue
        _register_entry_point(pm, ep)
    return pm


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                _manager = _build()
    return _manager


def reset() -> None:
    """Forget loaded plugins so the next call reloads them (tests, or after changing the env switches)."""
    global _manager
    with _lock:
        _manager = None
        _infos.clear()


def hook() -> Any:
    """The hook relay: ``hook().union_x(config=...)``."""
    return get_plugin_manager().hook


def register(plugin: object, name: str | None = None) -> None:
    """Register an in-process plugin object (a module or instance with hookimpls)."""
    pm = get_plugin_manager()
    pm.register(plugin, name=name)
    pm.check_pending()
    plugin_name = pm.get_name(plugin) or repr(plugin)
    _infos.setdefault(plugin_name, (getattr(plugin, "__name__", type(plugin).__name__), "-"))


def unregister(name: str) -> None:
    get_plugin_manager().unregister(name=name)
    _infos.pop(name, None)


def plugin_infos() -> list[PluginInfo]:
    """Loaded plugins with their distributions, versions and implemented hooks, built-ins last."""
    pm = get_plugin_manager()
    infos: list[PluginInfo] = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted({caller.name for caller in pm.get_hookcallers(plugin) or []})
        dist, version = _infos.get(name, ("?", "?"))
        infos.append(PluginInfo(name=name, distribution=dist, version=version, hooks=tuple(hooks)))
    infos.sort(key=lambda info: (info.name == BUILTIN_NAME, info.name))
    return infos
