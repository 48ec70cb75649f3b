"""Runs outlive, and survive the death of, the processes around them: cancel, kill -9, exit, many clients."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from engine_helpers import phase_of, start, wait, wait_for
from flyteidl2.common import phase_pb2
from flyteidl2.workflow import run_definition_pb2 as rd

from union.engine import procs

RUNNING = phase_pb2.ACTION_PHASE_RUNNING


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that shares this test's data directory (the environment)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def _row(engine, run_id):
    return engine.store.get_run("", run_id.project, run_id.domain, run_id.name)


def _task_pid(marker: Path) -> int:
    wait_for(lambda: marker.exists() and marker.read_text() != "")
    return int(marker.read_text())


def test_cancel_from_another_process_aborts_the_run_and_stops_its_task(engine, bundle, tmp_path):
    marker = tmp_path / "pid"
    run_id = start(engine, bundle.deploy("pid_then_sleep"), marker=str(marker), seconds=60.0)
    task_pid = _task_pid(marker)
    assert phase_of(engine, run_id) == RUNNING
    _python(
        """
        import sys
        from flyteidl2.common import identifier_pb2
        from flyteidl2.workflow import run_service_pb2 as runs
        from union.engine.transport import EmbeddedTransport

        run_id = identifier_pb2.RunIdentifier(project=sys.argv[1], domain=sys.argv[2], name=sys.argv[3])
        EmbeddedTransport().abort_run(runs.AbortRunRequest(run_id=run_id, reason="changed my mind"))
        """,
        run_id.project,
        run_id.domain,
        run_id.name,
    )
    action = wait(engine, run_id, timeout=20).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_ABORTED
    assert action.abort_info.reason == "changed my mind"
    assert not action.HasField("error_info")
    wait_for(lambda: procs.start_time(task_pid) is None, timeout=10)


def test_cancelling_a_queued_run_aborts_it_at_once(isolated_user, bundle, tmp_path):
    from flyteidl2.workflow import run_service_pb2 as runs

    from union.engine.transport import EmbeddedTransport

    engine = EmbeddedTransport(concurrency=1)
    try:
        marker = tmp_path / "pid"
        blocker = start(engine, bundle.deploy("pid_then_sleep"), marker=str(marker), seconds=60.0)
        queued = start(engine, bundle.deploy("add"), a=1)
        assert phase_of(engine, queued) == phase_pb2.ACTION_PHASE_QUEUED
        engine.abort_run(runs.AbortRunRequest(run_id=queued))
        assert phase_of(engine, queued) == phase_pb2.ACTION_PHASE_ABORTED
        engine.abort_run(runs.AbortRunRequest(run_id=blocker))
        assert wait(engine, blocker).action.status.phase == phase_pb2.ACTION_PHASE_ABORTED
    finally:
        engine.kill_all()


def test_a_worker_killed_with_sigkill_is_marked_failed_with_a_clear_error(engine, bundle, tmp_path):
    marker = tmp_path / "pid"
    run_id = start(engine, bundle.deploy("pid_then_sleep", retries=3), marker=str(marker), seconds=60.0)
    task_pid = _task_pid(marker)
    worker_pid = _row(engine, run_id)["worker_pid"]
    assert worker_pid and worker_pid != task_pid
    os.kill(worker_pid, signal.SIGKILL)
    action = wait(engine, run_id, timeout=20).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_FAILED
    assert action.error_info.kind == rd.ErrorInfo.KIND_SYSTEM
    assert f"worker process (pid {worker_pid}) died" in action.error_info.message
    assert action.status.end_time.seconds
    assert action.attempts[-1].phase == phase_pb2.ACTION_PHASE_FAILED
    wait_for(lambda: procs.start_time(task_pid) is None, timeout=10)  # its task was stopped too


def test_a_task_process_killed_by_the_oom_killer_fails_with_the_signal_named(engine, bundle, tmp_path):
    marker = tmp_path / "pid"
    run_id = start(engine, bundle.deploy("pid_then_sleep"), marker=str(marker), seconds=60.0)
    os.kill(_task_pid(marker), signal.SIGKILL)
    action = wait(engine, run_id, timeout=20).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_FAILED
    assert action.error_info.kind == rd.ErrorInfo.KIND_SYSTEM
    assert "killed by SIGKILL" in action.error_info.message


def test_a_run_completes_after_the_process_that_submitted_it_exits(engine, bundle):
    task = bundle.deploy("sleep")
    done = _python(
        """
        import json, sys
        from flyteidl2.task import task_definition_pb2
        from flyteidl2.workflow import run_service_pb2 as runs
        from union.engine.transport import EmbeddedTransport
        import union.types as ut

        task_id = task_definition_pb2.TaskIdentifier.FromString(bytes.fromhex(sys.argv[1]))
        request = runs.CreateRunRequest(task_id=task_id)
        request.inputs.literals.add(name="seconds", value=ut.to_literal(1.0, float))
        run = EmbeddedTransport().create_run(request).run
        print(run.action.id.run.name)
        """,
        task.task_id.SerializeToString().hex(),
    )
    name = done.stdout.strip()
    from flyteidl2.common import identifier_pb2

    run_id = identifier_pb2.RunIdentifier(project="default", domain="development", name=name)
    assert phase_of(engine, run_id) in (phase_pb2.ACTION_PHASE_INITIALIZING, RUNNING)
    action = wait(engine, run_id, timeout=30).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED, action.error_info


SUBMIT = """
import json, sys
from flyteidl2.task import task_definition_pb2
from flyteidl2.workflow import run_service_pb2 as runs
from union.engine.transport import EmbeddedTransport

