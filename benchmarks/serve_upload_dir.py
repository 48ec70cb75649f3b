"""``upload_dir`` of 1,000 files of 4 KiB through signed URLs to ``union serve``, vs the local backend.

Measured: ``upload_dir(src)`` in a process configured with ``endpoint=<union serve>`` and no raw-data
prefix, so every file goes ``CreateUploadLocation`` (Connect, JSON over HTTP) then a signed ``PUT`` to the
server's data proxy, which verifies size and MD5 and stages the write. Baseline: ``upload_dir`` of the same
tree to a direct ``file://`` raw-data prefix on the same disk (what the embedded default does). Cold both
ways: every repetition gets a fresh tree content (one changed byte per file, so every digest is new) and a
fresh hash cache. The server runs in its own process; the two share this machine's cores.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmarks._harness import KiB, Result, Target, alternate, count_files, env, make_tree, timed
from benchmarks.serve_common import served

NAME = "serve_upload_dir"


def fresh_tree(base: Path, tag: str, n: int, size: int) -> Path:
    """``n`` files of ``size`` bytes whose content (and so every digest) is unique to ``tag``."""
    src = base / f"src-{tag}"
    make_tree(src, n, size)
    stamp = tag.encode().ljust(16, b".")
    for path in src.rglob("*"):
        if path.is_file():
            with path.open("r+b") as f:
                f.write(stamp)
    return src


def run(quick: bool = False) -> list[Result]:
    from union.config import resolve
    from union.remote import upload_dir

    n, size = (200, 4 * KiB) if quick else (1_000, 4 * KiB)
    reps = 3 if quick else 7
    with served(NAME) as server:
        work = server.work
        upload_dir(fresh_tree(work, "warm", 5, 64))  # imports, connection pool, server warm

        def signed_once(i: int) -> float:
            src = fresh_tree(work, f"s{i}", n, size)
            out: list[str] = []
            with env(UNION_CACHE_DIR=str(work / f"cache-s{i}")):
                seconds = timed(lambda: out.append(upload_dir(src)[1]))
            assert out[0].startswith("file://"), out[0]  # the server's store: check it holds every file
            stored = Path(out[0].removeprefix("file://"))
            assert count_files(stored) == n, f"the server stored {count_files(stored)} files, expected {n}"
            shutil.rmtree(src)
            return seconds

        def direct_once(i: int) -> float:
            src = fresh_tree(work, f"d{i}", n, size)
            cfg = resolve(raw_data_prefix=(work / f"direct-{i}").as_uri(), endpoint=None)
            out: list[str] = []
            with env(UNION_CACHE_DIR=str(work / f"cache-d{i}")):
                seconds = timed(lambda: out.append(upload_dir(src, config=cfg)[1]))
            stored = Path(out[0].removeprefix("file://"))
            assert count_files(stored) == n, f"stored {count_files(stored)} files, expected {n}"
            shutil.rmtree(src)
            return seconds

        signed_runs, direct_runs = alternate(reps, signed_once, direct_once)
    files_per_s = sorted(n / s for s in signed_runs)
    return [
        Result(
            name=NAME,
            title=f"upload_dir cold, {n:,} x {size // KiB} KiB, signed URLs to union serve over HTTP",
            unit="s",
            runs=signed_runs,
            baseline="upload_dir of the same shape to a direct file:// raw-data prefix (no server)",
            baseline_runs=direct_runs,
            target=Target("max_ratio", 10.0, "<= 10x the direct upload (a goal set here; issue 4 sets none)"),
            notes=[
                "each file: CreateUploadLocation (Connect, proto) + signed PUT verified by the server",
                "union serve in its own process on 127.0.0.1, auth off; fresh content and hash cache per rep",
            ],
            details={
                "files": n,
                "signed_files_per_s_median": round(files_per_s[len(files_per_s) // 2], 1),
                "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
            },
        )
    ]
