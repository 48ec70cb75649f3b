"""Where uploads land: a filesystem, a root path inside it, and the protocol's integrity helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from union.storage.protocols import StorageProtocol, filesystem_for

if TYPE_CHECKING:
    from union.config import Config


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


def upload_destination(config: Config) -> UploadDestination:
    """Ask the plugins where uploads for ``config`` go."""
    from union.plugins import hook

    found = hook().union_upload_destination(config=config)
    if found is None:
        return destination_from_config(config)
    return found  # type: ignore[no-any-return]
