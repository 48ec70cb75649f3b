"""upload_file and upload_dir against real object-store servers the suite starts itself."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

import union
from union.config import Config
from union.errors import IntegrityError, StorageError
from union.remote import upload_dir, upload_file
from union.storage import transfer
from union.storage.protocols import filesystem_for
from upload_cases import (
    Recorder,
    assert_tree_stored,
    make_tree,
    many_files,
    upload_dir_killed_after,
    upload_file_killed_midway,
)


def settings_for(store, tmp_path) -> dict:
    # A fresh prefix per test keeps tests independent on a shared, session-wide server.
    return {
        "raw_data_prefix": f"{store.raw_data_prefix}/{uuid.uuid4().hex[:12]}",
        "storage_options": store.storage_options,
    }


def test_upload_file_cold_warm_and_readback(object_store, tmp_path):
    config = union.init(**settings_for(object_store, tmp_path))
    for name, data in [
        ("small.bin", os.urandom(100_000)),
        ("ünï cødé.txt", "grüße\n".encode()),
        ("empty", b""),
        ("big.bin", os.urandom(transfer.SINGLE_PUT_MAX + 1_234_567)),
    ]:
        src = tmp_path / name
        src.write_bytes(data)
        md5, uri = upload_file(src)
        assert md5 == hashlib.md5(data).hexdigest()
        fs, _, path = filesystem_for(uri, config.storage_options)
        assert path.endswith(f"/{md5}/{name}")
        assert fs.cat_file(path) == data, name
        rec = Recorder()
        assert upload_file(src, progress=rec) == (md5, uri)
        assert rec.uploaded.files_skipped == 1, name


def test_upload_dir_cold_warm_nested_and_readback(object_store, tmp_path):
    config = union.init(**settings_for(object_store, tmp_path))
    tree = make_tree(tmp_path / "tree", big=transfer.SINGLE_PUT_MAX + 77)
    cold = Recorder()
    digest, uri = upload_dir(tree, progress=cold)
    assert cold.uploaded.files_skipped == 0 and cold.uploaded.files_done == 6
    assert_tree_stored(config, uri, tree)
    warm = Recorder()
    assert upload_dir(tree, progress=warm) == (digest, uri)
    assert warm.uploaded.files_skipped == 6
    assert "hashing" not in warm.last


def test_upload_empty_dir(object_store, tmp_path):
    config = union.init(**settings_for(object_store, tmp_path))
    (tmp_path / "empty").mkdir()
    _, uri = upload_dir(tmp_path / "empty")
    assert_tree_stored(config, uri, tmp_path / "empty")


def test_resume_after_kill(object_store, tmp_path):
    settings = settings_for(object_store, tmp_path)
    config = union.init(**settings)
    tree = many_files(tmp_path / "tree", 24)
    upload_dir_killed_after(tree, settings, files=8)
    rec = Recorder()
    _, uri = upload_dir(tree, progress=rec)
    assert 8 <= rec.uploaded.files_skipped < 24
    assert_tree_stored(config, uri, tree)


def test_upload_file_killed_midway_leaves_nothing_visible(object_store, tmp_path):
    settings = settings_for(object_store, tmp_path)
    config = union.init(**settings)
    data = os.urandom(transfer.SINGLE_PUT_MAX + 3 * transfer.PART_SIZE)
    src = tmp_path / "large.bin"
    src.write_bytes(data)
    upload_file_killed_midway(src, settings)
    fs, _, root = filesystem_for(config.raw_data_prefix or "", config.storage_options)
    fs.invalidate_cache()
    target = f"{root}/default/development/{hashlib.md5(data).hexdigest()}/large.bin"
    assert not fs.exists(target)
    _, uri = upload_file(src)
    assert fs.cat_file(filesystem_for(uri, config.storage_options)[2]) == data


def corrupting_pipe(monkeypatch, config: Config) -> None:
    """Flip one byte of every object on its way to the server, leaving the checksum as computed."""
    fs, _, _ = filesystem_for(config.raw_data_prefix or "", config.storage_options)
    real = fs.pipe_file  # fsspec caches instances, so uploads use this very object

    def pipe_file(path, data, **kwargs):
        if data:
            data = bytes([data[0] ^ 0xFF]) + bytes(data[1:])
        return real(path, data, **kwargs)

    monkeypatch.setattr(fs, "pipe_file", pipe_file)


def test_bytes_damaged_in_flight_are_never_stored(object_store, tmp_path, monkeypatch):
    config = union.init(**settings_for(object_store, tmp_path))
    src = tmp_path / "payload.bin"
    src.write_bytes(os.urandom(50_000))
    corrupting_pipe(monkeypatch, config)
    with pytest.raises(StorageError) as info:
        upload_file(src)
    if object_store.verifies_checksums:
        # The server itself refused the bytes because of the checksum we sent.
        assert not isinstance(info.value, IntegrityError), info.value
    else:
        # The server stored what it got; our check of its reported checksum caught it.
        assert isinstance(info.value, IntegrityError), info.value
    monkeypatch.undo()
    fs, _, root = filesystem_for(config.raw_data_prefix or "", config.storage_options)
    fs.invalidate_cache()
    assert [p for p in fs.find(root) if p.endswith("payload.bin")] == []
