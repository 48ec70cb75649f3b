"""A local stand-in for object storage, so path conversions are tested without any backend."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest


class FakeFiles:
    """Implements union.types.FileHandler over two local folders and records every call."""

    def __init__(self, root: Path) -> None:
        self.store = root / "store"
        self.local = root / "downloads"
        self.store.mkdir(parents=True)
        self.local.mkdir(parents=True)
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count()

    def _key(self, uri: str) -> Path:
        assert uri.startswith("fake://bucket/"), uri
        return self.store / uri.removeprefix("fake://bucket/")

    def upload_file(self, path: Path) -> str:
        assert path.is_file()
        key = f"{next(self._ids)}/{path.name}"
        (self.store / key).parent.mkdir(parents=True)
        shutil.copyfile(path, self.store / key)
        self.calls.append(("upload_file", str(path)))
        return f"fake://bucket/{key}"

    def upload_dir(self, path: Path) -> str:
        assert path.is_dir()
        key = f"{next(self._ids)}/{path.name}"
        shutil.copytree(path, self.store / key)
        self.calls.append(("upload_dir", str(path)))
        return f"fake://bucket/{key}"

    def download_file(self, uri: str) -> Path:
        source = self._key(uri)
        target = self.local / str(next(self._ids)) / source.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        self.calls.append(("download_file", uri))
        return target

    def download_dir(self, uri: str) -> Path:
        source = self._key(uri)
        target = self.local / str(next(self._ids)) / source.name
        shutil.copytree(source, target)
        self.calls.append(("download_dir", uri))
        return target


@pytest.fixture
def files(tmp_path: Path) -> FakeFiles:
    return FakeFiles(tmp_path / "fake")
