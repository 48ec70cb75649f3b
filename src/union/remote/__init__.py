"""Remote entities that are accessible from the Union server once deployed or created.

Everything here loads on first use (``Run``, ``Task`` and ``LazyEntity`` pull in the transport layer;
uploads pull in fsspec), so ``import union.remote`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from union.remote._lazy import LazyEntity
    from union.remote._run import Run, RunError
    from union.remote._task import Task
    from union.remote._upload import upload_dir, upload_file

_WHERE = {
    "LazyEntity": "union.remote._lazy",
    "Run": "union.remote._run",
    "RunError": "union.remote._run",
    "Task": "union.remote._task",
    "upload_dir": "union.remote._upload",
    "upload_file": "union.remote._upload",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'union.remote' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = ["LazyEntity", "Run", "RunError", "Task", "upload_dir", "upload_file"]
