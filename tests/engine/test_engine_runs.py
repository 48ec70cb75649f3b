"""Runs on the real embedded engine: SQLite on disk, real worker processes."""

from __future__ import annotations

import time

import pytest
from engine_helpers import TERMINAL, outputs, start, wait
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


def _action_id(run_id):
    from flyteidl2.common import identifier_pb2

    return identifier_pb2.ActionIdentifier(run=run_id, name="a0")


def _log_lines(engine, run_id, attempt=0):
    from flyteidl2.workflow import run_logs_service_pb2 as logs

    request = logs.TailLogsRequest(action_id=_action_id(run_id), attempt=attempt)
    return [
        line.message
        for response in engine.tail_logs(request, timeout=30)
        for group in response.logs
        for line in group.lines
    ]


def test_a_failure_keeps_the_exception_type_code_and_message(engine, bundle):
    from flyteidl2.workflow import run_definition_pb2 as rd

    run_id = start(engine, bundle.deploy("fail"), message="bad input 42")
    action = wait(engine, run_id).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_FAILED
    assert action.error_info.code == "builtins.ValueError"
    assert action.error_info.message == "bad input 42"
    assert action.error_info.kind == rd.ErrorInfo.KIND_USER
    assert action.attempts[0].error_info == action.error_info
    assert any("ValueError: bad input 42" in line for line in _log_lines(engine, run_id))

    action = wait(engine, start(engine, bundle.deploy("fail_custom"))).action
    assert action.error_info.code == "engine_tasks.Custom"
    assert action.error_info.message == "custom failure"


def test_a_timeout_kills_the_task_and_records_timed_out(engine, bundle):
    from flyteidl2.workflow import run_definition_pb2 as rd

    began = time.monotonic()
    run_id = start(engine, bundle.deploy("sleep", timeout=0.5), seconds=30.0)
    action = wait(engine, run_id).action
    assert time.monotonic() - began < 10
    assert action.status.phase == phase_pb2.ACTION_PHASE_TIMED_OUT
    assert action.error_info.kind == rd.ErrorInfo.KIND_SYSTEM
    assert action.error_info.code == "builtins.TimeoutError"
    assert "timeout of 0.5s" in action.error_info.message
    assert any("timeout of 0.5s" in line for line in _log_lines(engine, run_id))


def test_a_retry_runs_a_second_attempt_after_a_failure(engine, bundle, tmp_path):
    run_id = start(engine, bundle.deploy("flaky", retries=2), marker=str(tmp_path / "marker"))
    action = wait(engine, run_id).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED, action.error_info
    assert action.status.attempts == 2
    first, second = action.attempts
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.phase == phase_pb2.ACTION_PHASE_FAILED and first.error_info.code == "builtins.RuntimeError"
    assert second.phase == phase_pb2.ACTION_PHASE_SUCCEEDED and not second.HasField("error_info")
    assert not action.HasField("error_info")
    assert outputs(engine, run_id, bundle.deploy("flaky", retries=2)) == "second attempt"
    assert any("first attempt fails" in line for line in _log_lines(engine, run_id, attempt=1))


def test_retries_are_used_up_before_a_run_fails(engine, bundle):
    action = wait(engine, start(engine, bundle.deploy("fail", retries=1), message="always")).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_FAILED
    assert [a.phase for a in action.attempts] == [phase_pb2.ACTION_PHASE_FAILED] * 2


def test_each_attempts_stdout_and_stderr_are_kept_and_served(engine, bundle):
    run_id = start(engine, bundle.deploy("chatty"), lines=3)
    action = wait(engine, run_id).action
    lines = _log_lines(engine, run_id)
    assert lines[:3] == ["out 0", "out 1", "out 2"] and "to stderr" in lines
    names = {log.name: log.uri for log in action.attempts[0].log_info}
    assert set(names) == {"stdout", "stderr"} and names["stdout"].startswith("file://")
    assert action.attempts[0].logs_available


