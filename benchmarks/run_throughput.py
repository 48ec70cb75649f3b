"""Throughput of the embedded engine: N no-op runs submitted back to back, then waited for.

runs/s = N / (the last run's ``runs.ended_at`` - the moment the first ``union.run`` call began). The
per-run overhead is split with the timestamps the engine records, plus client-side timers:

- submit (client): ``union.run`` per call, split into the deploy check (``union._run.deploy``: bundle
  hash check with the hash cache, ``GetTaskDetails``) and ``create_run`` (``union._run._start``: insert,
  then a scheduler tick that may spawn a worker);
- queue wait: ``launched_at - created_at`` (grows with the batch: runs wait for a free slot);
- worker start-up: ``started_at - launched_at`` (``Popen`` of ``python -m union.engine.worker``,
  interpreter start, imports, ``start_run``);
- attempt set-up: the attempt row's ``started_at`` - the run's ``started_at``;
- task process start-up: the task's first stamp (printed to the attempt's stdout.log) - the attempt's
  ``started_at`` (``Popen`` of the attempt child, protobuf/flyteidl2/union.types imports, loading the
  bundle, decoding inputs);
- task execution: the task's last stamp - its first;
- outputs write: the mtime of the attempt's ``result.json`` - the task's last stamp (outputs to literals,
  ``outputs.pb`` stored through union.storage);
- terminal record: ``runs.ended_at`` - the ``result.json`` mtime (child exit, the supervisor wakes,
  ``finish_run``).

The same segments are also recorded for runs started one at a time (each waited for before the next):
the cost of one run with no queue and no second run competing for the cores.

Baseline: N sequential ``python -c pass`` spawns (``subprocess.run``), the bare process-start cost; each
run starts two Python processes (worker and attempt). Concurrency is the engine default (the CPU count).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks._harness import Result, Target, timed
from benchmarks.run_common import Engine, isolated_engine

NAME = "run_throughput"
SEGMENTS = (
    "queue wait",
    "worker start-up",
    "attempt set-up",
    "task process start-up",
    "task execution",
    "outputs write",
    "terminal record",
)
ATTEMPT_IMPORTS = (
    "import union.engine.executor, union.types, google.protobuf.json_format, flyteidl2.task.common_pb2, "
    "flyteidl2.task.run_pb2, flyteidl2.task.task_definition_pb2"
)


@contextmanager
def timing(module: ModuleType, attribute: str, into: list[float]) -> Iterator[None]:
    """Wrap ``module.attribute`` so each call's duration is appended to ``into``; restored afterwards."""
    original: Callable[..., Any] = getattr(module, attribute)

    def timed_call(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - start)

    setattr(module, attribute, timed_call)
    try:
        yield
    finally:
        setattr(module, attribute, original)


def segments(engine: Engine, name: str) -> dict[str, float]:
    """One run's time in each segment (seconds), from the engine's records of it."""
    row = engine.row(name)
    assert row["phase"] == 5, f"run {name} ended in phase {row['phase']}: {row['error_message']}"
    attempt = engine.attempts(row["id"])[-1]
    stdout = Path(attempt["stdout_path"])
    stamps = {
        key: float(value)
        for key, value in (
            line.split() for line in stdout.read_text().splitlines() if line.startswith("task-")
        )
    }
    written = (stdout.parent / "result.json").stat().st_mtime
    return {
        "queue wait": row["launched_at"] - row["created_at"],
        "worker start-up": row["started_at"] - row["launched_at"],
        "attempt set-up": attempt["started_at"] - row["started_at"],
        "task process start-up": stamps["task-start"] - attempt["started_at"],
        "task execution": stamps["task-end"] - stamps["task-start"],
        "outputs write": written - stamps["task-end"],
        "terminal record": row["ended_at"] - written,
    }


def batch(engine: Engine, n: int) -> dict[str, Any]:
    """Submit ``n`` no-op runs, wait for all; the rate, client timers and every run's segments."""
    import union
    import union._run as run_module

    deploy_s: list[float] = []
    create_s: list[float] = []
    submit_s: list[float] = []
    with timing(run_module, "deploy", deploy_s), timing(run_module, "_start", create_s):
        began = time.time()
        runs = []
        for _ in range(n):
            start = time.perf_counter()
            runs.append(union.run(engine.tasks.noop))
            submit_s.append(time.perf_counter() - start)
        submitted = time.time()
    for r in runs:
        r.wait(timeout=900)
    per_run = [segments(engine, r.name) for r in runs]
    last_end = max(engine.row(r.name)["ended_at"] for r in runs)
    return {
        "rate": n / (last_end - began),
        "submit_all_s": submitted - began,
        "submit": submit_s,
        "deploy": deploy_s,
        "create": create_s,
        "per_run": per_run,
    }


