from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flyteidl2.core import literals_pb2, types_pb2
from types_models import WithPath

from union.types import (
    DirPath,
    FileHandler,
    FilePath,
    TypeMismatchError,
    from_literal,
    to_literal,
)
from union.types._msgpack import unpackb

SINGLE = types_pb2.BlobType.BlobDimensionality.SINGLE
MULTIPART = types_pb2.BlobType.BlobDimensionality.MULTIPART


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00payload\xff")
    return path


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("ünï")
    return root


def test_fake_handler_satisfies_the_protocol(files: Any) -> None:
    assert isinstance(files, FileHandler)


def test_file_becomes_single_blob_and_comes_back(files: Any, sample_file: Path) -> None:
    lit = to_literal(sample_file, Path, files=files)
    assert lit.scalar.blob.metadata.type.dimensionality == SINGLE
    assert lit.scalar.blob.uri.startswith("fake://bucket/")
    assert files.calls == [("upload_file", str(sample_file))]

    back = from_literal(literals_pb2.Literal.FromString(lit.SerializeToString()), Path, files=files)
    assert isinstance(back, Path)
    assert back != sample_file
    assert back.read_bytes() == b"\x00payload\xff"
    assert files.calls[-1] == ("download_file", lit.scalar.blob.uri)


def test_directory_becomes_multipart_blob_and_comes_back(files: Any, sample_dir: Path) -> None:
    lit = to_literal(sample_dir, Path, files=files)
    assert lit.scalar.blob.metadata.type.dimensionality == MULTIPART
    back = from_literal(lit, Path, files=files)
    assert sorted(p.relative_to(back).as_posix() for p in back.rglob("*")) == ["a.txt", "sub", "sub/b.txt"]
    assert (back / "sub" / "b.txt").read_text() == "ünï"
    assert [c[0] for c in files.calls] == ["upload_dir", "download_dir"]


def test_pinned_kinds(files: Any, sample_file: Path, sample_dir: Path) -> None:
    assert from_literal(to_literal(sample_file, FilePath, files=files), FilePath, files=files).is_file()
    assert from_literal(to_literal(sample_dir, DirPath, files=files), DirPath, files=files).is_dir()
    with pytest.raises(TypeMismatchError, match="expected a file"):
        to_literal(sample_dir, FilePath, files=files)
    with pytest.raises(TypeMismatchError, match="expected a directory"):
        to_literal(sample_file, DirPath, files=files)
    with pytest.raises(TypeMismatchError, match="expected a directory"):
        from_literal(to_literal(sample_file, Path, files=files), DirPath, files=files)


def test_download_happens_only_when_converted(files: Any, sample_file: Path) -> None:
    lit = to_literal(sample_file, Path, files=files)
    assert [c[0] for c in files.calls] == ["upload_file"]
    from_literal(lit, Path, files=files)
    assert [c[0] for c in files.calls] == ["upload_file", "download_file"]


def test_paths_in_collections(files: Any, sample_file: Path, sample_dir: Path) -> None:
    value = {"f": [sample_file], "d": [sample_dir, sample_file]}
    back = from_literal(
        to_literal(value, dict[str, list[Path]], files=files), dict[str, list[Path]], files=files
    )
    assert back["f"][0].read_bytes() == sample_file.read_bytes()
    assert back["d"][0].is_dir()
    assert back["d"][1].is_file()


def test_optional_path(files: Any, sample_file: Path) -> None:
    assert from_literal(to_literal(None, Path | None, files=files), Path | None, files=files) is None
    back = from_literal(to_literal(sample_file, Path | None, files=files), Path | None, files=files)
    assert back.read_bytes() == sample_file.read_bytes()


def test_paths_inside_dataclasses(files: Any, sample_file: Path, sample_dir: Path) -> None:
    lit = to_literal(WithPath("x", sample_file, sample_dir), WithPath, files=files)
    plain = unpackb(lit.scalar.binary.value)
    assert plain["data"]["path"].startswith("fake://bucket/")
    assert plain["data"]["name"] == "data.bin"
    assert plain["data"]["dimensionality"] == "SINGLE"
    assert plain["extra"]["dimensionality"] == "MULTIPART"
    back = from_literal(lit, WithPath, files=files)
    assert back.label == "x"
    assert back.data.read_bytes() == sample_file.read_bytes()
    assert (back.extra / "a.txt").read_text() == "a"


def test_flyte2_style_file_reference_in_dataclass(files: Any, sample_file: Path) -> None:
    # Flyte 2's File model dumps {"path", "name", "format", "hash"} with no dimensionality.
    uri = files.upload_file(sample_file)
    from union.types._msgpack import packb

    payload = packb({"label": "y", "data": {"path": uri, "name": "data.bin", "format": "", "hash": None}})
    lit = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=payload, tag="msgpack"))
    )
    back = from_literal(lit, WithPath, files=files)
    assert back.data.read_bytes() == sample_file.read_bytes()
    assert back.extra is None


def test_path_literal_rejects_other_literals(files: Any) -> None:
    with pytest.raises(TypeMismatchError, match="a literal for pathlib.Path"):
        from_literal(to_literal("not a blob", str), Path, files=files)
