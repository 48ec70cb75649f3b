"""Moving one file's bytes to a destination without ever leaving a wrong object visible.

- Local destinations: stream into a temporary name beside the store, hashing while writing, then rename
  into place (one read; a half-written file is never at its final path). Files of a tree are written
  straight to their place instead: the tree is invisible until its manifest exists, and a resumed upload
  re-checks whatever an interrupted one left there.
- Object stores: small files are sent in one request with the backend's own checksum (Content-MD5 or its
  equivalent) so the server rejects damaged bytes; large files are streamed in parts, hashed on the way,
  and discarded instead of committed if the bytes read differ from the expected digest.

Memory stays bounded by ``CHUNK`` (local) or the part size (object stores), whatever the file size.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

from union.errors import IntegrityError, SourceChangedError, UnreadableFileError, UploadPathNotFoundError
from union.storage.destination import UploadDestination
from union.storage.walk import LocalFile

CHUNK = 1 << 20
SINGLE_PUT_MAX = 8 << 20
PART_SIZE = 8 << 20
STAGING = ".union-tmp"
PIPELINE_MIN = 8 << 20  # files above this are hashed and written on two threads
PIPELINE_DEPTH = 4

OnBytes = Callable[[int], None]


def _open_source(src: LocalFile) -> Any:
    try:
        return open(src.path, "rb", buffering=0)
    except FileNotFoundError as exc:
        raise UploadPathNotFoundError(
            f"{src.path} disappeared before it was uploaded. Upload again once the directory is stable."
        ) from exc
    except PermissionError as exc:
        raise UnreadableFileError(
            f"cannot read {src.path}: permission denied. Fix its permissions or leave it out of the upload."
        ) from exc


def _changed(src: LocalFile, detail: str) -> SourceChangedError:
    return SourceChangedError(
        f"{src.path} changed while it was being uploaded ({detail}); nothing was "
        "published for it. Upload again once the file is no longer being written."
    )


def _check_unchanged(src: LocalFile, fd: int, read: int) -> None:
    st = os.fstat(fd)
    if read != src.size or st.st_size != src.size or st.st_mtime_ns != src.mtime_ns:
        raise _changed(src, f"expected {src.size} bytes, read {read}, now {st.st_size}")


_local = threading.local()


def _buffer() -> tuple[bytearray, memoryview]:
    """One reusable copy buffer per thread: allocating 1 MiB per small file costs more than reading it."""
    found: tuple[bytearray, memoryview] | None = getattr(_local, "buffer", None)
    if found is None:
        buf = bytearray(CHUNK)
        found = _local.buffer = (buf, memoryview(buf))
    return found


def hash_file(src: LocalFile, on_bytes: OnBytes | None = None) -> bytes:
    """MD5 of a file as it is now, refusing a file that changes while it is read."""
    md5 = hashlib.md5(usedforsecurity=False)
    read = 0
    with _open_source(src) as f:
        buf, view = _buffer()
        while n := f.readinto(buf):
            md5.update(view[:n])
            read += n
            if on_bytes:
                on_bytes(n)
        _check_unchanged(src, f.fileno(), read)
    return md5.digest()


_names = itertools.count()


def staging_path(dest: UploadDestination) -> str:
    return dest.path(STAGING, f"{os.getpid()}-{threading.get_ident()}-{next(_names)}")


STALE_TREE_SECONDS = 7 * 24 * 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_staging(dest: UploadDestination) -> None:
    """Remove what killed uploads left in the staging area: temporary files whose process is gone, and
    staged trees nobody resumed for a week."""
    import shutil
    import time

    area = dest.path(STAGING)
    try:
        entries = list(os.scandir(area))
    except FileNotFoundError:
        return
    now = time.time()
    for entry in entries:
        head = entry.name.split("-", 1)[0]
        with contextlib.suppress(OSError):
            if (head.isdigit() and not _pid_alive(int(head))) or (
                head == "tree" and now - entry.stat(follow_symlinks=False).st_mtime > STALE_TREE_SECONDS
            ):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)


class DirMaker:
    """Creates each directory once per upload instead of asking the filesystem for every file."""

    def __init__(self) -> None:
        self._made: set[str] = set()

    def __call__(self, path: str) -> None:
        if path not in self._made:
            os.makedirs(path, exist_ok=True)
            self._made.add(path)


def _write_all(out: Any, data: memoryview | bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[out.write(view) :]


def _copy_serial(f: Any, out: Any, md5: Any, on_bytes: OnBytes | None) -> int:
    buf, view = _buffer()
    read = 0
    while n := f.readinto(buf):
        chunk = view[:n]
        md5.update(chunk)
        _write_all(out, chunk)
        read += n
        if on_bytes:
            on_bytes(n)
    return read


def _copy_pipelined(f: Any, out: Any, md5: Any, on_bytes: OnBytes | None) -> int:
    """Hash on this thread while another writes: both release the GIL, so a large file costs about
    max(hash, write) instead of their sum. ``PIPELINE_DEPTH`` buffers are allocated once and passed back
    and forth, so memory stays fixed whatever the file size (fresh chunks would fragment the heap)."""
    free: queue.Queue[bytearray] = queue.Queue()
    for _ in range(PIPELINE_DEPTH):
        free.put(bytearray(CHUNK))
    filled: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
    failed: list[BaseException] = []

    def writer() -> None:
        while (item := filled.get()) is not None:
            buf, n = item
            try:
                if not failed:
                    _write_all(out, memoryview(buf)[:n])
            except BaseException as exc:
                failed.append(exc)
            free.put(buf)

    thread = threading.Thread(target=writer, name="union-copy-writer", daemon=True)
    thread.start()
    read = 0
    try:
        while not failed:
            buf = free.get()
            n = f.readinto(buf)
            if not n:
                free.put(buf)
                break
            md5.update(memoryview(buf)[:n])
            filled.put((buf, n))
            read += n
            if on_bytes:
                on_bytes(n)
    finally:
        filled.put(None)
        thread.join()
    if failed:
        raise failed[0]
    return read


def copy_local(
    dest: UploadDestination,
    src: LocalFile,
    target: str | Callable[[bytes], str],
    expected_md5: bytes | None = None,
    on_bytes: OnBytes | None = None,
    *,
    direct: bool = False,
    mkdirs: Callable[[str], None] | None = None,
) -> tuple[bytes, str]:
    """Stream ``src`` into the local store, hashing on the way; ``target`` may depend on the digest.

    ``direct`` writes straight to ``target`` (which must then be a path) instead of staging and renaming.
    """
    mkdirs = mkdirs or DirMaker()
    if direct:
        assert isinstance(target, str)
        tmp = target
    else:
        tmp = staging_path(dest)
    mkdirs(os.path.dirname(tmp))
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        with _open_source(src) as f, open(tmp, "wb", buffering=0) as out:
            copy = _copy_pipelined if src.size > PIPELINE_MIN else _copy_serial
            read = copy(f, out, md5, on_bytes)
            _check_unchanged(src, f.fileno(), read)
        digest = md5.digest()
        if expected_md5 is not None and digest != expected_md5:
            raise _changed(src, "its content no longer matches the hash taken before the upload")
        final = target(digest) if callable(target) else target
        if final != tmp:
            mkdirs(os.path.dirname(final))
            os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return digest, final


def stored_mismatch(
    dest: UploadDestination, target: str, src: LocalFile, md5: bytes, info: Any, *, final: bool
) -> str | None:
    """What is wrong with a stored object, judged from a put response or ``info``, or None.

    With ``final=False`` a response that reports no MD5 yields ``"unknown"``: ask for the object's info.
    """
    remote_md5 = dest.protocol.remote_md5
    reported = remote_md5(info) if isinstance(info, Mapping) and remote_md5 is not None else None
    if reported is not None and reported != md5:
        return f"{dest.uri(target)} was stored with MD5 {reported.hex()}, but {md5.hex()} was sent"
    if reported is not None:
        return None
    if not final:
        return "unknown"
    size = info.get("size") if isinstance(info, Mapping) else None
    if size is not None and int(size) != src.size:
        return f"{dest.uri(target)} holds {size} bytes but {src.size} were sent"
    return None


def _integrity_error(problem: str) -> IntegrityError:
    return IntegrityError(f"{problem}; the object was removed. Upload again.")


def _verify_remote(
    dest: UploadDestination, target: str, src: LocalFile, md5: bytes, response: Any = None
) -> None:
    """Confirm the stored object has the size and (where reported) the MD5 that was sent."""
    problem = stored_mismatch(dest, target, src, md5, response, final=False)
    if problem == "unknown":
        problem = stored_mismatch(dest, target, src, md5, dest.fs.info(target), final=True)
    if problem:
        _discard(dest, target)
        raise _integrity_error(problem)


def read_checked(src: LocalFile, md5: bytes) -> bytes:
    """The whole (small) file, refused if it is no longer the content that was hashed."""
    with _open_source(src) as f:
        data: bytes = f.read()
        _check_unchanged(src, f.fileno(), len(data))
    if hashlib.md5(data, usedforsecurity=False).digest() != md5:
        raise _changed(src, "its content no longer matches the hash taken before the upload")
    return data


def checksum_kwargs(dest: UploadDestination, md5: bytes) -> dict[str, Any]:
    return dest.protocol.checksum_kwargs(md5) if dest.protocol.checksum_kwargs else {}


def _discard(dest: UploadDestination, target: str) -> None:
    with contextlib.suppress(Exception):
        dest.fs.rm_file(target)


def put_remote(
    dest: UploadDestination,
    src: LocalFile,
    target: str,
    md5: bytes,
    on_bytes: OnBytes | None = None,
) -> None:
    """Upload to an object store with checksums; a mismatch is an error and leaves no object behind."""
    if src.size <= SINGLE_PUT_MAX:
        data = read_checked(src, md5)
        try:
            response = dest.fs.pipe_file(target, data, **checksum_kwargs(dest, md5))
        except BaseException:
            _discard(dest, target)  # some clients check the checksum only after the object is stored
            raise
        if on_bytes:
            on_bytes(len(data))
        _verify_remote(dest, target, src, md5, response)
        return
    put_checked = getattr(dest.fs, "put_file_checked", None)
    if callable(put_checked):
        # Backends that need an object's size and MD5 before its bytes (signed URLs) stream the file.
        _verify_remote(dest, target, src, md5, put_checked(src, target, md5, on_bytes=on_bytes))
        return
    hasher = hashlib.md5(usedforsecurity=False)
    read = 0
    with _open_source(src) as f:
        out = dest.fs.open(target, "wb", block_size=PART_SIZE)
        try:
            while chunk := f.read(PART_SIZE):
                hasher.update(chunk)
                out.write(chunk)
                read += len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
            _check_unchanged(src, f.fileno(), read)
            if hasher.digest() != md5:
                raise _changed(src, "its content no longer matches the hash taken before the upload")
        except BaseException:
            discard = getattr(out, "discard", None)
            if callable(discard):
                with contextlib.suppress(Exception):
                    discard()
            with contextlib.suppress(Exception):
                out.closed = True
            _discard(dest, target)
            raise
        out.close()
    _verify_remote(dest, target, src, md5)


def matches_remote(dest: UploadDestination, info: Mapping[str, Any] | None, size: int, md5: bytes) -> bool:
    """True when an existing object is this content: same size, and same MD5 where the backend says."""
    if info is None or info.get("type") == "directory":
        return False
    if int(info.get("size") or 0) != size:
        return False
    reported = dest.protocol.remote_md5(info) if dest.protocol.remote_md5 else None
    return reported is None or reported == md5


def write_bytes_atomic(dest: UploadDestination, target: str, data: bytes) -> None:
    """Write a small object (a manifest) so it appears whole or not at all."""
    if dest.is_local:
        tmp = staging_path(dest)
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        with open(tmp, "wb") as out:
            out.write(data)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(tmp, target)
        return
    dest.fs.pipe_file(
        target, data, **checksum_kwargs(dest, hashlib.md5(data, usedforsecurity=False).digest())
    )
