"""Runs on the real embedded engine: SQLite on disk, real worker processes."""

from __future__ import annotations

import time

from engine_helpers import outputs, start, wait
from flyteidl2.common import phase_pb2


def test_success_records_outputs_times_and_one_attempt(engine, bundle):
    task = bundle.deploy("pair")
    run_id = start(engine, task, text="ab", times=3)
    assert run_id.name.startswith("r") and run_id.project == "default" and run_id.domain == "development"
    details = wait(engine, run_id)
    action = details.action
    assert action.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED, action.error_info
    assert action.id.name == "a0" and action.id.run == run_id
    assert action.status.attempts == 1 and len(action.attempts) == 1
    assert action.status.start_time.seconds and action.status.end_time.seconds
    assert action.metadata.task.id == task.task_id
    assert not action.HasField("error_info")
    assert outputs(engine, run_id, task) == ("ababab", [0, 1, 2])


def test_wait_notices_the_terminal_phase_quickly(engine, bundle):
    task = bundle.deploy("add")
    lags = []
    for i in range(5):
        run_id = start(engine, task, a=i)
        details = wait(engine, run_id)
        noticed = time.time()
        end = details.action.status.end_time.ToNanoseconds() / 1e9
        lags.append(noticed - end)
    lags.sort()
    print("lags", lags)
    assert lags[len(lags) // 2] < 0.1
