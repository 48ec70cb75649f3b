"""A :class:`union.types.FileHandler` over union.storage: how ``Path`` values travel to and from tasks.

Outgoing paths are uploaded with ``upload_file``/``upload_dir`` (content-addressed, so a path sent twice
is stored once). Incoming ones are copied into a local folder while being hashed: a tree is checked file
by file against the manifest ``upload_dir`` wrote, and a file stored at ``<md5>/<name>`` against its md5,
so a damaged object never reaches a task or a caller as if it were intact.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from union.errors import IntegrityError, StorageError, UploadError

if TYPE_CHECKING:
    from union.config import Config

CHUNK = 1 << 20


class StorageFiles:
    """Uploads through the configured raw-data prefix.

    Downloads land in ``downloads``, one fresh folder per value (a worker's private scratch space); without
    it, in a cache under the user's cache directory keyed by URI, where a finished download is reused
    (stored objects are immutable: their URIs are content addresses).
    """

    def __init__(self, config: Config | None = None, downloads: Path | None = None) -> None:
        from union.config import current

        self.config = config or current()
        self.downloads = Path(downloads) if downloads is not None else None
        self._ids = itertools.count()

    def upload_file(self, path: Path) -> str:
        from union.storage.upload import upload_file

        return upload_file(path, config=self.config)[1]

    def upload_dir(self, path: Path) -> str:
        from union.storage.upload import upload_dir

        return upload_dir(path, config=self.config)[1]

    def download_file(self, uri: str) -> Path:
        fs, path = self._fs(uri)
        target = self._target(uri, path)
        if self.downloads is None and target.is_file():
            return target
        parts = path.rstrip("/").rsplit("/", 2)
        expected = parts[-2] if len(parts) >= 2 and _is_md5(parts[-2]) else None
        staging = self._staging(target)
        _copy_checked(fs, path, staging, uri, expected_md5=expected)
        os.replace(staging, target)
        return target

    def download_dir(self, uri: str, target: Path | None = None) -> Path:
        """Fetch a tree; with ``target`` given it lands exactly there (the folder must not exist yet)."""
        fs, tree = self._fs(uri)
        tree = tree.rstrip("/")
        if target is None:
            target = self._target(uri, tree)
            if self.downloads is None and target.is_dir():
                return target
        staging = self._staging(target)
        staging.mkdir(parents=True)
        self._fetch_tree(fs, uri, tree, staging)
        os.replace(staging, target)
        return target

    def _fetch_tree(self, fs: Any, uri: str, tree: str, into: Path) -> None:
        from union.storage.upload import read_manifest

        try:
            manifest = read_manifest(uri, config=self.config)
        except UploadError:
            manifest = None
        if manifest is None:  # not written by upload_dir: take what is there, unverified
            try:
                fs.get(tree + "/", str(into) + "/", recursive=True)
            except FileNotFoundError:
                raise StorageError(f"{uri}: no such directory in storage. Upload it again.") from None
            return
        for entry in manifest.files:
            local = into / entry.path
            local.parent.mkdir(parents=True, exist_ok=True)
            _copy_checked(fs, f"{tree}/{entry.path}", local, f"{uri}/{entry.path}", entry.md5, entry.size)
        for empty in manifest.empty_dirs:
            (into / empty).mkdir(parents=True, exist_ok=True)

    def _fs(self, uri: str) -> tuple[Any, str]:
        from union.storage.protocols import filesystem_for

        fs, _, path = filesystem_for(uri, self.config.storage_options)
        return fs, path

    def _target(self, uri: str, path: str) -> Path:
        name = path.rstrip("/").rsplit("/", 1)[-1] or "data"
        if self.downloads is not None:
            folder = self.downloads / str(next(self._ids))
        else:
            from union.config import paths

            folder = paths.cache_dir() / "downloads" / hashlib.sha256(uri.encode()).hexdigest()[:32]
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    @staticmethod
    def _staging(target: Path) -> Path:
        """A sibling name to download into, so a half-fetched value is never at its final path."""
        staging = target.with_name(f".{target.name}.{os.getpid()}.part")
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        elif staging.exists():
            staging.unlink()
        return staging


def _is_md5(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def _copy_checked(
    fs: Any, source: str, target: Path, uri: str, expected_md5: str | None = None, size: int | None = None
) -> None:
    """Copy one object to a local file, hashing as it goes; a mismatch removes the file and raises."""
    md5 = hashlib.md5(usedforsecurity=False)
    written = 0
    try:
        with fs.open(source, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(CHUNK):
                md5.update(chunk)
                dst.write(chunk)
                written += len(chunk)
    except FileNotFoundError:
        raise StorageError(f"{uri}: not found in storage. It was deleted or never fully uploaded.") from None
    problem = None
    if size is not None and written != size:
        problem = f"{written} bytes, the manifest says {size}"
    elif expected_md5 is not None and md5.hexdigest() != expected_md5:
        problem = f"md5 {md5.hexdigest()}, expected {expected_md5}"
    if problem:
        os.unlink(target)
        raise IntegrityError(f"{uri}: the stored object is damaged ({problem}). Upload it again.")
