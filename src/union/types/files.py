"""How paths cross the wire: the caller supplies the transport, ``union.types`` only decides the literal.

Keeping uploads and downloads behind a small protocol means the type layer never touches storage
configuration, and tests can use a local fake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["FileHandler"]


@runtime_checkable
class FileHandler(Protocol):
    """Moves files between this machine and the object store that Flyte literals point at."""

    def upload_file(self, path: Path) -> str:
        """Upload one local file and return the URI the literal will carry."""
        ...

    def upload_dir(self, path: Path) -> str:
        """Upload a local directory tree and return the URI of its prefix."""
        ...

    def download_file(self, uri: str) -> Path:
        """Fetch the object at ``uri`` and return the local file holding it."""
        ...

    def download_dir(self, uri: str) -> Path:
        """Fetch every object under ``uri`` and return the local directory holding them."""
        ...
