"""The engine's RPCs that need no task to run: tasks, listing and paging, errors, upload locations, plugin."""

from __future__ import annotations

import subprocess
import sys

import pytest
from engine_helpers import phase_of, run_request, start, wait, wait_for
from flyteidl2.common import identifier_pb2, phase_pb2
from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy
from flyteidl2.task import task_definition_pb2
from flyteidl2.task import task_service_pb2 as tasks
from flyteidl2.workflow import run_definition_pb2 as rd
from flyteidl2.workflow import run_logs_service_pb2 as logs
from flyteidl2.workflow import run_service_pb2 as runs

import union.config
from union.engine import store
from union.engine.transport import EmbeddedTransport
from union.errors import (
    AlreadyExistsError,
    EngineStateError,
    NotFoundError,
    RunNotFoundError,
    TaskNotFoundError,
    TransportError,
)


def test_store_phase_and_kind_numbers_are_flyteidl2s():
    assert store.QUEUED == phase_pb2.ACTION_PHASE_QUEUED
    assert store.INITIALIZING == phase_pb2.ACTION_PHASE_INITIALIZING
    assert store.RUNNING == phase_pb2.ACTION_PHASE_RUNNING
    assert store.SUCCEEDED == phase_pb2.ACTION_PHASE_SUCCEEDED
    assert store.FAILED == phase_pb2.ACTION_PHASE_FAILED
    assert store.ABORTED == phase_pb2.ACTION_PHASE_ABORTED
    assert store.TIMED_OUT == phase_pb2.ACTION_PHASE_TIMED_OUT
    assert store.RECOVERED == phase_pb2.ACTION_PHASE_RECOVERED
    assert (store.KIND_USER, store.KIND_SYSTEM) == (rd.ErrorInfo.KIND_USER, rd.ErrorInfo.KIND_SYSTEM)