def one_at_a_time(engine: Engine, n: int) -> list[dict[str, float]]:
    """Segments of ``n`` runs started one after another, each waited for: the overhead of one run with
    no queue and no other run competing for the two cores."""
    import union

    out = []
    for _ in range(n):
        r = union.run(engine.tasks.noop)
        r.wait(timeout=300)
        seg = segments(engine, r.name)
        row = engine.row(r.name)
        seg["total (created to ended)"] = row["ended_at"] - row["created_at"]
        out.append(seg)
    return out


def spawn_pass(n: int) -> float:
    """Seconds for ``n`` sequential ``python -c pass`` processes."""

    def spawns() -> None:
        for _ in range(n):
            subprocess.run([sys.executable, "-c", "pass"], check=True)

    return timed(spawns)


def probe(code: list[str], reps: int = 5) -> float:
    """Median seconds of one ``python <code>`` process (exit status ignored)."""
    return statistics.median(
        timed(lambda: subprocess.run([sys.executable, *code], capture_output=True, check=False))
        for _ in range(reps)
    )


def ms(values: list[float]) -> dict[str, float]:
    """Median and mean in ms: medians hide the rare slow call (a worker spawn), means add up."""
    return {
        "median": round(statistics.median(values) * 1000, 1),
        "mean": round(statistics.fmean(values) * 1000, 1),
    }


def run(quick: bool = False) -> list[Result]:
    n = 10 if quick else 200
    reps = 2 if quick else 3
    rates: list[float] = []
    baseline_rates: list[float] = []
    batches: list[dict[str, Any]] = []
    with isolated_engine(NAME) as engine:
        engine.warm_up(2)
        alone = one_at_a_time(engine, 5 if quick else 20)
        for i in range(reps):
            # Alternate which goes first, as the harness's alternate() does (kept inline: two measures).
            if i % 2:
                baseline_rates.append(n / spawn_pass(n))
            batches.append(batch(engine, n))
            rates.append(batches[-1]["rate"])
            if not i % 2:
                baseline_rates.append(n / spawn_pass(n))
            print(
                f"    rep {i + 1}/{reps}: {rates[-1]:.2f} runs/s vs {baseline_rates[-1]:.1f} spawns/s",
                flush=True,
            )
        worker_probe = probe(["-m", "union.engine.worker"])
        attempt_probe = probe(["-c", ATTEMPT_IMPORTS])
        pass_probe = probe(["-c", "pass"])
        concurrency = engine.transport.concurrency
    per_run = [seg for b in batches for seg in b["per_run"]]
    breakdown = {name: ms([seg[name] for seg in per_run]) for name in SEGMENTS}
    service = [sum(seg[name] for name in SEGMENTS if name != "queue wait") for seg in per_run]
    return [
        Result(
            name=NAME,
            title=f"{n} no-op runs submitted and finished, embedded engine (concurrency {concurrency})",
            unit="runs/s",
            runs=rates,
            baseline=f"{n} sequential `python -c pass` spawns (spawns/s)",
            baseline_runs=baseline_rates,
            target=Target(
                "min_ratio", 0.1, ">= 0.1x the bare spawn rate (a goal set here; issue 3 sets none)"
            ),
            notes=[
                "runs/s = N / (last runs.ended_at - start of the first union.run call), submission included",
                "per-run segments are medians over every run of every repetition, in ms (see the module)",
                "the no-op task prints two time stamps (task-start/task-end) to its stdout.log",
                f"each run starts 2 Python processes; one bare start costs {pass_probe * 1000:.0f} ms here",
            ],
            details={
                "runs_per_rep": n,
                "concurrency": concurrency,
                "client_ms": {
                    "union.run (whole call)": ms([s for b in batches for s in b["submit"]]),
                    "deploy check": ms([s for b in batches for s in b["deploy"]]),
                    "create_run (incl. scheduler tick)": ms([s for b in batches for s in b["create"]]),
                },
                "submit_all_s": [round(b["submit_all_s"], 2) for b in batches],
                "engine_ms": breakdown,
                "engine_ms_one_run_at_a_time": {
                    name: ms([seg[name] for seg in alone]) for name in (*SEGMENTS, "total (created to ended)")
                },
                "service_ms (start-up to terminal, no queue)": ms(service),
                "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
                "process_probes_ms": {
                    "python -c pass": round(pass_probe * 1000, 1),
                    "python -m union.engine.worker (supervisor imports, usage exit)": round(
                        worker_probe * 1000, 1
                    ),
                    "python -c '<attempt child imports>'": round(attempt_probe * 1000, 1),
                },
            },
        )
    ]
