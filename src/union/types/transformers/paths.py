"""pathlib.Path as a Flyte Blob: single-part for a file, multipart for a directory.

The caller's :class:`~union.types.files.FileHandler` moves the bytes; this module only decides which way
and builds the literal. A downloaded path is fetched when its literal is converted, not before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from union.types._pb import Blob, BlobMetadata, BlobType, Literal, LiteralType, Scalar
from union.types.errors import PathNotFoundError
from union.types.transformers.base import Ctx, JsonSchema, Transformer

__all__ = ["ANY", "DIR", "FILE", "PathKind", "PathTransformer"]


class PathKind:
    """Marker for ``Annotated[Path, ...]`` that pins a path to a file or a directory in the interface."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"PathKind({self.name!r})"


ANY = PathKind("any")
FILE = PathKind("file")
DIR = PathKind("dir")

SINGLE = BlobType.BlobDimensionality.SINGLE
MULTIPART = BlobType.BlobDimensionality.MULTIPART


class PathTransformer(Transformer):
    """A local path, uploaded on encode and downloaded on decode.

    An unpinned ``Path`` is typed as a single-part blob (files are the common case), yet a directory value
    still becomes a multipart literal; pin with ``DirPath`` so the interface itself says "directory".
    """

    def __init__(self, kind: PathKind) -> None:
        self.kind = kind
        self.tag = "Dir" if kind is DIR else "File"

    def describe(self) -> str:
        return {"any": "pathlib.Path", "file": "FilePath", "dir": "DirPath"}[self.kind.name]

    def literal_type(self) -> LiteralType:
        return LiteralType(blob=BlobType(format="", dimensionality=MULTIPART if self.kind is DIR else SINGLE))

    def matches_exactly(self, value: Any) -> bool:
        return isinstance(value, os.PathLike)

    def upload(self, value: Any, ctx: Ctx) -> tuple[str, bool]:
        """Upload a local path; returns the URI and whether it is a directory."""
        if not isinstance(value, os.PathLike):
            raise ctx.mismatch(self.describe(), value)
        path = Path(os.fspath(value))
        if not path.exists():
            raise PathNotFoundError(
                f"{ctx.where}: local path {str(path)!r} does not exist, so it cannot be sent"
            )
        is_dir = path.is_dir()
        if is_dir and self.kind is FILE:
            raise ctx.mismatch("a file (FilePath)", value)
        if not is_dir and self.kind is DIR:
            raise ctx.mismatch("a directory (DirPath)", value)
        files = ctx.require_files(f"uploading {str(path)!r}")
        uri = files.upload_dir(path) if is_dir else files.upload_file(path)
        return uri, is_dir

    def download(self, uri: str, is_dir: bool, ctx: Ctx) -> Path:
        if is_dir and self.kind is FILE:
            raise ctx.mismatch("a file (FilePath)", f"a directory at {uri}")
        if not is_dir and self.kind is DIR:
            raise ctx.mismatch("a directory (DirPath)", f"a file at {uri}")
        files = ctx.require_files(f"downloading {uri!r}")
        return files.download_dir(uri) if is_dir else files.download_file(uri)

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        uri, is_dir = self.upload(value, ctx)
        blob_type = BlobType(format="", dimensionality=MULTIPART if is_dir else SINGLE)
        return Literal(scalar=Scalar(blob=Blob(metadata=BlobMetadata(type=blob_type), uri=uri)))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        if not (lit.HasField("scalar") and lit.scalar.HasField("blob")):
            raise ctx.literal_mismatch(self.describe(), lit)
        blob = lit.scalar.blob
        return self.download(blob.uri, blob.metadata.type.dimensionality == MULTIPART, ctx)

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        # The field names of Flyte 2's File/Dir models, so its SDK can read the reference; the extra
        # "dimensionality" key (ignored by those models) tells us which way to download.
        uri, is_dir = self.upload(value, ctx)
        return {
            "path": uri,
            "name": Path(os.fspath(value)).name,
            "format": "",
            "hash": None,
            "dimensionality": "MULTIPART" if is_dir else "SINGLE",
        }

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        if isinstance(obj, str):
            return self.download(obj, self.kind is DIR, ctx)
        if not isinstance(obj, dict) or not isinstance(obj.get("path"), str):
            raise ctx.mismatch(f"{self.describe()} as a map with a 'path'", obj)
        dimensionality = obj.get("dimensionality")
        is_dir = dimensionality == "MULTIPART" if dimensionality is not None else self.kind is DIR
        return self.download(obj["path"], is_dir, ctx)

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        optional_str = {"anyOf": [{"type": "string"}, {"type": "null"}]}
        return {
            "type": "object",
            "title": "Dir" if self.kind is DIR else "File",
            "properties": {
                "path": {"type": "string"},
                "name": optional_str,
                "format": {"type": "string"},
                "hash": optional_str,
            },
            "required": ["path"],
        }
