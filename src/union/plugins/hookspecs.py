"""Every hook a ``union`` plugin can implement.

Hooks are called with keyword arguments only (pluggy enforces it). A plugin implements them with ``@union.plugins.hookimpl``
and registers itself through the ``union`` entry-point group. The built-in defaults
(:mod:`union.plugins.builtin`) run last, so any installed plugin can override them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import requests

    from union.auth.base import Authenticator, MetadataFn
    from union.config import Config
    from union.plugins.variants import Variant
    from union.storage.destination import UploadDestination
    from union.storage.protocols import StorageProtocol
    from union.transport.base import Transport

PROJECT_NAME = "union"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def union_storage_protocols() -> list[StorageProtocol]:
    """Declare URI protocols this plugin provides as fsspec filesystems (lazy class paths)."""
    raise NotImplementedError


@hookspec(firstresult=True)
def union_upload_destination(config: Config, transport: Transport) -> UploadDestination | None:
    """Return where uploads for this configuration go (``transport`` mints signed URLs), or None."""
    raise NotImplementedError


@hookspec
def union_config_defaults(config: Config) -> dict[str, object] | None:
    """Return defaults for settings the user left unset (lowest precedence), or None."""
    raise NotImplementedError


@hookspec(firstresult=True)
def union_transport(config: Config) -> Transport | None:
    """Return the control-plane transport for this configuration, or None to leave it to others."""
    raise NotImplementedError


@hookspec
def union_variants() -> list[Variant]:
    """Declare the deployment variants this plugin supports (name, endpoints, defaults, auth, storage)."""
    raise NotImplementedError


@hookspec(firstresult=True)
def union_authenticator(
    config: Config, metadata: MetadataFn | None, session: requests.Session | None
) -> Authenticator | None:
    """Return the requests auth sending credentials for this configuration, or None to leave it to others."""
    raise NotImplementedError
