"""2. The same ``upload_dir`` again, unchanged (same hash cache, same destination) vs the cold upload.

Each repetition: a fresh cache and destination, one cold upload (the baseline), then three warm uploads
of the unchanged tree in the same process.
"""

from __future__ import annotations

import shutil

from benchmarks._harness import Result, Target, make_tree, read_all, scratch
from benchmarks.upload_dir_cold import tree_shape, union_upload, warm_up

NAME = "upload_dir_warm"
WARM_PER_COLD = 3


def run(quick: bool = False) -> list[Result]:
    n_small, small, n_big, big = tree_shape(quick)
    reps = 3 if quick else 5
    cold_runs: list[float] = []
    warm_runs: list[float] = []
    with scratch(NAME) as work:
        src = work / "src"
        n_files, n_bytes = make_tree(src, n_small, small, n_big, big)
        read_all(src)
        warm_up(work)
        for i in range(reps):
            cache = work / f"cache-{i}"
            cold, tree = union_upload(src, work, str(i), cache)
            cold_runs.append(cold)
            for _ in range(WARM_PER_COLD):
                seconds, again = union_upload(src, work, str(i), cache)
                assert again == tree, "the unchanged tree was stored at a different address"
                warm_runs.append(seconds)
            print(f"    rep {i + 1}/{reps}: cold {cold:.4g}s, warm {warm_runs[-WARM_PER_COLD:]}", flush=True)
            shutil.rmtree(work / f"union-{i}")
            shutil.rmtree(cache)

    return [
        Result(
            name=NAME,
            title=f"upload_dir warm (unchanged, same cache and destination), {n_files:,} files",
            unit="s",
            runs=warm_runs,
            baseline="union upload_dir cold of the same tree",
            baseline_runs=cold_runs,
            target=Target("max_ratio", 0.05, "<= 5% of cold"),
            notes=[
                f"{WARM_PER_COLD} warm uploads per cold one, in the same process (the SQLite cache stays open)"
            ],
            details={"files": n_files, "bytes": n_bytes},
        )
    ]
