"""1. ``upload_dir`` cold to the local backend vs fsspec ``LocalFileSystem().put(src, dst, recursive=True)``.

Tree: 10,000 files of 4 KiB plus 10 files of 50 MiB. Cold: a fresh hash cache and a fresh destination every
repetition. The source stays in the page cache for both (we cannot drop it as a user), the order alternates,
and dirty pages are flushed (``sync``) before each measured run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks._harness import (
    KiB,
    MiB,
    Result,
    Target,
    alternate,
    count_files,
    env,
    make_tree,
    read_all,
    scratch,
    timed,
)

NAME = "upload_dir_cold"


def tree_shape(quick: bool) -> tuple[int, int, int, int]:
    """(small files, small size, big files, big size)."""
    return (500, 4 * KiB, 2, 4 * MiB) if quick else (10_000, 4 * KiB, 10, 50 * MiB)


def union_upload(src: Path, work: Path, tag: str, cache: Path | None = None) -> tuple[float, Path]:
    """One measured ``upload_dir`` into ``work/union-<tag>``; returns (seconds, tree directory)."""
    from union.config import resolve
    from union.remote import upload_dir

    prefix = work / f"union-{tag}"
    cfg = resolve(raw_data_prefix=prefix.as_uri())
    out: list[str] = []
    with env(UNION_CACHE_DIR=str(cache or work / f"cache-{tag}")):
        seconds = timed(lambda: out.append(upload_dir(src, config=cfg)[1]))
    return seconds, Path(out[0].removeprefix("file://"))


def fsspec_put(src: Path, dst: Path) -> float:
    from fsspec.implementations.local import LocalFileSystem

    fs = LocalFileSystem()
    return timed(lambda: fs.put(str(src), str(dst), recursive=True))


def warm_up(work: Path) -> None:
    """Import and initialise both sides (plugins, SQLite, fsspec) outside any measurement."""
    tiny = work / "tiny"
    make_tree(tiny, 3, 16)
    union_upload(tiny, work, "warmup")
    fsspec_put(tiny, work / "fsspec-warmup")


def run(quick: bool = False) -> list[Result]:
    n_small, small, n_big, big = tree_shape(quick)
    reps = 3 if quick else 5
    with scratch(NAME) as work:
        src = work / "src"
        n_files, n_bytes = make_tree(src, n_small, small, n_big, big)
        read_all(src)
        warm_up(work)

        def union_once(i: int) -> float:
            seconds, tree = union_upload(src, work, str(i))
            assert count_files(tree) == n_files, f"union stored {count_files(tree)} files, expected {n_files}"
            shutil.rmtree(work / f"union-{i}")
            shutil.rmtree(work / f"cache-{i}")
            return seconds

        def fsspec_once(i: int) -> float:
            dst = work / f"fsspec-{i}"
            seconds = fsspec_put(src, dst)
            assert count_files(dst) == n_files, f"fsspec stored {count_files(dst)} files, expected {n_files}"
            shutil.rmtree(dst)
            return seconds

        union_runs, fsspec_runs = alternate(reps, union_once, fsspec_once)

    return [
        Result(
            name=NAME,
            title=f"upload_dir cold, {n_small:,} x {small // KiB} KiB + {n_big} x {big // MiB} MiB, local backend",
            unit="s",
            runs=union_runs,
            baseline="fsspec LocalFileSystem().put(src, dst, recursive=True)",
            baseline_runs=fsspec_runs,
            target=Target("max_ratio", 1.3, "<= 1.3x baseline"),
            notes=[
                "page cache warm for both (source read once beforehand), order alternated, sync before each run"
            ],
            details={"files": n_files, "bytes": n_bytes},
        )
    ]
