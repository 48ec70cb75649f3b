"""``Run.wait`` latency: how long after the worker records a terminal phase does ``wait()`` return?

Each of N runs sleeps briefly in its task while this process waits on it with ``run.wait()`` (the watch
stream of the embedded engine on a helper thread). The worker writes ``runs.ended_at`` (``time.time()``)
in the same transaction that records SUCCEEDED; the latency is ``time.time()`` right after ``wait()``
returned minus that stamp. Same machine, same clock. ``wait`` runs with its default ``sync_nodes=True``,
so the figure includes fetching the outputs; the moment the terminal phase was first seen (``on_update``)
is reported too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from benchmarks._harness import Result, Target
from benchmarks.run_common import isolated_engine, summary

NAME = "run_wait_latency"
SLEEP_S = 0.3
TERMINAL = {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT", "RECOVERED"}


def measure(n: int, tasks: Any, row: Callable[[str], Any]) -> tuple[list[float], list[float]]:
    """Run ``tasks.sleep`` ``n`` times, one at a time, waiting on each; returns the ms from the worker's
    ``ended_at`` (read with ``row(name)``) to ``wait()`` returning, and to the terminal phase being seen."""
    import union

    returned_ms: list[float] = []
    noticed_ms: list[float] = []
    for i in range(n):
        seen: list[float] = []

        def on_update(r: union.remote.Run, seen: list[float] = seen) -> None:
            if r.phase in TERMINAL and not seen:
                seen.append(time.time())

        # A slightly different length each time, so the end falls anywhere in the watcher's poll cycle.
        run_ = union.run(tasks.sleep, seconds=SLEEP_S + (i % 7) * 0.013)
        run_.wait(timeout=120, on_update=on_update)
        back = time.time()
        ended = row(run_.name)["ended_at"]
        assert run_.phase == "SUCCEEDED" and ended, f"run {run_.name} ended {run_.phase}"
        returned_ms.append((back - ended) * 1000)
        noticed_ms.append((seen[0] - ended) * 1000)
        print(f"    run {i + 1}/{n}: wait returned {returned_ms[-1]:.1f} ms after ended_at", flush=True)
    return returned_ms, noticed_ms


def run(quick: bool = False) -> list[Result]:
    n = 5 if quick else 30
    with isolated_engine(NAME) as engine:
        engine.warm_up(1)
        returned_ms, noticed_ms = measure(n, engine.tasks, engine.row)
    return [
        Result(
            name=NAME,
            title=f"Run.wait returns after the worker records the terminal phase ({n} runs, embedded engine)",
            unit="ms",
            runs=returned_ms,
            target=Target("max_value", 100.0, "median <= 100 ms"),
            notes=[
                "latency = time.time() when wait() returned - runs.ended_at written by the worker",
                "wait(sync_nodes=True): includes fetching the outputs of the succeeded run",
                f"each task sleeps {SLEEP_S:g}-{SLEEP_S + 6 * 0.013:g} s; runs one at a time",
            ],
            details={
                "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
                "returned_ms": summary(returned_ms),
                "terminal_phase_seen_ms": summary(noticed_ms),
                "runs": n,
            },
        )
    ]
