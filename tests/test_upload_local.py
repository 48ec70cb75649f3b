"""upload_file and upload_dir on the embedded default (local store) and the memory backend."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import fsspec
import pytest

import union
from union.config import resolve
from union.remote import upload_dir, upload_file
from union.storage import transfer
from union.storage.upload import read_manifest
from upload_cases import (
    Recorder,
    assert_tree_stored,
    make_tree,
    many_files,
    upload_dir_killed_after,
    upload_file_killed_midway,
)


@pytest.fixture(params=["local", "memory"])
def settings(request, tmp_path):
    if request.param == "local":
        return {"raw_data_prefix": (tmp_path / "store").as_uri()}
    fsspec.filesystem("memory").store.clear()
    return {"raw_data_prefix": f"memory://bucket-{os.getpid()}/data"}


def test_default_store_is_under_the_user_data_dir(isolated_user, tmp_path):
    src = tmp_path / "x.txt"
    src.write_bytes(b"hello")
    md5, uri = upload_file(src)
    assert md5 == hashlib.md5(b"hello").hexdigest()
    store = isolated_user / "data" / "store" / "default" / "development"
    assert uri == (store / md5 / "x.txt").as_uri()
    assert (store / md5 / "x.txt").read_bytes() == b"hello"


def test_upload_file_is_content_addressed_and_warm_sends_nothing(settings, tmp_path):
    config = union.init(**settings)
    data = os.urandom(3 << 20)
    a = tmp_path / "a" / "data.bin"
    b = tmp_path / "b" / "data.bin"
    for p in (a, b):
        p.parent.mkdir()
        p.write_bytes(data)
    md5, uri = upload_file(a)
    assert md5 == hashlib.md5(data).hexdigest()
    assert uri.endswith(f"/default/development/{md5}/data.bin")
    fs = fsspec.filesystem(uri.split("://")[0])
    assert fs.cat_file(uri) == data
    rec = Recorder()
    assert upload_file(a, progress=rec) == (md5, uri)
    assert rec.uploaded.files_skipped == 1
    # The same content under the same name from elsewhere lands in the same place.
    rec = Recorder()
    assert upload_file(b, progress=rec) == (md5, uri)
    if not settings["raw_data_prefix"].startswith("file:"):
        assert rec.uploaded.files_skipped == 1  # hashed locally, found remotely, not sent
    assert config is union.config.current()


def test_upload_empty_file(settings, tmp_path):
    union.init(**settings)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    md5, uri = upload_file(empty)
    assert md5 == hashlib.md5(b"").hexdigest()
    assert fsspec.filesystem(uri.split("://")[0]).cat_file(uri) == b""


def test_upload_dir_cold_warm_and_readback(settings, tmp_path):
    config = union.init(**settings)
    tree = make_tree(tmp_path / "tree", big=transfer.SINGLE_PUT_MAX + 12345)
    rec = Recorder()
    digest, uri = upload_dir(tree, progress=rec)
    assert uri.endswith(f"/default/development/{digest}")
    assert rec.uploaded.files_done == rec.uploaded.files_total == 6
    assert rec.last["done"].bytes_done == rec.last["done"].bytes_total
    assert_tree_stored(config, uri, tree)
    warm = Recorder()
    assert upload_dir(tree, progress=warm) == (digest, uri)
    assert warm.uploaded.files_skipped == 6
    assert "hashing" not in warm.last  # every hash came from the cache


def test_local_tree_is_an_ordinary_directory(tmp_path):
    union.init(raw_data_prefix=(tmp_path / "store").as_uri())
    tree = make_tree(tmp_path / "tree")
    _, uri = upload_dir(tree)
    stored = Path(uri.removeprefix("file://"))
    assert (stored / "empty dir").is_dir()
    assert (stored / "nested" / "ünïcødé name.txt").read_text() == "grüße, 世界\n"


def test_identical_trees_share_one_location_and_a_change_moves_it(settings, tmp_path):
    union.init(**settings)
    one = make_tree(tmp_path / "one")
    two = make_tree(tmp_path / "two")
    assert upload_dir(one) == upload_dir(two)
    (two / "a.txt").write_bytes(b"changed")
    assert upload_dir(one)[0] != upload_dir(two)[0]


def test_empty_directory(settings, tmp_path):
    config = union.init(**settings)
    empty = tmp_path / "nothing"
    empty.mkdir()
    digest, uri = upload_dir(empty)
    manifest = read_manifest(uri, config=config)
    assert manifest.files == () and manifest.empty_dirs == ()
    assert digest == manifest.digest


def test_resume_after_the_uploading_process_is_killed(settings, tmp_path):
    if settings["raw_data_prefix"].startswith("memory"):
        pytest.skip("a memory store does not outlive the killed process")
    config = union.init(**settings)
    tree = many_files(tmp_path / "tree", 30)
    upload_dir_killed_after(tree, settings, files=10)
    with pytest.raises(union.errors.UploadError, match="no manifest"):
        read_manifest(config.raw_data_prefix + "/default/development/" + "0" * 64, config=config)
    rec = Recorder()
    _, uri = upload_dir(tree, progress=rec)
    assert 10 <= rec.uploaded.files_skipped < 30
    assert_tree_stored(config, uri, tree)


def test_upload_file_killed_midway_leaves_nothing_visible(tmp_path):
    settings = {"raw_data_prefix": (tmp_path / "store").as_uri()}
    union.init(**settings)
    data = os.urandom(5 * transfer.CHUNK)
    src = tmp_path / "large.bin"
    src.write_bytes(data)
    upload_file_killed_midway(src, settings)
    store = tmp_path / "store" / "default" / "development"
    assert [p.name for p in store.iterdir()] == [transfer.STAGING]  # only the staging area
    assert len(list((store / transfer.STAGING).iterdir())) == 1  # the killed process's temporary file
    _, uri = upload_file(src)
    assert Path(uri.removeprefix("file://")).read_bytes() == data
    assert list((store / transfer.STAGING).iterdir()) == []  # swept: its process is gone


def test_symlinks_inside_the_root_are_followed(settings, tmp_path):
    config = union.init(**settings)
    tree = make_tree(tmp_path / "tree")
    (tree / "link.txt").symlink_to("a.txt")
    (tree / "linkdir").symlink_to("nested", target_is_directory=True)
    _, uri = upload_dir(tree)
    manifest = assert_tree_stored(config, uri, tree)
    assert "linkdir/deeper/b.csv" in [e.path for e in manifest.files]


def test_outside_symlink_allowed_explicitly(settings, tmp_path):
    config = union.init(**settings)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"from outside")
    tree = make_tree(tmp_path / "tree")
    (tree / "out").symlink_to(outside)
    _, uri = upload_dir(tree, allow_outside_symlinks=True)
    assert_tree_stored(config, uri, tree)


def test_upload_file_memory_stays_bounded(tmp_path):
    union.init(raw_data_prefix=(tmp_path / "store").as_uri())
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))
    tracemalloc.start()
    try:
        upload_file(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak Python allocations {peak} bytes for a 64 MiB file"


def test_parallel_uploads_respect_the_concurrency_setting(tmp_path, monkeypatch):
    import threading

    union.init(raw_data_prefix=(tmp_path / "store").as_uri(), upload_concurrency=3)
    tree = many_files(tmp_path / "tree", 40)
    active, peak, lock = 0, 0, threading.Lock()
    full = threading.Event()  # set once three copies run at the same time
    real = transfer.copy_local

    def counting(*args, **kwargs):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            if active == 3:
                full.set()
        try:
            # Hold every copy until three overlap, so the peak does not depend on scheduling; with fewer
            # workers this times out and the peak stays below three.
            if not full.wait(10):
                full.set()  # fewer than three workers: release the rest, the peak assertion fails
            return real(*args, **kwargs)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr("union.storage.local_tree.copy_local", counting)
    monkeypatch.setattr("union.storage.upload.BATCH_FILES", 1)
    upload_dir(tree)
    assert peak == 3


def test_config_passed_explicitly_wins(tmp_path):
    union.init(raw_data_prefix=(tmp_path / "one").as_uri())
    other = resolve(raw_data_prefix=(tmp_path / "two").as_uri(), project="p", domain="d")
    src = tmp_path / "f.txt"
    src.write_text("x")
    _, uri = upload_file(src, config=other)
    assert uri.startswith((tmp_path / "two" / "p" / "d").as_uri())


def test_exclude_patterns_leave_entries_out_of_the_tree_and_its_digest(tmp_path):
    config = union.init(raw_data_prefix=(tmp_path / "store").as_uri())
    tree = make_tree(tmp_path / "tree")
    patterns = ("__pycache__", "*.pyc", "nested/deeper")
    digest, uri = upload_dir(tree, exclude=patterns)
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"bytecode")
    (tree / "stray.pyc").write_bytes(b"more bytecode")
    assert upload_dir(tree, exclude=patterns) == (digest, uri)
    manifest = read_manifest(uri, config=config)
    paths = [e.path for e in manifest.files]
    assert "nested/deeper/b.csv" not in paths and "a.txt" in paths
    assert not any("pyc" in p for p in paths)
    assert upload_dir(tree)[0] != digest  # without the patterns, everything counts


def test_run_bounded_queues_the_next_item_as_soon_as_one_finishes() -> None:
    import threading
    import time

    from union.storage.upload import run_bounded

    # One slow item must not hold back the others: with 4 threads, 40 quick items finish while it runs.
    release = threading.Event()
    done: list[int] = []

    def work(i: int) -> None:
        if i == 0:
            release.wait(5)
        done.append(i)
        if len(done) == 40:
            release.set()

    started = time.monotonic()
    run_bounded(range(41), work, 4)
    assert time.monotonic() - started < 4
    assert sorted(done) == list(range(41)) and done[-1] == 0


def test_run_bounded_raises_the_first_error_and_starts_nothing_after_it() -> None:
    from union.storage.upload import run_bounded

    seen: list[int] = []

    def work(i: int) -> None:
        seen.append(i)
        if i == 3:
            raise ValueError("item 3")

    with pytest.raises(ValueError, match="item 3"):
        run_bounded(range(10_000), work, 4)
    assert len(seen) < 100  # at most the items already queued (twice the threads) ran after it
