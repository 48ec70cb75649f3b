"""union: one Python API over every deployment of Union and Flyte.

``import union`` stays light: configuration, storage backends and the plugin system load on first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from union._version import __version__

if TYPE_CHECKING:
    from union._run import run
    from union._task import task
    from union.config import Config


def init(config_file: str | os.PathLike[str] | None = None, **settings: Any) -> Config:
    """Configure this process: ``union.init(endpoint=..., project=..., raw_data_prefix=...)``.

    Explicit arguments win over ``UNION_*`` variables, which win over the config file
    (``config_file``, ``$UNION_CONFIG``, ``./.union/config.yaml``, ``~/.union/config.yaml``),
    which wins over the variant's defaults.
    """
    from union.config import init as _init

    return _init(config_file, **settings)


def __getattr__(name: str) -> Any:
    """``union.task`` and ``union.run`` load on first use, so ``import union`` pulls in no protobuf."""
    if name == "task":
        from union._task import task

        return task
    if name == "run":
        from union._run import run

        return run
    raise AttributeError(f"module 'union' has no attribute {name!r}")


__all__ = ["__version__", "init", "run", "task"]
