"""The manifest of an uploaded tree: its canonical bytes define the tree's digest.

It is written after every file, so its presence is what makes a tree visible: a reader that finds the
manifest finds every file it lists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from union.errors import IntegrityError

FORMAT = "union-manifest/1"
SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    md5: str
    size: int


@dataclass(frozen=True)
class Manifest:
    files: tuple[ManifestEntry, ...]
    empty_dirs: tuple[str, ...] = ()

    @classmethod
    def build(cls, files: Iterable[ManifestEntry], empty_dirs: Iterable[str] = ()) -> Manifest:
        return cls(tuple(sorted(files, key=lambda e: e.path)), tuple(sorted(empty_dirs)))

    def to_bytes(self) -> bytes:
        doc = {
            "format": FORMAT,
            "files": [[e.path, e.md5, e.size] for e in self.files],
            "empty_dirs": list(self.empty_dirs),
        }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @property
    def digest(self) -> str:
        """sha256 of the canonical bytes; distinct in length from a file's md5 so the two never meet."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.files)

    @classmethod
    def from_bytes(cls, data: bytes, *, expected_digest: str | None = None) -> Manifest:
        try:
            doc = json.loads(data)
            if doc.get("format") != FORMAT:
                raise ValueError(f"unknown format {doc.get('format')!r}")
            files = tuple(ManifestEntry(str(p), str(m), int(s)) for p, m, s in doc["files"])
            manifest = cls(files, tuple(str(d) for d in doc.get("empty_dirs", [])))
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"not a valid union manifest: {exc}. Upload the directory again.") from exc
        if expected_digest is not None and manifest.digest != expected_digest:
            raise IntegrityError(
                f"manifest digest {manifest.digest} does not match {expected_digest}. "
                "The stored tree is damaged: upload the directory again."
            )
        return manifest
