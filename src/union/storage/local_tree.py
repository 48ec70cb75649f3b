"""Cold uploads of a tree to a local store: copy once while hashing, then publish with one rename.

A tree's location is its digest, which is known only after every file is hashed. Rather than reading
everything twice (hash, then copy), files are copied into a staging tree while they are hashed, and the
staging tree is renamed to its digest at the end. A journal in the staging tree records each finished file
with the source's (size, mtime, inode), so an interrupted upload of the same directory resumes where it
stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from union.storage.destination import UploadDestination
from union.storage.transfer import STAGING, DirMaker, copy_local, staging_path, write_bytes_atomic
from union.storage.walk import LocalFile

JOURNAL = ".union-journal"


def _try_lock(path: str) -> IO[str] | None:
    """An exclusive, non-blocking lock held while the returned file stays open; None if taken."""
    try:
        import fcntl
    except ImportError:  # Windows: every upload stages privately, and so cannot resume
        return None
    lock = open(path, "a")  # noqa: SIM115 - held until the caller closes it
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    return lock


class StagingTree:
    """A staging directory for one source directory, locked so concurrent uploads don't share it."""

    def __init__(self, dest: UploadDestination, source_root: str) -> None:
        key = hashlib.sha256(os.fsencode(source_root)).hexdigest()[:24]
        self.path = dest.path(STAGING, f"tree-{key}")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._lock_file = _try_lock(self.path + ".lock")
        if self._lock_file is None:  # another process is uploading this directory: stage privately
            self.path = staging_path(dest)
        os.makedirs(self.path, exist_ok=True)
        self._journal_lock = threading.Lock()
        self.done = self._read_journal()
        self._journal = open(os.path.join(self.path, JOURNAL), "a", encoding="utf-8")  # noqa: SIM115

    def _read_journal(self) -> dict[str, tuple[bytes, int, int, int]]:
        done: dict[str, tuple[bytes, int, int, int]] = {}
        with contextlib.suppress(FileNotFoundError):
            for line in Path(self.path, JOURNAL).read_text(encoding="utf-8").splitlines():
                parts = line.split("\t")
                if len(parts) == 5:  # a torn last line from a killed process is ignored
                    rel, md5, size, mtime, inode = parts
                    with contextlib.suppress(ValueError):
                        done[rel] = (bytes.fromhex(md5), int(size), int(mtime), int(inode))
        return done

    def resumable(self, f: LocalFile) -> bytes | None:
        """The MD5 of ``f`` if an earlier attempt already staged this very version of it."""
        entry = self.done.get(f.relpath)
        if entry is None or entry[1:] != (f.size, f.mtime_ns, f.inode):
            return None
        try:
            if os.stat(os.path.join(self.path, f.relpath)).st_size != f.size:
                return None
        except FileNotFoundError:
            return None
        return entry[0]

    def record(self, f: LocalFile, md5: bytes) -> None:
        line = f"{f.relpath}\t{md5.hex()}\t{f.size}\t{f.mtime_ns}\t{f.inode}\n"
        with self._journal_lock:
            self._journal.write(line)
            self._journal.flush()

    def publish(
        self, dest: UploadDestination, tree: str, manifest_path: str, manifest: bytes, empty_dirs: list[str]
    ) -> None:
        """Rename the staged tree to its digest and write the manifest; drop it if already published."""
        self._journal.close()
        os.unlink(os.path.join(self.path, JOURNAL))
        if os.path.exists(manifest_path):
            shutil.rmtree(self.path, ignore_errors=True)
            return
        for d in empty_dirs:
            os.makedirs(os.path.join(self.path, d), exist_ok=True)
        if os.path.exists(tree):  # an incomplete tree from an interrupted in-place upload
            trash = staging_path(dest)
            os.rename(tree, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.rename(self.path, tree)
        write_bytes_atomic(dest, manifest_path, manifest)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._journal.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def stage(
    dest: UploadDestination,
    staging: StagingTree,
    files: list[LocalFile],
    known: list[bytes | None],
    run: Callable[[Iterator[list[int]], Callable[[list[int]], None]], None],
    batches: Callable[[Iterator[int]], Iterator[list[int]]],
    on_bytes: Callable[[int], None] | None,
    file_done: Callable[[int, bool], None],
) -> list[bytes]:
    """Copy every file into ``staging`` while hashing it; returns the MD5 of each file."""
    digests: list[bytes | None] = list(known)
    mkdirs = DirMaker()

    def todo() -> Iterator[int]:
        for i, f in enumerate(files):
            md5 = staging.resumable(f)
            if md5 is not None and (known[i] is None or known[i] == md5):
                digests[i] = md5
                file_done(f.size, True)
            else:
                yield i

    def copy(batch: list[int]) -> None:
        for i in batch:
            f = files[i]
            md5, _ = copy_local(
                dest,
                f,
                os.path.join(staging.path, f.relpath),
                expected_md5=known[i],
                on_bytes=on_bytes,
                direct=True,
                mkdirs=mkdirs,
            )
            digests[i] = md5
            staging.record(f, md5)
            file_done(f.size, False)

    run(batches(todo()), copy)
    return digests  # type: ignore[return-value]
