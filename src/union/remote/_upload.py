"""``upload_file`` and ``upload_dir`` with the public signatures; the work is in union.storage."""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING, Tuple  # noqa: UP035 - the public signature says typing.Tuple

if TYPE_CHECKING:
    from collections.abc import Sequence

    from union.config import Config
    from union.storage.progress import ProgressCallback


def upload_file(
    fp: pathlib.Path,
    *,
    progress: ProgressCallback | None = None,
    config: Config | None = None,
) -> Tuple[str, str]:  # noqa: UP006
    """Uploads a file to a remote location and returns the remote URI.

    Returns ``(md5 hex digest, uri)``. The location derives from the content (and the file name), so
    uploading unchanged content again sends nothing. ``progress`` receives
    :class:`~union.storage.progress.UploadProgress` snapshots.
    """
    from union.storage.upload import upload_file as _upload_file

    return _upload_file(fp, config=config, progress=progress)


def upload_dir(
    dir_path: pathlib.Path,
    *,
    progress: ProgressCallback | None = None,
    allow_outside_symlinks: bool = False,
    exclude: Sequence[str] = (),
    config: Config | None = None,
) -> Tuple[str, str]:  # noqa: UP006
    """Uploads a directory to a remote location and returns the remote URI.

    Returns ``(digest, uri)``: the URI is an ordinary directory with the same relative paths, visible
    only once every file is stored. Symlinks are followed inside the directory; one pointing outside is
    an error unless ``allow_outside_symlinks`` is set. ``exclude`` takes glob patterns (matched against
    each entry's name and relative path) to leave out, e.g. ``("__pycache__", "*.pyc", ".git")``.
    """
    from union.storage.upload import upload_dir as _upload_dir

    return _upload_dir(
        dir_path,
        config=config,
        progress=progress,
        allow_outside_symlinks=allow_outside_symlinks,
        exclude=exclude,
    )
