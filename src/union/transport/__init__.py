"""How Run and Task reach a control plane: the Transport protocol, and the hook that picks one."""

from __future__ import annotations

from union.transport.base import Transport, transport_for

__all__ = ["Transport", "transport_for"]