def test_tail_logs_follows_a_running_attempt_until_it_ends(engine, bundle):
    run_id = start(engine, bundle.deploy("chatty"), lines=2)
    lines = _log_lines(engine, run_id)  # started before the task prints anything
    assert lines[:2] == ["out 0", "out 1"]


def test_action_data_returns_inputs_and_outputs(engine, bundle):
    from flyteidl2.workflow import run_service_pb2 as runs

    run_id = start(engine, bundle.deploy("add"), a=40, b=2)
    wait(engine, run_id)
    data = engine.get_action_data(runs.GetActionDataRequest(action_id=_action_id(run_id)))
    inputs = {nl.name: nl.value.scalar.primitive.integer for nl in data.inputs.literals}
    assert inputs == {"a": 40, "b": 2}
    assert [(nl.name, nl.value.scalar.primitive.integer) for nl in data.outputs.literals] == [("o0", 42)]


def test_paths_travel_through_storage_both_ways(engine, bundle, tmp_path):
    import union.config
    from union.storage.files import StorageFiles

    files = StorageFiles(union.config.current(), tmp_path / "downloads")
    source = tmp_path / "in.txt"
    source.write_text("hello")
    task = bundle.deploy("roundtrip_file")
    run_id = start(engine, task, files=files, path=source)
    action = wait(engine, run_id).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED, action.error_info
    assert outputs(engine, run_id, task, files=files).read_text() == "HELLO"

    folder = tmp_path / "tree"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    task = bundle.deploy("roundtrip_dir")
    run_id = start(engine, task, files=files, folder=folder)
    action = wait(engine, run_id).action
    assert action.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED, action.error_info
    assert outputs(engine, run_id, task) == ["a.txt", "sub/b.txt"]


def test_watch_and_tail_give_up_with_a_typed_error_when_their_timeout_expires(engine, bundle):
    from flyteidl2.workflow import run_logs_service_pb2 as logs
    from flyteidl2.workflow import run_service_pb2 as runs

    from union.errors import DeadlineExceededError

    run_id = start(engine, bundle.deploy("sleep"), seconds=60.0)
    began = time.monotonic()
    seen = []
    with pytest.raises(DeadlineExceededError):
        for event in engine.watch_run_details(runs.WatchRunDetailsRequest(run_id=run_id), timeout=0.5):
            seen.append(event.details.action.status.phase)
    assert time.monotonic() - began < 5 and seen and seen[-1] not in TERMINAL
    with pytest.raises(DeadlineExceededError):
        list(engine.tail_logs(logs.TailLogsRequest(action_id=_action_id(run_id)), timeout=0.3))
    engine.abort_run(runs.AbortRunRequest(run_id=run_id))
    assert wait(engine, run_id).action.status.phase == phase_pb2.ACTION_PHASE_ABORTED


def test_action_details_and_list_actions_describe_the_root_action(engine, bundle):
    from flyteidl2.workflow import run_service_pb2 as runs

    task = bundle.deploy("add")
    run_id = start(engine, task, a=1)
    run_details = wait(engine, run_id)
    details = engine.get_action_details(runs.GetActionDetailsRequest(action_id=_action_id(run_id))).details
    assert details == run_details.action
    assert details.task.task_template.id.name == task.task_id.name
    assert details.metadata.task.task_type == "python-task" and details.metadata.task.short_name == "add"
    actions = engine.list_actions(runs.ListActionsRequest(run_id=run_id)).actions
    assert [a.id.name for a in actions] == ["a0"]
    assert actions[0].status == details.status


def test_the_run_specs_environment_variables_reach_the_task(engine, bundle):
    from engine_helpers import run_request

    task = bundle.deploy("env")
    request = run_request(task, var="GREETING")
    request.run_spec.envs.values.add(key="GREETING", value="hello from the run spec")
    run_id = engine.create_run(request).run.action.id.run
    details = wait(engine, run_id)
    assert details.run_spec.envs.values[0].key == "GREETING"
    assert outputs(engine, run_id, task) == "hello from the run spec"
