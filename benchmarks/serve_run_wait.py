"""``Run.wait`` latency over a ``WatchRunDetails`` stream from ``union serve`` (HTTP, Connect streaming).

Like ``run_wait_latency``, but the control plane is ``union serve`` in its own process: each of N runs
sleeps briefly in a worker the server started while this process waits with ``run.wait()``, which holds a
server stream open. The worker stamps ``runs.ended_at`` (``time.time()``) when it records SUCCEEDED; the
latency is ``time.time()`` when ``wait()`` returned minus that stamp (same machine, same clock), including
fetching the outputs. Baseline: the same measurement against the embedded engine in this process.
"""

from __future__ import annotations

import os

from benchmarks._harness import Result, Target
from benchmarks.run_common import isolated_engine, summary
from benchmarks.run_wait_latency import SLEEP_S, measure
from benchmarks.serve_common import served

NAME = "serve_run_wait"


def run(quick: bool = False) -> list[Result]:
    n = 5 if quick else 30
    with served(NAME) as server:
        measure(2, server.tasks, server.row)  # warm: deploy, bytecode caches, connections
        wire_ms, wire_seen_ms = measure(n, server.tasks, server.row)
    with isolated_engine(NAME) as engine:
        engine.warm_up(1)
        local_ms, _ = measure(n, engine.tasks, engine.row)
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
                "wire_terminal_phase_seen_ms": summary(wire_seen_ms),
                "embedded_ms": summary(local_ms),
                "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
                "runs": n,
            },
        )
    ]
