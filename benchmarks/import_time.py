"""5. ``python -c "import union.remote"`` in fresh interpreters vs ``python -c pass``, and what it loads.

The target applies to the whole command's wall time (interpreter start-up included); the import's own
cost (the difference of the medians) is in the details, with ``-X importtime``'s heaviest modules.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from benchmarks._harness import Result, Target, alternate, scratch

NAME = "import_time"
FORBIDDEN = ("s3fs", "gcsfs", "adlfs", "google.protobuf")
INFORMATIONAL = (
    "fsspec",
    "sqlite3",
    "pluggy",
    "yaml",
    "requests",
    "botocore",
    "aiohttp",
    "importlib.metadata",
)
STATEMENT = "import union.remote"


def _wall_ms(code: str, cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=cwd)
    return (time.perf_counter() - start) * 1000


def _loaded(cwd: str) -> list[str]:
    code = f"{STATEMENT}; import sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=cwd, capture_output=True, text=True)
    return list(json.loads(out.stdout))


def _heaviest(cwd: str, top: int = 8) -> list[str]:
    """The top-level entries of ``-X importtime`` with the largest cumulative time (microseconds)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", STATEMENT],
        check=True,
        cwd=cwd,
        capture_output=True,
        text=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    return [f"{us / 1000:.1f} ms {name.strip()}" for us, name in rows[:top]]


def run(quick: bool = False) -> list[Result]:
    reps = 5 if quick else 15
    with scratch(NAME) as work:
        cwd = str(work)
        _wall_ms("pass", cwd)
        _wall_ms(STATEMENT, cwd)  # first run pays for .pyc compilation
        union_runs, pass_runs = alternate(
            reps, lambda _: _wall_ms(STATEMENT, cwd), lambda _: _wall_ms("pass", cwd)
        )
        loaded = _loaded(cwd)
        heaviest = _heaviest(cwd)

    def present(name: str) -> bool:
        return any(m == name or m.startswith(name + ".") for m in loaded)

    found = [name for name in FORBIDDEN if present(name)]
    timing = Result(
        name=NAME,
        title=f'python -c "{STATEMENT}" (fresh interpreter)',
        unit="ms",
        runs=union_runs,
        baseline='python -c "pass"',
        baseline_runs=pass_runs,
        target=Target("max_value", 150, "<= 150 ms"),
        notes=["wall time of the whole subprocess, interpreter start-up included"],
        details={
            "import_cost_ms": statistics.median(union_runs) - statistics.median(pass_runs),
            "heaviest_imports": heaviest,
            "modules_loaded": len(loaded),
            "also_loaded": [name for name in INFORMATIONAL if present(name)],
        },
    )
    modules = Result(
        name=f"{NAME}_modules",
        title=f"backends not imported by {STATEMENT} ({', '.join(FORBIDDEN)})",
        unit="modules",
        runs=[float(len(found))],
        target=Target("max_value", 0, "none loaded"),
        details={"forbidden_loaded": found},
    )
    return [timing, modules]
