"""A file edited in place at the same size: the size check cannot see it, so the MD5 checks must.

Two cases. An edit that moves the mtime must miss the hash cache, so a re-upload gives the new content's
MD5 and URI. An edit the stat cannot see (same size, same inode, the mtime put back, as on a file system
with coarse timestamps) makes the cache answer the old MD5; the copy must then notice that the bytes it
sends no longer hash to that MD5 and refuse, rather than store new bytes under the old content's address.
Last, the same promise from the store's side: bytes a store kept wrong are refused and removed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import fsspec
import pytest

import union
from union.errors import SourceChangedError
from union.remote import upload_dir, upload_file
from union.storage import transfer
from union.storage.upload import read_manifest


def _prefix(backend: str, tmp_path: Path, name: str) -> str:
    if backend == "local":
        return (tmp_path / name).as_uri()
    return f"memory://same-size-{os.getpid()}/{name}"


@pytest.fixture(autouse=True)
def _clear_memory_store():
    fsspec.filesystem("memory").store.clear()
    yield
    fsspec.filesystem("memory").store.clear()


def _edit_in_place(path: Path, *, keep_mtime: bool) -> bytes:
    """Overwrite the file's first bytes without changing its size or inode; returns the new content."""
    before = path.stat()
    with open(path, "r+b") as f:
        head = f.read(16)
        f.seek(0)
        f.write(bytes(b ^ 0xFF for b in head))
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        # An explicit step, so a file system with coarse timestamps cannot leave the mtime unchanged.
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 2_000_000_000))
    after = path.stat()
    assert (after.st_size, after.st_ino) == (before.st_size, before.st_ino)
    return path.read_bytes()


def _stored(uri: str) -> bytes:
    data: bytes = fsspec.filesystem(uri.split("://")[0]).cat_file(uri)
    return data


# Small files go through read_checked (remote) or copy_local (local); a large remote file is streamed.
SIZES = [pytest.param(4096, id="small"), pytest.param(transfer.SINGLE_PUT_MAX + 4096, id="large")]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("backend", ["local", "memory"])
def test_upload_file_after_a_same_size_edit_gives_the_new_md5_and_uri(tmp_path, backend, size):
    union.init(raw_data_prefix=_prefix(backend, tmp_path, "store"))
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(size))
    old_md5, old_uri = upload_file(src)

    new = _edit_in_place(src, keep_mtime=False)
    md5, uri = upload_file(src)

    assert md5 == hashlib.md5(new).hexdigest() != old_md5
    assert uri != old_uri
    assert _stored(uri) == new


@pytest.mark.parametrize("backend", ["local", "memory"])
def test_upload_dir_after_a_same_size_edit_gives_the_new_tree(tmp_path, backend):
    union.init(raw_data_prefix=_prefix(backend, tmp_path, "store"))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.bin").write_bytes(os.urandom(4096))
    (tree / "b.txt").write_bytes(b"unchanged")
    first, _ = upload_dir(tree)

    new = _edit_in_place(tree / "a.bin", keep_mtime=False)
    second, uri = upload_dir(tree)

    assert second != first
    md5s = {e.path: e.md5 for e in read_manifest(uri).files}
    assert md5s["a.bin"] == hashlib.md5(new).hexdigest()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("backend", ["local", "memory"])
def test_an_edit_the_stat_cannot_see_is_refused_not_stored_under_the_old_md5(tmp_path, backend, size):
    """The cache still answers the old MD5 (nothing it keys on changed); the copy's own MD5 must refuse."""
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(size))
    union.init(raw_data_prefix=_prefix(backend, tmp_path, "first"))
    old_md5, _ = upload_file(src)  # the hash cache now knows this file's stat

    _edit_in_place(src, keep_mtime=True)
    union.init(raw_data_prefix=_prefix(backend, tmp_path, "second"))  # nothing stored here yet
    with pytest.raises(SourceChangedError, match="no longer matches the hash"):
        upload_file(src)

    fs = fsspec.filesystem("file" if backend == "local" else "memory")
    root = str(tmp_path / "second") if backend == "local" else f"/same-size-{os.getpid()}/second"
    stored = [p for p in fs.find(root) if f"/{transfer.STAGING}/" not in p] if fs.exists(root) else []
    assert not [p for p in stored if old_md5 in p], stored


@pytest.mark.parametrize("size", SIZES)
def test_bytes_the_store_kept_wrong_are_an_error_and_removed(tmp_path, monkeypatch, size):
    """A store that keeps other bytes than were sent (here: one short) and does not check them itself:
    the upload's own check of the stored object refuses it and deletes it from its content address."""
    from fsspec.implementations.memory import MemoryFile, MemoryFileSystem

    from union.errors import IntegrityError

    real_pipe = MemoryFileSystem.pipe_file

    def short_pipe(self: MemoryFileSystem, path: str, value: bytes, *args: Any, **kwargs: Any) -> None:
        real_pipe(self, path, value[:-1], *args, **kwargs)

    def short_close(self: MemoryFile) -> None:
        if self.seek(0, os.SEEK_END):
            self.truncate(self.tell() - 1)

    monkeypatch.setattr(MemoryFile, "close", short_close)  # streamed (multipart-like) writes
    monkeypatch.setattr(MemoryFileSystem, "pipe_file", short_pipe)  # single-request puts
    union.init(raw_data_prefix=_prefix("memory", tmp_path, "store"))
    src = tmp_path / "data.bin"
    data = os.urandom(size)
    src.write_bytes(data)
    with pytest.raises(IntegrityError, match="bytes but"):
        upload_file(src)
    assert fsspec.filesystem("memory").find(f"/same-size-{os.getpid()}") == []
