"""Shared set-up for the ``run_*`` benchmarks (not a benchmark itself: it has no NAME and no ``run``).

``isolated_engine(name)`` gives each benchmark its own embedded engine: fresh data, cache and home
directories in scratch space, no inherited ``UNION_*`` settings (so the default concurrency, the CPU
count, applies), the config/plugin/transport singletons reset before and after, and every worker it
started killed at the end. It also writes a tiny task module (the code bundle) and imports it.

Bytecode: this environment sets ``PYTHONDONTWRITEBYTECODE=1`` and the virtualenv holds no ``.pyc`` for
protobuf or flyteidl2, so every worker would recompile them (about 0.3 s more per attempt on this machine).
A user's normal Python caches bytecode, so, like the engine tests, the workers get a bytecode cache in the
scratch directory (``PYTHONPYCACHEPREFIX``) that a warm-up run fills before anything is measured.
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from benchmarks._harness import env, scratch

if TYPE_CHECKING:
    import sqlite3

    from union.engine.transport import EmbeddedTransport
    from union.remote import Run

TASKS_MODULE = "bench_run_tasks"
TASKS_SOURCE = '''\
"""Tasks the run_* benchmarks run on the embedded engine."""

import time

import union


@union.task
def noop() -> None:
    # The two stamps go to the attempt's stdout.log: when the function started and ended.
    print(f"task-start {time.time()!r}", flush=True)
    print(f"task-end {time.time()!r}", flush=True)


@union.task
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
'''


@dataclass
class Engine:
    """One isolated embedded engine: its scratch folder, the task module, the transport ``Run`` uses."""

    work: Path
    tasks: ModuleType
    transport: EmbeddedTransport

    @property
    def db(self) -> Path:
        return self.transport.store.path

    def row(self, name: str) -> sqlite3.Row:
        """The engine's own record of a run (the ``runs`` table), by run name."""
        found = self.transport.store.read_one("SELECT * FROM runs WHERE name = ?", (name,))
        assert found is not None, f"run {name} is not in {self.db}"
        return found

    def attempts(self, run_id: int) -> list[sqlite3.Row]:
        return self.transport.store.attempts(run_id)

    def warm_up(self, runs: int = 2) -> Run:
        """Deploy the tasks and run them, so imports, bytecode caches and SQLite are warm; the last run."""
        import union

        last = None
        for _ in range(runs):
            last = union.run(self.tasks.noop)
            last.wait(timeout=120)
            last = union.run(self.tasks.sleep, seconds=0.01)
            last.wait(timeout=120)
            assert last.phase == "SUCCEEDED", f"warm-up run {last.name} ended {last.phase}"
        assert last is not None
        return last


def _reset_singletons() -> None:
    import union.config
    import union.plugins
    from union.remote import _client

    union.config.reset()
    union.plugins.reset()
    _client.reset()


@contextmanager
def isolated_user(name: str) -> Iterator[Path]:
    """Scratch space with its own home, data and cache dirs and no inherited ``UNION_*`` settings; the task
    bundle is written there and put on ``sys.path``, and the config/plugin/transport singletons are reset
    on the way in and out. Yields the scratch folder; :func:`tasks_module` imports the tasks."""
    with scratch(name) as work:
        home, bundle = work / "home", work / "bundle"
        home.mkdir()
        bundle.mkdir()
        (bundle / f"{TASKS_MODULE}.py").write_text(TASKS_SOURCE)
        dropped = {
            k: os.environ.pop(k)
            for k in list(os.environ)
            if k.startswith("UNION_") or k == "PYTHONDONTWRITEBYTECODE"
        }
        try:
            with env(
                HOME=str(home),
                UNION_DATA_DIR=str(work / "data"),
                UNION_CACHE_DIR=str(work / "cache"),
                PYTHONPYCACHEPREFIX=str(work / "pycache"),
            ):
                _reset_singletons()
                sys.path.insert(0, str(bundle))
                try:
                    yield work
                finally:
                    sys.modules.pop(TASKS_MODULE, None)
                    sys.path.remove(str(bundle))
                    _reset_singletons()
        finally:
            os.environ.update(dropped)


def tasks_module() -> ModuleType:
    return importlib.import_module(TASKS_MODULE)


@contextmanager
def isolated_engine(name: str) -> Iterator[Engine]:
    """A fresh embedded engine in scratch space for one benchmark (see the module docstring)."""
    with isolated_user(name) as work:
        transport: Any = None
        try:
            tasks = tasks_module()
            from union.engine.transport import EmbeddedTransport
            from union.remote import _client

            transport = _client.transport()
            assert isinstance(transport, EmbeddedTransport), f"not the embedded engine: {transport!r}"
            yield Engine(work=work, tasks=tasks, transport=transport)
        finally:
            if transport is not None:
                transport.kill_all()
                transport.close()


def percentile(values: list[float], q: int) -> float:
    """The ``q``-th percentile (1..99) with linear interpolation; the value itself for one sample."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summary(values: list[float]) -> dict[str, float]:
    """p50, p90, min and max, rounded for the report."""
    return {
        "p50": round(statistics.median(values), 2),
        "p90": round(percentile(values, 90), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def wait_for(predicate: Any, timeout: float, every: float = 0.05) -> None:
    """Poll ``predicate()`` until it is true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up after {timeout:g}s waiting for {predicate}"
        time.sleep(every)