task_id = task_definition_pb2.TaskIdentifier.FromString(bytes.fromhex(sys.argv[1]))
transport = EmbeddedTransport()
names = [transport.create_run(runs.CreateRunRequest(task_id=task_id)).run.action.id.run.name
         for _ in range(int(sys.argv[2]))]
print(json.dumps(names))
"""


@pytest.mark.slow
def test_fifty_runs_from_four_processes_are_all_kept_and_all_finish(engine, bundle):
    from flyteidl2.workflow import run_service_pb2 as runs

    task = bundle.deploy("noop")
    counts = [13, 13, 12, 12]
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", SUBMIT, task.task_id.SerializeToString().hex(), str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in counts
    ]
    names = []
    for client in clients:
        out, _ = client.communicate(timeout=60)
        assert client.returncode == 0
        names += json.loads(out)
    assert len(names) == len(set(names)) == 50

    def all_terminal() -> bool:
        listed = engine.list_runs(runs.ListRunsRequest(request={"limit": 100})).runs
        return len(listed) == 50 and all(
            r.action.status.phase >= phase_pb2.ACTION_PHASE_SUCCEEDED for r in listed
        )

    wait_for(all_terminal, timeout=120, interval=0.2)
    listed = engine.list_runs(runs.ListRunsRequest(request={"limit": 100})).runs
    assert {r.action.id.run.name for r in listed} == set(names)
    assert {r.action.status.phase for r in listed} == {phase_pb2.ACTION_PHASE_SUCCEEDED}


def test_concurrency_is_bounded_and_queued_runs_start_in_submission_order(isolated_user, bundle, tmp_path):
    from union.engine.transport import EmbeddedTransport

    engine = EmbeddedTransport(concurrency=2)
    try:
        marker = tmp_path / "events"
        task = bundle.deploy("record")
        run_ids = [start(engine, task, marker=str(marker), label=f"n{i}", seconds=0.3) for i in range(5)]
        for run_id in run_ids:
            assert wait(engine, run_id).action.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED
    finally:
        engine.kill_all()
    # FIFO: each run was launched no earlier than every run submitted before it (runs launched by the
    # same tick share a timestamp, and their tasks may then begin in either order).
    launched = [_row(engine, run_id)["launched_at"] for run_id in run_ids]
    assert launched == sorted(launched)
    events = [line.split() for line in marker.read_text().splitlines()]
    assert len(events) == 10
    active = peak = 0
    for kind, _, _ in sorted(events, key=lambda e: (float(e[2]), e[0] == "start")):
        active += 1 if kind == "start" else -1
        peak = max(peak, active)
    assert peak <= 2


def test_the_queue_drains_with_no_client_alive(engine, bundle):
    """Workers tick as they finish: runs queued by a process that has exited all run, one at a time."""
    task = bundle.deploy("noop")
    env = {**os.environ, "UNION_ENGINE_CONCURRENCY": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SUBMIT, task.task_id.SerializeToString().hex(), "3"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    names = json.loads(done.stdout)
    store = engine.store  # read the rows directly: no transport call, so nothing here ticks

    def phases() -> list[int]:
        return [store.get_run("", "default", "development", name)["phase"] for name in names]

    wait_for(lambda: all(p == phase_pb2.ACTION_PHASE_SUCCEEDED for p in phases()), timeout=60, interval=0.1)
    launched = [store.get_run("", "default", "development", name)["launched_at"] for name in names]
    ended = [store.get_run("", "default", "development", name)["ended_at"] for name in names]
    assert launched[1] >= ended[0] and launched[2] >= ended[1]  # one at a time, in order


def test_a_run_whose_launcher_died_before_starting_its_worker_is_failed(engine, monkeypatch):
    from flyteidl2.workflow import run_service_pb2 as runs

    from union.engine import scheduler
    from union.engine.store import NewRun

    task = ("", "default", "development", "t.never", "v1")
    new = NewRun(
        "", "default", "development", "orphan", task, "python-task", "never", b"", b"", b"", {}, 0, None
    )
    row = engine.store.insert_run(new)
    assert engine.store.claim_queued(1) == [row["id"]]  # claimed, but no worker was ever spawned
    monkeypatch.setattr(scheduler, "LAUNCH_GRACE_S", 0.0)
    run_id = _run_id("orphan")
    details = engine.get_run_details(runs.GetRunDetailsRequest(run_id=run_id)).details
    assert details.action.status.phase == phase_pb2.ACTION_PHASE_FAILED
    assert details.action.error_info.kind == rd.ErrorInfo.KIND_SYSTEM
    assert "no worker process started" in details.action.error_info.message


def _run_id(name):
    from flyteidl2.common import identifier_pb2

    return identifier_pb2.RunIdentifier(project="default", domain="development", name=name)
