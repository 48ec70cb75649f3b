"""A :class:`union.types.FileHandler` over union.storage, for the engine's worker processes.

Outgoing paths are uploaded with ``upload_file``/``upload_dir`` (content-addressed, so a path sent twice
is stored once). Incoming ones are copied into a local folder while being hashed: a tree is checked file
by file against the manifest ``upload_dir`` wrote, and a file stored at ``<md5>/<name>`` against its md5,
so a damaged object never reaches the task as if it were intact.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path
from typing import Any

from union.config import Config
from union.errors import IntegrityError, StorageError, UploadError

CHUNK = 1 << 20


class StorageFiles:
    """Uploads through the configured raw-data prefix; downloads into ``downloads`` (one folder per value)."""

    def __init__(self, config: Config, downloads: Path) -> None:
        self.config = config
        self.downloads = Path(downloads)
        self._ids = itertools.count()

    def _fresh(self) -> Path:
        folder = self.downloads / str(next(self._ids))
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _fs(self, uri: str) -> tuple[Any, str]:
        from union.storage.protocols import filesystem_for

        fs, _, path = filesystem_for(uri, self.config.storage_options)
        return fs, path

    def upload_file(self, path: Path) -> str:
        from union.storage.upload import upload_file

        return upload_file(path, config=self.config)[1]

    def upload_dir(self, path: Path) -> str:
        from union.storage.upload import upload_dir

        return upload_dir(path, config=self.config)[1]

    def download_file(self, uri: str) -> Path:
        fs, path = self._fs(uri)
        name = path.rstrip("/").rsplit("/", 1)[-1] or "file"
        target = self._fresh() / name
        parent = path.rstrip("/").rsplit("/", 2)
        expected = parent[-2] if len(parent) >= 2 and _is_md5(parent[-2]) else None
        _copy_checked(fs, path, target, uri, expected_md5=expected)
        return target

    def download_dir(self, uri: str, target: Path | None = None) -> Path:
        """Fetch a tree; with ``target`` given it lands exactly there (the folder must not exist yet)."""
        from union.storage.upload import read_manifest

        fs, tree = self._fs(uri)
        tree = tree.rstrip("/")
        if target is None:
            target = self._fresh() / (tree.rsplit("/", 1)[-1] or "dir")
        target.mkdir(parents=True, exist_ok=True)
        try:
            manifest = read_manifest(uri, config=self.config)
        except UploadError:
            manifest = None
        if manifest is None:  # not written by upload_dir: take what is there, unverified
            try:
                fs.get(tree + "/", str(target) + "/", recursive=True)
            except FileNotFoundError:
                raise StorageError(f"{uri}: no such directory in storage. Upload it again.") from None
            return target
        for entry in manifest.files:
            local = target / entry.path
            local.parent.mkdir(parents=True, exist_ok=True)
            _copy_checked(fs, f"{tree}/{entry.path}", local, f"{uri}/{entry.path}", entry.md5, entry.size)
        for empty in manifest.empty_dirs:
            (target / empty).mkdir(parents=True, exist_ok=True)
        return target


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
