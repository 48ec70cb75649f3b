"""Listing a local tree for upload, with the symlink policy applied.

Symlinks are followed only when their target lies inside the uploaded root (unless the caller allows
outside targets); a link back to a directory already on the current path is a loop.
"""

from __future__ import annotations

import fnmatch
import os
import stat as statmod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from union.errors import (
    SpecialFileError,
    SymlinkEscapeError,
    SymlinkLoopError,
    UnreadableFileError,
    UploadPathNotFoundError,
)
from union.storage.hashcache import FileKey


@dataclass(frozen=True)
class LocalFile:
    """One regular file to upload: where it is read from and where it lands (``relpath``)."""

    relpath: str
    path: str
    size: int
    mtime_ns: int
    inode: int

    @property
    def key(self) -> FileKey:
        return FileKey(self.path, self.size, self.mtime_ns, self.inode)

    @classmethod
    def from_stat(cls, relpath: str, path: str, st: os.stat_result) -> LocalFile:
        return cls(relpath, path, st.st_size, st.st_mtime_ns, st.st_ino)


_SPECIAL_KINDS = (
    (statmod.S_ISFIFO, "fifo"),
    (statmod.S_ISSOCK, "socket"),
    (statmod.S_ISCHR, "character device"),
    (statmod.S_ISBLK, "block device"),
)


def special_kind(mode: int) -> str | None:
    """What a non-regular, non-directory file is (``"fifo"``, ``"socket"``...), or None for those two."""
    if statmod.S_ISREG(mode) or statmod.S_ISDIR(mode):
        return None
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            return kind
    return "special file"


def special_file_error(what: str, path: str, kind: str, fix: str) -> SpecialFileError:
    """The error for a FIFO, socket or device met by an upload: opening one could block forever."""
    return SpecialFileError(
        f"{what}: {path} is a {kind}, not a regular file: its contents cannot be uploaded. {fix}",
        path=path,
        kind=kind,
    )


def _inside(root_real: str, target: str) -> bool:
    return target == root_real or target.startswith(root_real.rstrip(os.sep) + os.sep)


def excluded(name: str, relpath: str, patterns: Sequence[str]) -> bool:
    """True when a glob pattern matches the entry's name or its path relative to the root."""
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(relpath, p) for p in patterns)


def walk(
    root: Path, *, allow_outside_symlinks: bool = False, exclude: Sequence[str] = ()
) -> tuple[list[LocalFile], list[str]]:
    """Regular files under ``root`` (sorted by relpath) and the relpaths of empty directories.

    Entries matching an ``exclude`` glob (on their name or relative path) are skipped with all they hold.
    """
    root_abs = os.path.abspath(root)
    root_real = os.path.realpath(root_abs)
    root_st = os.stat(root_abs)
    files: list[LocalFile] = []
    empty_dirs: list[str] = []
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [
        (root_abs, "", frozenset({(root_st.st_dev, root_st.st_ino)}))
    ]
    while stack:
        dir_path, rel_prefix, ancestors = stack.pop()
        try:
            with os.scandir(dir_path) as it:
                entries = list(it)  # order does not matter: the result is sorted once at the end
        except PermissionError as exc:
            raise UnreadableFileError(
                f"cannot list directory {dir_path}: permission denied. "
                "Fix its permissions or leave it out of the upload."
            ) from exc
        if not entries and rel_prefix:
            empty_dirs.append(rel_prefix.rstrip("/"))
        for entry in entries:
            rel = rel_prefix + entry.name
            if exclude and excluded(entry.name, rel, exclude):
                continue
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not os.path.exists(target):
                    raise UploadPathNotFoundError(
                        f"symlink {entry.path} points to {target}, which does not exist. "
                        "Fix or remove the link."
                    )
                if not allow_outside_symlinks and not _inside(root_real, target):
                    raise SymlinkEscapeError(
                        f"symlink {entry.path} points to {target}, outside the uploaded directory "
                        f"{root_abs}. Copy the target into the directory, or pass "
                        "allow_outside_symlinks=True to follow it."
                    )
                st = os.stat(entry.path)
            else:
                st = entry.stat(follow_symlinks=False)
            if statmod.S_ISDIR(st.st_mode):
                ident = (st.st_dev, st.st_ino)
                if ident in ancestors:
                    raise SymlinkLoopError(
                        f"symlink {entry.path} leads back to a directory it is inside of (a loop). "
                        "Remove the link or point it elsewhere."
                    )
                stack.append((entry.path, rel + "/", ancestors | {ident}))
            elif statmod.S_ISREG(st.st_mode):
                files.append(LocalFile.from_stat(rel, entry.path, st))
            else:
                raise special_file_error(
                    "upload_dir",
                    entry.path,
                    special_kind(st.st_mode) or "special file",
                    f"Leave it out with exclude=[{rel!r}] (or a glob matching it).",
                )
    files.sort(key=lambda f: f.relpath)
    empty_dirs.sort()
    return files, empty_dirs
