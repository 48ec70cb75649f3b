"""Shared helpers: timing (medians over repeats), the result record, scratch space, test data, machine facts."""

from __future__ import annotations

import gc
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parent.parent
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


# --- timing -----------------------------------------------------------------------------------------


def settle() -> None:
    """Flush dirty pages and garbage before a measurement, so one run's writeback never lands in the next."""
    os.sync()
    gc.collect()


def timed(fn: Callable[[], object]) -> float:
    """Seconds taken by ``fn()`` (wall clock), after settling."""
    settle()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(
    reps: int, a: Callable[[int], float], b: Callable[[int], float]
) -> tuple[list[float], list[float]]:
    """Run ``a(i)`` and ``b(i)`` ``reps`` times, swapping which goes first each repetition."""
    a_runs: list[float] = []
    b_runs: list[float] = []
    for i in range(reps):
        if i % 2 == 0:
            a_runs.append(a(i))
            b_runs.append(b(i))
        else:
            b_runs.append(b(i))
            a_runs.append(a(i))
        print(f"    rep {i + 1}/{reps}: {a_runs[-1]:.4g} vs {b_runs[-1]:.4g}", flush=True)
    return a_runs, b_runs


# --- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """``max_ratio``/``min_ratio`` compare median/baseline median; ``max_value`` compares the median itself."""

    kind: Literal["max_ratio", "min_ratio", "max_value"]
    limit: float
    text: str


@dataclass
class Result:
    name: str
    title: str
    unit: str
    runs: list[float]
    target: Target
    baseline: str | None = None
    baseline_runs: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline_runs) if self.baseline_runs else None

    @property
    def ratio(self) -> float | None:
        base = self.baseline_median
        return self.median / base if base else None

    @property
    def passed(self) -> bool:
        if self.target.kind == "max_value":
            return self.median <= self.target.limit
        ratio = self.ratio
        if ratio is None:
            return False
        return ratio <= self.target.limit if self.target.kind == "max_ratio" else ratio >= self.target.limit

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "unit": self.unit,
            "median": self.median,
            "runs": self.runs,
            "baseline": self.baseline,
            "baseline_median": self.baseline_median,
            "baseline_runs": self.baseline_runs,
            "ratio": self.ratio,
            "target": {"kind": self.target.kind, "limit": self.target.limit, "text": self.target.text},
            "passed": self.passed,
            "notes": self.notes,
            "details": self.details,
        }


# --- scratch space and data -------------------------------------------------------------------------


def scratch_base() -> Path:
    """``$UNION_BENCH_DIR`` or ``<repo>/.benchmarks`` (gitignored, on the repository's disk)."""
    return Path(os.environ.get("UNION_BENCH_DIR") or REPO / ".benchmarks")


@contextmanager
def scratch(name: str) -> Iterator[Path]:
    """A fresh directory for one benchmark, removed (big files and all) afterwards."""
    path = scratch_base() / f"{name}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def env(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n


def make_tree(
    root: Path, n_small: int, small_size: int, n_big: int = 0, big_size: int = 0, per_dir: int = 100
) -> tuple[int, int]:
    """Random-content files: ``n_small`` in subdirectories of ``per_dir``, ``n_big`` under ``big/``.

    Returns (file count, total bytes). Random content, so every file has its own hash.
    """
    for i in range(n_small):
        d = root / f"d{i // per_dir:03d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.bin").write_bytes(os.urandom(small_size))
    for i in range(n_big):
        write_random(root / "big" / f"big{i:02d}.bin", big_size)
    return n_small + n_big, n_small * small_size + n_big * big_size


def count_files(root: Path | str) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def read_all(root: Path) -> None:
    """Read every file once so the source is in the page cache for every measured run."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb", buffering=0) as f:
                while f.read(8 * MiB):
                    pass


# --- the machine ------------------------------------------------------------------------------------


def _first_line(path: str, prefix: str) -> str | None:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO).stdout.strip()
    except OSError:
        return ""


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    mem_kib = _first_line("/proc/meminfo", "MemTotal")
    base = scratch_base()
    base.mkdir(parents=True, exist_ok=True)
    df = _run("df", "-hT", str(base)).splitlines()
    device = df[1].split()[0] if len(df) > 1 else ""
    rotational = None
    dev_name = os.path.basename(device)
    rot_path = f"/sys/block/{dev_name}/queue/rotational"
    if dev_name and os.path.exists(rot_path):
        rotational = Path(rot_path).read_text().strip() == "1"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": _first_line("/proc/cpuinfo", "model name") or platform.processor(),
        "cpu_count": os.cpu_count(),
        "ram_gib": round(int(mem_kib.split()[0]) / MiB, 1) if mem_kib else None,
        "disk": df[1] if len(df) > 1 else None,
        "disk_rotational_flag": rotational,
        "scratch_dir": str(base),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": {name: _version(name) for name in ("union", "fsspec", "s3fs", "moto")},
        "git_commit": _run("git", "rev-parse", "--short", "HEAD"),
        "src_uncommitted_changes": bool(_run("git", "status", "--porcelain", "--", "src")),
    }


# --- which union is measured ------------------------------------------------------------------------


def source_fingerprint(package_dir: Path) -> str:
    """A short hash of every .py file under ``package_dir``: equal fingerprints, same code measured."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@contextmanager
def pinned_source(rev: str) -> Iterator[tuple[str, Path]]:
    """Measure ``src/union`` as committed at ``rev``, unaffected by edits made while the benchmarks run.

    The commit's ``src/`` is extracted to scratch space and put first on ``sys.path`` and ``PYTHONPATH``
    (so child processes import it too). Yields (full commit id, the extracted ``src`` directory).
    """
    sha = _run("git", "rev-parse", "--verify", f"{rev}^{{commit}}")
    if not sha:
        raise SystemExit(f"--commit {rev}: not a commit in {REPO}")
    dest = scratch_base() / f"src-{sha[:12]}"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha, "src"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    src = dest / "src"
    sys.path.insert(0, str(src))
    with env(PYTHONPATH=os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))):
        try:
            yield sha, src
        finally:
            sys.path.remove(str(src))
            shutil.rmtree(dest, ignore_errors=True)
