"""The FileHandler over union.storage: uploads content-addressed, downloads checked against what was stored."""

from __future__ import annotations

from pathlib import Path

import pytest

import union.config
from union.errors import IntegrityError, StorageError
from union.storage.files import StorageFiles
from union.types import FileHandler


@pytest.fixture
def files(isolated_user: Path, tmp_path: Path) -> StorageFiles:
    return StorageFiles(union.config.current(), tmp_path / "downloads")


def _stored(uri: str) -> Path:
    assert uri.startswith("file://")
    return Path(uri.removeprefix("file://"))


def test_it_is_a_union_types_file_handler(files):
    assert isinstance(files, FileHandler)


def test_files_and_trees_round_trip(files, tmp_path):
    source = tmp_path / "one.txt"
    source.write_text("one")
    back = files.download_file(files.upload_file(source))
    assert back.name == "one.txt" and back.read_text() == "one" and back != source

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "empty").mkdir()
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("bb")
    fetched = files.download_dir(files.upload_dir(tree))
    assert (fetched / "a.txt").read_text() == "a" and (fetched / "sub" / "b.txt").read_text() == "bb"
    assert (fetched / "empty").is_dir()


def test_a_damaged_tree_is_refused_against_its_manifest(files, tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("original")
    uri = files.upload_dir(tree)
    (_stored(uri) / "a.txt").write_text("tampered")
    with pytest.raises(IntegrityError, match="a.txt"):
        files.download_dir(uri)


def test_a_damaged_file_is_refused_against_its_content_address(files, tmp_path):
    source = tmp_path / "one.txt"
    source.write_text("original")
    uri = files.upload_file(source)
    _stored(uri).write_text("tampered")
    with pytest.raises(IntegrityError, match="damaged"):
        files.download_file(uri)


def test_a_missing_object_is_a_storage_error(files, isolated_user):
    missing = (isolated_user / "data" / "store" / "nothing.txt").as_uri()
    with pytest.raises(StorageError, match="not found"):
        files.download_file(missing)


def test_without_a_downloads_folder_a_fetched_value_is_cached_by_uri(isolated_user, tmp_path):
    cached = StorageFiles(union.config.current())
    source = tmp_path / "value.txt"
    source.write_text("cached once")
    uri = cached.upload_file(source)
    first = cached.download_file(uri)
    assert first.read_text() == "cached once"
    assert first.is_relative_to(isolated_user / "cache" / "downloads")
    assert cached.download_file(uri) == first
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "x.txt").write_text("x")
    tree_uri = cached.upload_dir(tree)
    fetched = cached.download_dir(tree_uri)
    assert (fetched / "sub" / "x.txt").read_text() == "x"
    assert cached.download_dir(tree_uri) == fetched
