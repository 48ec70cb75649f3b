"""Starting queued runs and noticing dead workers, without a daemon.

Whoever submits or polls calls :func:`tick`: it marks runs whose worker vanished (FAILED with a
KIND_SYSTEM error), then starts the oldest queued runs while fewer than the concurrency limit are active.
A worker ticks once more after recording its own result, so the queue drains with no client alive.
Workers are started detached (a new session), so a run outlives the process that submitted it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from union.engine import procs
from union.engine.store import INITIALIZING, KIND_SYSTEM, QUEUED, ErrorRecord, Store

CONCURRENCY_ENV = "UNION_ENGINE_CONCURRENCY"
# A run claimed for launch whose worker never showed up (the launcher died in between) is lost after this.
LAUNCH_GRACE_S = 30.0

_children: list[subprocess.Popen[bytes]] = []
_children_lock = threading.Lock()


def concurrency_limit(explicit: int | None = None) -> int:
    """How many runs may be active at once: the argument, ``$UNION_ENGINE_CONCURRENCY``, or the CPU count."""
    if explicit is not None:
        value: object = explicit
        where = "concurrency"
    else:
        value = os.environ.get(CONCURRENCY_ENV) or (os.cpu_count() or 1)
        where = f"${CONCURRENCY_ENV}"
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        from union.errors import ConfigError

        raise ConfigError(f"{where}: {value!r} is not a whole number of at least 1. Set it to e.g. 4.")
    return number


def worker_env(limit: int) -> dict[str, str]:
    """The environment of a worker: ours, the concurrency limit, and this ``union`` on the path."""
    env = dict(os.environ)
    env[CONCURRENCY_ENV] = str(limit)
    src = str(Path(__file__).resolve().parents[2])
    path = env.get("PYTHONPATH", "")
    if src not in path.split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join([src, path]) if path else src
    return env


def _reap_children() -> None:
    """Collect workers this process started that have exited (no zombies in long-lived clients)."""
    with _children_lock:
        _children[:] = [child for child in _children if child.poll() is None]


def spawn_worker(store: Store, run_id: int, limit: int) -> None:
    run_dir = store.runs_dir / str(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "worker.log", "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "union.engine.worker", "run", str(store.path), str(run_id)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=worker_env(limit),
            cwd=run_dir,
        )
    with _children_lock:
        _children.append(child)
    store.set_worker(run_id, child.pid, procs.start_time(child.pid))


def lost_error(store: Store, run_id: int, pid: int | None) -> ErrorRecord:
    log = store.runs_dir / str(run_id) / "worker.log"
    if pid is None:
        return ErrorRecord(
            KIND_SYSTEM,
            "union.engine.WorkerLost",
            f"no worker process started for this run within {LAUNCH_GRACE_S:.0f}s "
            "(the process launching it exited). Run it again.",
        )
    return ErrorRecord(
        KIND_SYSTEM,
        "union.engine.WorkerLost",
        f"the worker process (pid {pid}) died without recording a result: it was killed "
        f"(for example by SIGKILL or the out-of-memory killer), or could not start (see {log}). "
        "Run it again.",
    )


def reap(store: Store, run_ids: set[int] | None = None) -> int:
    """Mark active runs whose worker is gone as FAILED (ABORTED if asked to abort); returns how many."""
    marked = 0
    for row in store.active_runs():
        if run_ids is not None and row["id"] not in run_ids:
            continue
        pid = row["worker_pid"]
        if pid is None:
            if row["phase"] != INITIALIZING or time.time() - (row["launched_at"] or 0) < LAUNCH_GRACE_S:
                continue
        elif procs.is_alive(pid, row["worker_start"]):
            continue
        if store.fail_lost(row["id"], row["phase"], pid, lost_error(store, row["id"], pid)):
            marked += 1
            _kill_leftovers(store, row["id"], pid)
    return marked


def _kill_leftovers(store: Store, run_id: int, worker_pid: int | None) -> None:
    """The task process of a dead worker runs in its own session: stop it too."""
    attempts = store.attempts(run_id)
    if attempts:
        last = attempts[-1]
        if last["pid"]:
            procs.signal_group(last["pid"], last["pid_start"], signal.SIGKILL)
    procs.kill_orphans(worker_pid)


def tick(store: Store, limit: int) -> list[int]:
    """Reap dead workers, then start queued runs in submission order up to ``limit``; returns those started."""
    _reap_children()
    reap(store)
    if store.read_one("SELECT 1 FROM runs WHERE phase = ? LIMIT 1", (QUEUED,)) is None:  # cheap: no lock
        return []
    started = store.claim_queued(limit)
    for run_id in started:
        try:
            spawn_worker(store, run_id, limit)
        except OSError as exc:
            error = ErrorRecord(KIND_SYSTEM, "union.engine.WorkerLost", f"could not start a worker: {exc}")
            store.fail_lost(run_id, INITIALIZING, None, error)
    return started


def kill_all(store: Store) -> None:
    """SIGKILL every active worker and task process of this store (test teardown, ``union`` resets).

    A few passes, because a worker finishing meanwhile may have started the next queued run."""
    for _ in range(5):
        active = store.active_runs()
        if not active:
            return
        for row in active:
            _kill_task(store, row["id"])
            if row["worker_pid"]:
                procs.signal_group(row["worker_pid"], row["worker_start"], signal.SIGKILL)
        _reap_children()
        with contextlib.suppress(Exception):
            reap(store)


def _kill_task(store: Store, run_id: int) -> None:
    for attempt in store.attempts(run_id):
        if attempt["pid"] and attempt["ended_at"] is None:
            procs.signal_group(attempt["pid"], attempt["pid_start"], signal.SIGKILL)


__all__ = ["CONCURRENCY_ENV", "concurrency_limit", "kill_all", "reap", "spawn_worker", "tick"]