def test_importing_the_engine_package_loads_neither_sqlite_nor_protobuf():
    code = (
        "import sys, union, union.engine;"
        "print(sorted(m for m in sys.modules if m.startswith(('flyteidl2', 'google.protobuf', 'sqlite3'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_builtin_union_transport_hook_is_the_engine_without_an_endpoint(isolated_user):
    from union.plugins import hook
    from union.transport import Transport, transport_for

    transport = transport_for(union.config.current())
    assert isinstance(transport, EmbeddedTransport) and isinstance(transport, Transport)
    assert transport.path == isolated_user / "data" / "engine.sqlite"
    remote = union.config.resolve(endpoint="dns:///example.com")
    found = hook().union_transport(config=remote)  # an endpoint: the Connect client, not the engine
    assert not isinstance(found, EmbeddedTransport) and type(found).__name__ == "ConnectTransport"


def test_deploy_is_idempotent_and_latest_is_the_most_recent_deploy(engine, bundle):
    first = bundle.deploy("add")
    again = bundle.deploy("add")  # identical spec, same version: nothing changes
    assert again.task_id == first.task_id
    second = bundle.deploy("add", retries=1, name=first.task_id.name)
    latest = task_definition_pb2.TaskIdentifier(
        project="default", domain="development", name=first.task_id.name
    )
    details = engine.get_task_details(tasks.GetTaskDetailsRequest(task_id=latest)).details
    assert details.task_id == second.task_id
    assert details.spec.task_template.metadata.retries.retries == 1
    assert details.metadata.short_name == "add" and details.metadata.deployed_at.seconds
    pinned = engine.get_task_details(tasks.GetTaskDetailsRequest(task_id=first.task_id)).details
    assert pinned.task_id == first.task_id

    changed = task_definition_pb2.TaskSpec()
    changed.CopyFrom(pinned.spec)
    changed.short_name = "different"
    with pytest.raises(AlreadyExistsError, match="immutable"):
        engine.deploy_task(tasks.DeployTaskRequest(task_id=first.task_id, spec=changed))


def test_list_tasks_pages_through_the_latest_version_of_each_task(engine, bundle):
    names = ["add", "noop", "pair", "fail", "sleep"]
    for name in names:
        bundle.deploy(name)
    bundle.deploy("add", retries=2)  # a newer version of "add": listed once, first
    seen, token = [], ""
    while True:
        page = engine.list_tasks(
            tasks.ListTasksRequest(
                request={"limit": 2, "token": token}, project_id={"name": "default", "domain": "development"}
            )
        )
        assert len(page.tasks) <= 2
        seen += [t.task_id for t in page.tasks]
        token = page.token
        if not token:
            break
    assert [t.name.rsplit(".", 1)[-1] for t in seen] == ["add", "sleep", "fail", "pair", "noop"]
    assert seen[0].version.endswith("-r2-tNone")
    named = engine.list_tasks(
        tasks.ListTasksRequest(
            request={"filters": [{"field": "name", "values": [seen[2].name]}]},
            project_id={"name": "default", "domain": "development"},
        )
    )
    assert [t.task_id for t in named.tasks] == [seen[2]]
    other = engine.list_tasks(
        tasks.ListTasksRequest(project_id={"name": "elsewhere", "domain": "development"})
    )
    assert list(other.tasks) == []


def test_list_runs_is_newest_first_paged_and_filtered(isolated_user, bundle, tmp_path):
    engine = EmbeddedTransport(concurrency=1)
    try:
        blocker = start(engine, bundle.deploy("sleep"), seconds=60.0)
        add = bundle.deploy("add")
        queued = [start(engine, add, a=i) for i in range(6)]
        assert {phase_of(engine, r) for r in queued} == {phase_pb2.ACTION_PHASE_QUEUED}
        names, token = [], ""
        while True:
            page = engine.list_runs(
                runs.ListRunsRequest(
                    request={"limit": 3, "token": token},
                    project_id={"name": "default", "domain": "development"},
                )
            )
            names += [r.action.id.run.name for r in page.runs]
            token = page.token
            if not token:
                break
        assert names == [r.name for r in reversed([blocker, *queued])]
        by_task = engine.list_runs(runs.ListRunsRequest(task_name={"name": add.task_id.name}))
        assert [r.action.id.run.name for r in by_task.runs] == [r.name for r in reversed(queued)]
        run = by_task.runs[0]
        assert run.action.id.name == "a0" and run.action.metadata.task.id == add.task_id
        assert run.action.status.phase == phase_pb2.ACTION_PHASE_QUEUED
        wait_for(lambda: phase_of(engine, blocker) == phase_pb2.ACTION_PHASE_RUNNING)
        running = engine.list_runs(
            runs.ListRunsRequest(
                request={"filters": [{"field": "phase", "values": ["ACTION_PHASE_RUNNING"]}]}
            )
        )
        assert [r.action.id.run.name for r in running.runs] == [blocker.name]
        assert list(engine.list_runs(runs.ListRunsRequest(project_id={"name": "nope"})).runs) == []
        with pytest.raises(TransportError, match="invalid page token"):
            engine.list_runs(runs.ListRunsRequest(request={"token": "garbage!"}))
        for run_id in [*queued, blocker]:
            engine.abort_run(runs.AbortRunRequest(run_id=run_id))
        assert wait(engine, blocker).action.status.phase == phase_pb2.ACTION_PHASE_ABORTED
    finally:
        engine.kill_all()


def test_a_given_run_name_is_used_and_must_be_unique(engine, bundle):
    task = bundle.deploy("add")
    run = engine.create_run(run_request(task, name="my-run", a=1)).run
    assert run.action.id.run.name == "my-run"
    with pytest.raises(AlreadyExistsError, match="my-run"):
        engine.create_run(run_request(task, name="my-run", a=1))
    wait(engine, run.action.id.run)


def test_unknown_runs_and_tasks_raise_typed_errors(engine):
    missing = identifier_pb2.RunIdentifier(project="default", domain="development", name="rnope")
    action = identifier_pb2.ActionIdentifier(run=missing, name="a0")
    calls = [
        lambda: engine.get_run_details(runs.GetRunDetailsRequest(run_id=missing)),
        lambda: engine.watch_run_details(runs.WatchRunDetailsRequest(run_id=missing)),
        lambda: engine.abort_run(runs.AbortRunRequest(run_id=missing)),
        lambda: engine.list_actions(runs.ListActionsRequest(run_id=missing)),
        lambda: engine.get_action_details(runs.GetActionDetailsRequest(action_id=action)),
        lambda: engine.get_action_data(runs.GetActionDataRequest(action_id=action)),
        lambda: engine.tail_logs(logs.TailLogsRequest(action_id=action)),
    ]
    for call in calls:
        with pytest.raises(RunNotFoundError, match="rnope"):
            call()
    task_id = task_definition_pb2.TaskIdentifier(project="default", domain="development", name="no.such")
    with pytest.raises(TaskNotFoundError, match="no.such"):
        engine.get_task_details(tasks.GetTaskDetailsRequest(task_id=task_id))
    with pytest.raises(TaskNotFoundError, match="no.such") as caught:
        engine.create_run(runs.CreateRunRequest(task_id=task_id))
    assert isinstance(caught.value, NotFoundError) and isinstance(caught.value, LookupError)


def test_a_corrupt_database_file_is_a_typed_error_naming_the_file_and_the_fix(isolated_user):
    path = isolated_user / "data" / "engine.sqlite"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an sqlite database at all" * 200)
    engine = EmbeddedTransport()
    missing = identifier_pb2.RunIdentifier(project="default", domain="development", name="r1")
    with pytest.raises(EngineStateError) as caught:
        engine.get_run_details(runs.GetRunDetailsRequest(run_id=missing))
    message = str(caught.value)
    assert str(path) in message and "Move it aside" in message


def test_create_upload_location_points_under_the_raw_data_prefix(engine, isolated_user):
    response = engine.create_upload_location(
        dataproxy.CreateUploadLocationRequest(
            project="p", domain="d", filename="data.bin", content_md5=bytes.fromhex("00" * 16)
        )
    )
    store_uri = (isolated_user / "data" / "store").as_uri()
    assert response.native_url == f"{store_uri}/p/d/{'00' * 16}/data.bin"
    assert response.signed_url == response.native_url
    assert response.expires_at.seconds > 0
