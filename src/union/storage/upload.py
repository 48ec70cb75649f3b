"""Content-addressed uploads of files and trees.

Layout under ``<raw-data prefix>/<project>/<domain>/``:

- a file lands at ``<md5 hex>/<file name>`` (the name is kept: tasks and the data proxy need it);
- a tree lands at ``<sha256 of its manifest>/<relative paths>``, and its manifest at
  ``<sha256>.manifest.json``, written last: a tree is complete exactly when its manifest exists.

A second upload of unchanged data costs a stat per file (hashes come from the local cache) and one
existence check at the destination.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from union import _args
from union.config import Config, current
from union.errors import (
    NotADirectoryUploadError,
    NotAFileError,
    StorageError,
    UnionError,
    UnreadableFileError,
    UploadError,
    UploadPathNotFoundError,
)
from union.redact import redact_text
from union.storage import async_put, local_tree
from union.storage import manifest as manifest_mod
from union.storage.destination import UploadDestination, upload_destination
from union.storage.hashcache import HashCache, default_cache
from union.storage.manifest import Manifest, ManifestEntry
from union.storage.progress import ProgressCallback, Tracker
from union.storage.transfer import (
    SINGLE_PUT_MAX,
    DirMaker,
    copy_local,
    hash_file,
    matches_remote,
    put_remote,
    sweep_staging,
    write_bytes_atomic,
)
from union.storage.walk import LocalFile, special_file_error, special_kind, walk

T = TypeVar("T")
BATCH_FILES = 64
BATCH_BYTES = 4 << 20
# Local copies are CPU- and syscall-bound: more threads than this only fight over the GIL.
LOCAL_COPY_THREADS = 4
R = TypeVar("R")
P = ParamSpec("P")


def _stat_input(path: os.PathLike[str] | str, what: str) -> tuple[Path, os.stat_result]:
    p = Path(path).expanduser()
    try:
        st = os.stat(p)
    except FileNotFoundError:
        if os.path.islink(p):
            raise UploadPathNotFoundError(
                f"{what}: {p} is a symlink to {os.readlink(p)}, which does not exist. "
                "Fix the link or pass its target."
            ) from None
        raise UploadPathNotFoundError(f"{what}: {p} does not exist. Check the path.") from None
    except PermissionError as exc:
        raise UnreadableFileError(
            f"{what}: cannot access {p}: permission denied. Fix its permissions."
        ) from exc
    return p, st


def run_bounded(items: Iterable[T], work: Callable[[T], None], concurrency: int) -> None:
    """Run ``work`` over ``items`` on at most ``concurrency`` threads, never queueing more than
    twice that many; the first error cancels what has not started and is raised.

    A new item is queued as soon as one finishes (not once a whole batch has), so the threads stay busy
    while the slowest items of a batch are still running.
    """
    if concurrency <= 1:
        for item in items:
            work(item)
        return
    failed = threading.Event()
    raised: list[BaseException] = []
    slots = threading.Semaphore(concurrency * 2)

    def guarded(item: T) -> None:
        try:
            if not failed.is_set():
                work(item)
        except BaseException as exc:
            raised.append(exc)
            failed.set()
        finally:
            slots.release()

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="union-upload") as pool:
        for item in items:
            slots.acquire()
            if failed.is_set():
                slots.release()
                break
            pool.submit(guarded, item)
    if raised:
        raise raised[0]


def _typed_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a backend's own exceptions (botocore, azure, aiohttp...) into a StorageError without secrets."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (UnionError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise StorageError(
                f"{func.__name__} failed at the storage backend: {type(exc).__name__}: "
                f"{redact_text(str(exc))}. Check that the raw-data prefix is reachable and that the "
                "credentials in the storage options are right."
            ) from exc

    return wrapper


@_typed_errors
def upload_file(
    fp: os.PathLike[str] | str,
    *,
    config: Config | None = None,
    progress: ProgressCallback | None = None,
    cache: HashCache | None = None,
) -> tuple[str, str]:
    """Upload one file; returns ``(md5 hex, uri)``. Unchanged content already stored is not sent again."""
    _args.path(fp, "upload_file", "fp")
    _args.config(config, "upload_file")
    _args.optional_callable(progress, "upload_file", "progress")
    path, st = _stat_input(fp, "upload_file")
    if os.path.isdir(path):
        raise NotAFileError(f"upload_file: {path} is a directory. Use upload_dir for directories.")
    kind = special_kind(st.st_mode)
    if kind is not None:  # checked before any open(): opening a FIFO blocks until a writer comes
        raise special_file_error("upload_file", str(path), kind, "Upload a regular file.")
    src = LocalFile.from_stat(path.name, os.path.abspath(path), st)
    cfg = config or current()
    dest = upload_destination(cfg)
    cache = cache or default_cache()
    tracker = Tracker(progress, 1, src.size)
    tracker.start("uploading", 1, src.size)
    on_bytes = tracker.add_bytes if progress else None
    md5 = cache.get(src.key)

    if dest.is_local:
        sweep_staging(dest)
    if md5 is None and dest.is_local:
        # Cold local upload: hash while copying, then rename into the content address (one read).
        md5, final = copy_local(dest, src, lambda d: dest.path(d.hex(), path.name), on_bytes=on_bytes)
        cache.put_many([(src.key, md5)])
        tracker.file_done(src.size)
        tracker.finish()
        return md5.hex(), dest.uri(final)

    if md5 is None:
        md5 = hash_file(src)
        cache.put_many([(src.key, md5)])
    target = dest.path(md5.hex(), path.name)
    if matches_remote(dest, _info_or_none(dest, target), src.size, md5):
        tracker.file_done(src.size, skipped=True)
    elif dest.is_local:
        copy_local(dest, src, target, expected_md5=md5, on_bytes=on_bytes)
        tracker.file_done(src.size)
    else:
        put_remote(dest, src, target, md5, on_bytes=on_bytes)
        tracker.file_done(src.size)
    tracker.finish()
    return md5.hex(), dest.uri(target)


def _info_or_none(dest: UploadDestination, path: str) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = dest.fs.info(path)
        return info
    except FileNotFoundError:
        return None


def _cached_digests(files: list[LocalFile], cache: HashCache, root: str) -> list[bytes | None]:
    """The cached MD5 of every file that is unchanged since it was hashed, else None."""
    known = cache.under(root)
    out: list[bytes | None] = []
    for f in files:
        hit = known.get(f.path)
        out.append(hit[1] if hit is not None and hit[0] == f.key else None)
    return out


def _hash_missing(
    files: list[LocalFile], known: list[bytes | None], tracker: Tracker, concurrency: int
) -> list[bytes]:
    """Read the files whose MD5 is not known yet."""
    digests = list(known)
    missing = [i for i, d in enumerate(known) if d is None]
    if missing:
        tracker.start("hashing", len(missing), sum(files[i].size for i in missing))
        on_bytes = tracker.add_bytes if tracker.reports else None

        def some(batch: list[int]) -> None:
            for i in batch:
                digests[i] = hash_file(files[i], on_bytes)
                tracker.file_done()

        run_bounded(_batches(missing, lambda i: files[i].size), some, min(concurrency, os.cpu_count() or 2))
    return digests  # type: ignore[return-value]


def _batches(items: Iterable[T], size_of: Callable[[T], int]) -> Iterator[list[T]]:
    """Group small files so thread hand-offs cost less than the files themselves."""
    batch: list[T] = []
    total = 0
    for item in items:
        batch.append(item)
        total += size_of(item)
        if len(batch) >= BATCH_FILES or total >= BATCH_BYTES:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def _existing(dest: UploadDestination, tree: str) -> dict[str, dict[str, Any]]:
    """What a previous, interrupted upload of this tree already stored (relpath -> info)."""
    try:
        found = dest.fs.find(tree, detail=True)
    except FileNotFoundError:
        return {}
    prefix = tree.rstrip("/") + "/"
    return {p[len(prefix) :]: info for p, info in found.items() if p.startswith(prefix)}


@_typed_errors
def upload_dir(
    dir_path: os.PathLike[str] | str,
    *,
    config: Config | None = None,
    progress: ProgressCallback | None = None,
    allow_outside_symlinks: bool = False,
    exclude: Sequence[str] = (),
    cache: HashCache | None = None,
) -> tuple[str, str]:
    """Upload a tree; returns ``(digest, uri)``. The tree becomes visible only once complete.

    ``exclude`` holds glob patterns matched against each entry's name and relative path.
    """
    _args.path(dir_path, "upload_dir", "dir_path")
    _args.config(config, "upload_dir")
    _args.optional_callable(progress, "upload_dir", "progress")
    _args.flag(allow_outside_symlinks, "upload_dir", "allow_outside_symlinks")
    exclude = _args.str_sequence(exclude, "upload_dir", "exclude")
    path, st = _stat_input(dir_path, "upload_dir")
    kind = special_kind(st.st_mode)
    if kind is not None:
        raise special_file_error("upload_dir", str(path), kind, "Upload a directory.")
    if not path.is_dir():
        raise NotADirectoryUploadError(
            f"upload_dir: {path} is a file, not a directory. Use upload_file for single files."
        )
    cfg = config or current()
    cache = cache or default_cache()
    root = os.path.abspath(path)
    files, empty_dirs = walk(path, allow_outside_symlinks=allow_outside_symlinks, exclude=exclude)
    known = _cached_digests(files, cache, root)
    dest = upload_destination(cfg)
    tracker = Tracker(progress, len(files), sum(f.size for f in files))
    on_bytes = tracker.add_bytes if progress else None

    staging = None
    if dest.is_local:
        sweep_staging(dest)
    if dest.is_local and None in known:
        # Cold, local: copy while hashing into a staging tree (one read), publish it with one rename.
        staging = local_tree.StagingTree(dest, root)
        tracker.start("uploading", len(files), tracker.bytes_total)
        try:
            digests = local_tree.stage(
                dest,
                staging,
                files,
                known,
                run=lambda batches, work: run_bounded(
                    batches, work, min(cfg.upload_concurrency, LOCAL_COPY_THREADS)
                ),
                batches=lambda items: _batches(items, lambda i: files[i].size),
                on_bytes=on_bytes,
                file_done=lambda size, skipped: tracker.file_done(size, skipped=skipped),
            )
        except BaseException:
            staging.close()
            raise
    else:
        digests = _hash_missing(files, known, tracker, cfg.upload_concurrency)
    cache.put_many((f.key, d) for f, d, k in zip(files, digests, known, strict=True) if k is None)
    manifest = Manifest.build(
        (ManifestEntry(f.relpath, d.hex(), f.size) for f, d in zip(files, digests, strict=True)), empty_dirs
    )
    digest = manifest.digest
    tree = dest.path(digest)
    manifest_path = tree + manifest_mod.SUFFIX
    if staging is not None:
        try:
            staging.publish(dest, tree, manifest_path, manifest.to_bytes(), list(empty_dirs))
        finally:
            staging.close()
        tracker.finish()
        return digest, dest.uri(tree)

    tracker.start("uploading", len(files), manifest.total_bytes)
    if dest.fs.exists(manifest_path):
        tracker.all_skipped()
        tracker.finish()
        return digest, dest.uri(tree)

    existing = _existing(dest, tree)

    mkdirs = DirMaker()

    def already_stored(f: LocalFile, md5: bytes) -> bool:
        info = existing.get(f.relpath)
        if not matches_remote(dest, info, f.size, md5):
            return False
        if dest.is_local:  # left by an interrupted upload that wrote in place: check its bytes
            return _local_md5(f"{tree}/{f.relpath}") == md5
        return True

    def todo() -> Iterator[tuple[LocalFile, bytes]]:
        for f, md5 in zip(files, digests, strict=True):
            if existing and already_stored(f, md5):
                tracker.file_done(f.size, skipped=True)
            else:
                yield f, md5

    def send(batch: list[tuple[LocalFile, bytes]]) -> None:
        for f, md5 in batch:
            target = f"{tree}/{f.relpath}"
            if dest.is_local:
                copy_local(dest, f, target, expected_md5=md5, on_bytes=on_bytes, direct=True, mkdirs=mkdirs)
            else:
                put_remote(dest, f, target, md5, on_bytes=on_bytes)
            tracker.file_done(f.size)

    if dest.is_local:
        threads = min(cfg.upload_concurrency, LOCAL_COPY_THREADS)
        run_bounded(_batches(todo(), lambda item: item[0].size), send, threads)
    elif async_put.supported(dest):
        large: list[tuple[LocalFile, bytes]] = []

        def small() -> Iterator[tuple[LocalFile, bytes, str]]:
            """Small files go out as coroutines; large ones are set aside for streamed, threaded puts."""
            for f, md5 in todo():
                if f.size <= SINGLE_PUT_MAX:
                    yield f, md5, f"{tree}/{f.relpath}"
                else:
                    large.append((f, md5))

        async_put.put_many(
            dest, small(), cfg.upload_concurrency, lambda f: tracker.file_done(f.size, count_bytes=True)
        )
        run_bounded(([item] for item in large), send, cfg.upload_concurrency)
    else:
        run_bounded(([item] for item in todo()), send, cfg.upload_concurrency)
    if dest.is_local:
        for d in empty_dirs:
            os.makedirs(f"{tree}/{d}", exist_ok=True)
        if not files:
            os.makedirs(tree, exist_ok=True)
    write_bytes_atomic(dest, manifest_path, manifest.to_bytes())
    tracker.finish()
    return digest, dest.uri(tree)


def _local_md5(path: str) -> bytes | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return hash_file(LocalFile.from_stat("", path, st))


def read_manifest(uri: str, *, config: Config | None = None) -> Manifest:
    """The manifest of a tree uploaded with ``upload_dir`` (proof that it is complete)."""
    from union.storage.protocols import filesystem_for

    cfg = config or current()
    fs, _, tree = filesystem_for(uri, cfg.storage_options)
    digest = tree.rstrip("/").rsplit("/", 1)[-1]
    try:
        data = fs.cat_file(tree.rstrip("/") + manifest_mod.SUFFIX)
    except FileNotFoundError:
        raise UploadError(f"{uri} has no manifest: it is not a complete upload. Upload it again.") from None
    return Manifest.from_bytes(data, expected_digest=digest)
