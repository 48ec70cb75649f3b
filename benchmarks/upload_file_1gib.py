"""3. ``upload_file`` of a 1 GiB file to the local backend vs ``md5sum FILE && cp FILE DEST``, plus peak memory.

Both sides run as subprocesses. union runs in a child that imports union and uploads a tiny file first
(untimed). Memory: the child's current RSS (``VmRSS`` from /proc/self/status) just before the measured
upload, and its peak RSS (``ru_maxrss``) just after; peak after minus RSS before bounds from above what the
upload itself added (psutil is not needed). The child's own clock times the upload; the wall time of the whole child
(interpreter start-up included) is kept in the details. Cold every repetition: fresh cache, fresh destination.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._harness import (
    REPO,
    GiB,
    MiB,
    Result,
    Target,
    alternate,
    read_all,
    scratch,
    settle,
    write_random,
)

NAME = "upload_file_1gib"
RSS_LIMIT_MB = 64


def child(src: str, prefix: str) -> None:
    """Runs in the subprocess: warm up, then one measured upload; prints JSON."""
    from union.config import resolve
    from union.remote import upload_file

    tiny = Path(prefix + "-warmup.txt")
    tiny.write_bytes(b"warm-up")
    upload_file(tiny, config=resolve(raw_data_prefix=Path(prefix + "-warmup").as_uri()))
    cfg = resolve(raw_data_prefix=Path(prefix).as_uri())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    rss_before = _vm_rss_kib()
    cpu_start = time.process_time()
    start = time.perf_counter()
    md5, uri = upload_file(Path(src), config=cfg)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "maxrss_before_kib": before,
                "maxrss_after_kib": after,
                "rss_before_kib": rss_before,
                "md5": md5,
                "uri": uri,
            }
        )
    )


def _vm_rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def run(quick: bool = False) -> list[Result]:
    size = 32 * MiB if quick else GiB
    reps = 3 if quick else 5
    walls: list[float] = []
    cpu: list[float] = []
    baseline_cpu: list[float] = []
    rss_growth_mb: list[float] = []
    peak_growth_mb: list[float] = []
    peaks_mb: list[float] = []
    with scratch(NAME) as work:
        src = work / "big.bin"
        write_random(src, size)
        read_all(work)
        expected = subprocess.run(
            ["md5sum", str(src)], capture_output=True, text=True, check=True
        ).stdout.split()[0]

        def union_once(i: int) -> float:
            prefix = work / f"union-{i}"
            cmd = [sys.executable, "-m", "benchmarks.upload_file_1gib", str(src), str(prefix)]
            settle()
            start = time.perf_counter()
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                cwd=REPO,
                check=True,
                env={**os.environ, "UNION_CACHE_DIR": str(work / f"cache-{i}")},
            )
            walls.append(time.perf_counter() - start)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            assert out["md5"] == expected, f"union returned md5 {out['md5']}, md5sum says {expected}"
            rss_growth_mb.append((out["maxrss_after_kib"] - out["rss_before_kib"]) * 1024 / 1e6)
            peak_growth_mb.append((out["maxrss_after_kib"] - out["maxrss_before_kib"]) * 1024 / 1e6)
            peaks_mb.append(out["maxrss_after_kib"] * 1024 / 1e6)
            cpu.append(out["cpu_seconds"])
            shutil.rmtree(prefix)
            return float(out["seconds"])

        def shell_once(i: int) -> float:
            dst = work / f"cp-{i}.bin"
            settle()
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                ["sh", "-c", 'md5sum "$1" >/dev/null && cp "$1" "$2"', "sh", str(src), str(dst)], check=True
            )
            seconds = time.perf_counter() - start
            done = resource.getrusage(resource.RUSAGE_CHILDREN)
            baseline_cpu.append(done.ru_utime + done.ru_stime - usage.ru_utime - usage.ru_stime)
            dst.unlink()
            return seconds

        union_runs, shell_runs = alternate(reps, union_once, shell_once)

    label = "1 GiB" if size == GiB else f"{size // MiB} MiB"
    return [
        Result(
            name=NAME,
            title=f"upload_file of a {label} file, local backend",
            unit="s",
            runs=union_runs,
            baseline="md5sum FILE && cp FILE DEST (subprocesses)",
            baseline_runs=shell_runs,
            target=Target("max_ratio", 1.1, "<= 1.1x baseline"),
            notes=[
                "union timed inside its child after imports; the baseline's time includes starting sh, "
                "md5sum and cp",
                "page cache warm for both, order alternated, sync before each run",
                "cpu_s: user+sys CPU of the upload (union) and of sh+md5sum+cp (baseline); steadier than "
                "wall time when other tenants load the machine",
            ],
            details={
                "bytes": size,
                "union_child_wall_s": walls,
                "cpu_s": cpu,
                "baseline_cpu_s": baseline_cpu,
                "cpu_ratio_of_medians": statistics.median(cpu) / statistics.median(baseline_cpu),
            },
        ),
        Result(
            name=f"{NAME}_rss",
            title=f"upload_file of a {label} file: peak RSS growth",
            unit="MB",
            runs=rss_growth_mb,
            target=Target("max_value", RSS_LIMIT_MB, f"<= {RSS_LIMIT_MB} MB"),
            notes=[
                "peak RSS after the upload (getrusage ru_maxrss) minus current RSS just before it "
                "(VmRSS in /proc/self/status), in the child after imports and a warm-up upload; "
                "1 MB = 10^6 bytes"
            ],
            details={"peak_rss_mb": peaks_mb, "peak_before_to_peak_after_mb": peak_growth_mb},
        ),
    ]


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2])
