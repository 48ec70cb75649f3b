"""4. ``upload_dir`` of 1,000 files of 4 KiB to moto's S3 server vs s3fs ``put(lpath, rpath, recursive=True)``.

Reported as files per second, higher is better. A fresh bucket prefix (and for union a fresh hash cache)
every repetition; both sides share one moto server and alternate order. moto runs on the same two cores,
so its own CPU time is in both numbers.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from benchmarks._harness import KiB, Result, Target, alternate, env, make_tree, read_all, scratch, timed
from benchmarks._moto import moto_s3

NAME = "s3_small_files"
BUCKET = "bench"


def union_upload(src: Path, work: Path, options: dict[str, Any], tag: str) -> tuple[float, str]:
    from union.config import resolve
    from union.remote import upload_dir

    cfg = resolve(raw_data_prefix=f"s3://{BUCKET}/union-{tag}", storage_options=options)
    out: list[str] = []
    with env(UNION_CACHE_DIR=str(work / f"cache-{tag}")):
        seconds = timed(lambda: out.append(upload_dir(src, config=cfg)[1]))
    shutil.rmtree(work / f"cache-{tag}")
    return seconds, out[0]


def s3fs_put(fs: Any, src: Path, tag: str) -> tuple[float, str]:
    rpath = f"{BUCKET}/s3fs-{tag}"
    return timed(lambda: fs.put(str(src), rpath, recursive=True)), rpath


def run(quick: bool = False) -> list[Result]:
    n_files = 100 if quick else 1_000
    reps = 3 if quick else 5
    with scratch(NAME) as work, moto_s3(BUCKET, work / "moto.log") as options:
        import s3fs

        fs = s3fs.S3FileSystem(**options)
        src = work / "src"
        make_tree(src, n_files, 4 * KiB)
        read_all(src)
        tiny = work / "tiny"
        make_tree(tiny, 3, 16)
        union_upload(tiny, work, options, "warmup")
        s3fs_put(fs, tiny, "warmup")

        def union_once(i: int) -> float:
            seconds, uri = union_upload(src, work, options, str(i))
            stored = len(fs.find(uri))
            assert stored == n_files, f"union stored {stored} objects, expected {n_files}"
            return n_files / seconds

        def s3fs_once(i: int) -> float:
            seconds, rpath = s3fs_put(fs, src, str(i))
            stored = len(fs.find(rpath))
            assert stored == n_files, f"s3fs stored {stored} objects, expected {n_files}"
            return n_files / seconds

        union_runs, s3fs_runs = alternate(reps, union_once, s3fs_once)

    return [
        Result(
            name=NAME,
            title=f"upload_dir of {n_files:,} x 4 KiB files to moto S3",
            unit="files/s",
            runs=union_runs,
            baseline="s3fs S3FileSystem.put(lpath, rpath, recursive=True)",
            baseline_runs=s3fs_runs,
            target=Target("min_ratio", 1.0, ">= 1.0x baseline files/s"),
            notes=[
                "moto_server on 127.0.0.1 shares the 2 cores with the client",
                "fresh prefix every repetition",
            ],
            details={"files": n_files},
        )
    ]
