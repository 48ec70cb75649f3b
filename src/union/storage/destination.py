"""Where uploads land: a filesystem, a root path inside it, and the protocol's integrity helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from union.storage.protocols import StorageProtocol, filesystem_for

if TYPE_CHECKING:
    from union.config import Config
    from union.transport.base import Transport


@dataclass(frozen=True)
class UploadDestination:
    """Uploads go under ``root`` (a path inside ``fs``); URIs are formed with ``protocol.name``."""

    fs: Any
    root: str
    protocol: StorageProtocol

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def uri(self, path: str) -> str:
        unstripped = self.fs.unstrip_protocol(path)
        return str(unstripped)

    @property
    def is_local(self) -> bool:
        from fsspec.implementations.local import LocalFileSystem

        return isinstance(self.fs, LocalFileSystem)


def destination_from_config(config: Config) -> UploadDestination:
    """``<raw_data_prefix>/<project>/<domain>`` on the prefix's filesystem."""
    prefix = config.raw_data_prefix
    if not prefix:
        from union.errors import ConfigError

        raise ConfigError(
            "no raw-data prefix is configured. Set storage.raw_data_prefix in your config "
            "or UNION_RAW_DATA_PREFIX, e.g. s3://bucket/data."
        )
    fs, proto, root = filesystem_for(prefix, config.storage_options)
    parts = [root.rstrip("/")] + [p for p in (config.project, config.domain) if p]
    return UploadDestination(fs=fs, root="/".join(parts), protocol=proto)


def default_destination(config: Config, transport: Transport) -> UploadDestination:
    """The built-in choice: signed URLs through ``transport`` or the raw-data prefix directly, as
    :func:`union.storage.signed.storage_mode` decides."""
    from union.storage import signed

    if signed.storage_mode(config) == "signed":
        return signed.signed_destination(config, transport)
    return destination_from_config(config)


class LazyTransport:
    """The transport for a configuration, created on first use: most destinations never need one."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._found: Transport | None = None

    def _resolve(self) -> Transport:
        if self._found is None:
            # The process's cached transport for this configuration, shared with Run and Task.
            from union.remote._client import transport

            self._found = transport(self._config)
        return self._found

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._resolve(), name)

    def __repr__(self) -> str:
        return f"LazyTransport(resolved={self._found is not None})"


def upload_destination(config: Config, transport: Transport | None = None) -> UploadDestination:
    """Ask the plugins where uploads for ``config`` go; ``transport`` (default: the configuration's own,
    created only if a destination uses it) is what signed-URL destinations mint their URLs through."""
    from typing import cast

    from union.plugins import hook

    chosen = transport if transport is not None else cast("Transport", LazyTransport(config))
    found = hook().union_upload_destination(config=config, transport=chosen)
    if found is None:
        return default_destination(config, chosen)
    return found  # type: ignore[no-any-return]
