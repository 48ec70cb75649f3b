"""The embedded local control plane: SQLite state and worker processes, no server, no network.

``EmbeddedTransport`` (union.engine.transport) implements union.transport.Transport and is the default
transport when no endpoint is configured. Importing this package is cheap: SQLite and protobuf load with
the modules that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from union.engine.transport import EmbeddedTransport

__all__ = ["EmbeddedTransport"]


def __getattr__(name: str) -> Any:
    if name == "EmbeddedTransport":
        from union.engine.transport import EmbeddedTransport

        return EmbeddedTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
