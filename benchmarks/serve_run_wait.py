"""``Run.wait`` latency over a ``WatchRunDetails`` stream from ``union serve`` (HTTP, Connect streaming).

Like ``run_wait_latency``, but the control plane is ``union serve`` in its own process: each of N runs
sleeps briefly in a worker the server started while this process waits with ``run.wait()``, which holds a
server stream open. The worker stamps ``runs.ended_at`` (``time.time()``) when it records SUCCEEDED; the
latency is ``time.time()`` when ``wait()`` returned minus that stamp (same machine, same clock), including
fetching the outputs. Baseline: the same measurement against the embedded engine in this process.
"""

from __future__ import annotations

import os
import time

from benchmarks._harness import Result, Target
from benchmarks.run_common import isolated_engine, summary
from benchmarks.serve_common import served

NAME = "serve_run_wait"
SLEEP_S = 0.3


def latencies(n: int, tasks: object, row: object) -> list[float]:
    import union

    out: list[float] = []
    for i in range(n):
        run_ = union.run(tasks.sleep, seconds=SLEEP_S + (i % 7) * 0.013)  # type: ignore[attr-defined]
        run_.wait(timeout=120)
        back = time.time()
        ended = row(run_.name)["ended_at"]  # type: ignore[operator]
        assert run_.phase == "SUCCEEDED" and ended, f"run {run_.name} ended {run_.phase}"
        out.append((back - ended) * 1000)
        print(f"    run {i + 1}/{n}: wait returned {out[-1]:.1f} ms after ended_at", flush=True)
    return out


def run(quick: bool = False) -> list[Result]:
    n = 5 if quick else 30
    with served(NAME) as server:
        latencies(2, server.tasks, server.row)  # warm: deploy, bytecode caches, connections
        wire_ms = latencies(n, server.tasks, server.row)
    with isolated_engine(NAME) as engine:
        engine.warm_up(1)
        local_ms = latencies(n, engine.tasks, engine.row)
    return [
        Result(
            name=NAME,
            title=f"Run.wait returns after the worker records the end ({n} runs, union serve over HTTP)",
            unit="ms",
            runs=wire_ms,
            baseline="the same runs on the embedded engine in this process (no HTTP)",
            baseline_runs=local_ms,
            target=Target("max_value", 100.0, "median <= 100 ms (the embedded engine's target)"),
            notes=[
                "latency = time.time() when wait() returned - runs.ended_at written by the worker",
                "wait() holds a WatchRunDetails stream (Connect server streaming) and then fetches outputs",
                f"each task sleeps {SLEEP_S:g}-{SLEEP_S + 6 * 0.013:g} s; runs one at a time",
            ],
            details={
                "wire_ms": summary(wire_ms),
                "embedded_ms": summary(local_ms),
                "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
                "runs": n,
            },
        )
    ]
