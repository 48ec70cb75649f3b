"""Whether this process is an engine task's, and the guard that keeps such processes from starting runs.

The engine's worker imports a task's module, then calls the task, in a child process it marks with
``UNION_ENGINE_TASK_RUN`` (the run's name; inherited by anything the task starts). A ``union.run`` at a
script's top level, outside ``if __name__ == "__main__":``, runs again at every such import: were it
allowed, each run's worker would start the next run, without end. So every way of creating a run checks
:func:`refuse_run_in_task` first.
"""

from __future__ import annotations

import os

from union.errors import RunInsideTaskError

TASK_ENV = "UNION_ENGINE_TASK_RUN"


def mark_task_process(run_name: str) -> None:
    """Mark this process (and its future children) as running the engine task of ``run_name``."""
    os.environ[TASK_ENV] = run_name or "?"


def refuse_run_in_task() -> None:
    """Raise RunInsideTaskError when called from an engine task's process."""
    run_name = os.environ.get(TASK_ENV)
    if not run_name:
        return
    raise RunInsideTaskError(
        f"a run cannot be started while the engine imports or runs a task (this process runs the task of "
        f"run {run_name!r}): a script's module-level union.run(...) would start another run each time a "
        'worker imports the script. Put the call under `if __name__ == "__main__":`.'
    )
