"""A ``union.types.FileHandler`` over union.storage, for Path inputs sent and Path outputs fetched here.

Uploads are content-addressed (``upload_file``/``upload_dir``); a ``file://`` URI is used in place, other
URIs are downloaded once into the cache directory under a name derived from the URI.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from union.config import Config


class StorageFiles:
    """Moves task inputs and outputs between this machine and the configured object store."""

    def __init__(self, config: Config | None = None) -> None:
        from union.config import current

        self.config = config or current()

    def upload_file(self, path: Path) -> str:
        from union.storage.upload import upload_file

        return upload_file(path, config=self.config)[1]

    def upload_dir(self, path: Path) -> str:
        from union.storage.upload import upload_dir

        return upload_dir(path, config=self.config)[1]

    def _local(self, uri: str) -> Path | None:
        if uri.startswith("file://"):
            from urllib.parse import unquote, urlsplit

            return Path(unquote(urlsplit(uri).path))
        if "://" not in uri:
            return Path(uri)
        return None

    def _target(self, uri: str) -> Path:
        from union.config import paths

        key = hashlib.sha256(uri.encode()).hexdigest()[:32]
        name = uri.rstrip("/").rsplit("/", 1)[-1] or "data"
        return paths.cache_dir() / "downloads" / key / name

    def _fetch(self, uri: str, recursive: bool) -> Path:
        local = self._local(uri)
        if local is not None:
            return local
        target = self._target(uri)
        if target.exists():
            return target
        from union.storage.protocols import filesystem_for

        fs, _, path = filesystem_for(uri, self.config.storage_options)
        staging = target.with_name(f".{target.name}.{os.getpid()}.part")
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True) if staging.is_dir() else staging.unlink()
        staging.parent.mkdir(parents=True, exist_ok=True)
        if recursive:
            fs.get(path.rstrip("/") + "/", str(staging), recursive=True)
        else:
            fs.get(path, str(staging))
        os.replace(staging, target)
        return target

    def download_file(self, uri: str) -> Path:
        return self._fetch(uri, recursive=False)

    def download_dir(self, uri: str) -> Path:
        return self._fetch(uri, recursive=True)
