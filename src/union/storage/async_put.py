"""Small-file uploads to async fsspec backends (s3fs, gcsfs, adlfs) as coroutines on their own loop.

Threads calling the sync wrappers cost a hand-off per file; many small files go faster as bounded
coroutines, the way fsspec's own batched ``put`` runs them. Checks are those of :mod:`transfer`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from union.storage.destination import UploadDestination
from union.storage.transfer import _integrity_error, checksum_kwargs, read_checked, stored_mismatch
from union.storage.walk import LocalFile

Item = tuple[LocalFile, bytes, str]


def supported(dest: UploadDestination) -> bool:
    return bool(getattr(dest.fs, "async_impl", False)) and hasattr(dest.fs, "_pipe_file")


async def _discard(fs: Any, target: str) -> None:
    with contextlib.suppress(Exception):
        await fs._rm_file(target)


async def _put_one(dest: UploadDestination, item: Item) -> None:
    src, md5, target = item
    fs = dest.fs
    data = read_checked(src, md5)
    try:
        response = await fs._pipe_file(target, data, **checksum_kwargs(dest, md5))
    except BaseException:
        await _discard(fs, target)  # some clients check the checksum only after the object is stored
        raise
    problem = stored_mismatch(dest, target, src, md5, response, final=False)
    if problem == "unknown":
        problem = stored_mismatch(dest, target, src, md5, await fs._info(target), final=True)
    if problem:
        await _discard(fs, target)
        raise _integrity_error(problem)


def put_many(
    dest: UploadDestination, items: Iterable[Item], concurrency: int, done: Callable[[LocalFile], None]
) -> None:
    """Upload every item with at most ``concurrency`` in flight; the first error cancels the rest."""
    from fsspec.asyn import sync

    async def run() -> None:
        pending: set[asyncio.Task[None]] = set()

        async def one(item: Item) -> None:
            await _put_one(dest, item)
            done(item[0])

        try:
            for item in items:
                pending.add(asyncio.ensure_future(one(item)))
                if len(pending) >= concurrency:
                    finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                    for task in finished:
                        task.result()
            if pending:
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in finished:
                    task.result()
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    sync(dest.fs.loop, run)
