"""An in-memory Transport for fast unit tests of Run, Task and union.run (the real one is union.engine).

It keeps tasks and runs in dictionaries, executes a run in this process when asked (importing the task's
module as the engine's worker would, and converting values with union.types), and records every call.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from flyteidl2.common import identifier_pb2, phase_pb2
from flyteidl2.logs.dataplane import payload_pb2
from flyteidl2.task import common_pb2, task_definition_pb2, task_service_pb2
from flyteidl2.workflow import run_definition_pb2, run_logs_service_pb2, run_service_pb2
from google.protobuf import json_format, timestamp_pb2

from union.errors import DeadlineExceededError, NotFoundError
from union.plugins import hookimpl

TERMINAL = {
    phase_pb2.ACTION_PHASE_SUCCEEDED,
    phase_pb2.ACTION_PHASE_FAILED,
    phase_pb2.ACTION_PHASE_ABORTED,
    phase_pb2.ACTION_PHASE_TIMED_OUT,
}


def _now() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


def _key(tid: task_definition_pb2.TaskIdentifier) -> tuple[str, ...]:
    return (tid.org, tid.project, tid.domain, tid.name, tid.version)


@dataclass
class FakeRun:
    rid: identifier_pb2.RunIdentifier
    task_id: task_definition_pb2.TaskIdentifier
    inputs: common_pb2.Inputs
    phase: int = phase_pb2.ACTION_PHASE_QUEUED
    outputs: common_pb2.Outputs = field(default_factory=common_pb2.Outputs)
    error: run_definition_pb2.ErrorInfo | None = None
    started: timestamp_pb2.Timestamp | None = None
    ended: timestamp_pb2.Timestamp | None = None
    logs: list[str] = field(default_factory=list)


class FakeTransport:
    def __init__(self, *, execute: bool = True, watch: bool = True) -> None:
        self.execute = execute
        self.watch = watch
        self.tasks: dict[tuple[str, ...], tuple[task_definition_pb2.TaskSpec, timestamp_pb2.Timestamp]] = {}
        self.runs: dict[str, FakeRun] = {}
        self.order: list[str] = []
        self.calls: list[str] = []
        self.page_sizes: list[int] = []
        self.changed = threading.Condition()

    # -- helpers for tests -------------------------------------------------------------------------

    def set_phase(self, name: str, phase: int, error: run_definition_pb2.ErrorInfo | None = None) -> None:
        with self.changed:
            run = self.runs[name]
            run.phase = phase
            run.error = error
            if phase == phase_pb2.ACTION_PHASE_RUNNING and run.started is None:
                run.started = _now()
            if phase in TERMINAL:
                run.ended = _now()
            self.changed.notify_all()

    def run_now(self, name: str) -> None:
        """Execute a run the way the engine's worker does: import, decode, call, encode."""
        from union.storage.files import StorageFiles
        from union.types import literals_to_inputs, outputs_to_literals

        run = self.runs[name]
        spec, _ = self.tasks[_key(run.task_id)]
        custom = json_format.MessageToDict(spec.task_template.custom)["union"]
        root = unquote(urlsplit(custom["code"]).path)
        if root not in sys.path:
            sys.path.insert(0, root)
        func = getattr(importlib.import_module(custom["module"]), custom["function"])
        func = getattr(func, "func", func)
        files = StorageFiles()
        self.set_phase(name, phase_pb2.ACTION_PHASE_RUNNING)
        try:
            kwargs = literals_to_inputs(func, {n.name: n.value for n in run.inputs.literals}, files=files)
            value = func(**kwargs)
            literals = outputs_to_literals(func, value, files=files)
        except Exception as e:
            error = run_definition_pb2.ErrorInfo(
                message=str(e),
                code=f"{type(e).__module__}.{type(e).__qualname__}",
                kind=run_definition_pb2.ErrorInfo.KIND_USER,
            )
            self.set_phase(name, phase_pb2.ACTION_PHASE_FAILED, error)
            return
        run.outputs = common_pb2.Outputs(
            literals=[common_pb2.NamedLiteral(name=k, value=v) for k, v in literals.literals.items()]
        )
        self.set_phase(name, phase_pb2.ACTION_PHASE_SUCCEEDED)

    def _run(self, rid: identifier_pb2.RunIdentifier) -> FakeRun:
        run = self.runs.get(rid.name)
        if run is None or run.rid.project != rid.project or run.rid.domain != rid.domain:
            raise NotFoundError(f"run {rid.name} not found")
        return run

    def _details(self, run: FakeRun) -> run_definition_pb2.RunDetails:
        spec, _ = self.tasks[_key(run.task_id)]
        status = run_definition_pb2.ActionStatus(phase=run.phase, attempts=1)
        if run.started is not None:
            status.start_time.CopyFrom(run.started)
        if run.ended is not None:
            status.end_time.CopyFrom(run.ended)
        action = run_definition_pb2.ActionDetails(
            id=identifier_pb2.ActionIdentifier(run=run.rid, name="a0"),
            metadata=run_definition_pb2.ActionMetadata(
                task=run_definition_pb2.TaskActionMetadata(id=run.task_id)
            ),
            status=status,
            task=spec,
        )
        if run.error is not None:
            action.error_info.CopyFrom(run.error)
        if run.phase == phase_pb2.ACTION_PHASE_ABORTED:
            action.abort_info.reason = "aborted"
        return run_definition_pb2.RunDetails(action=action)

    # -- RunService --------------------------------------------------------------------------------

    def create_run(self, request: Any, *, timeout: float | None = None) -> Any:
        self.calls.append("create_run")
        key = _key(request.task_id)
        if key not in self.tasks:
            raise NotFoundError(f"task {request.task_id.name} not found")
        name = f"r{len(self.order):05d}"
        p = request.project_id
        rid = identifier_pb2.RunIdentifier(org=p.organization, project=p.name, domain=p.domain, name=name)
        with self.changed:
            self.runs[name] = FakeRun(rid=rid, task_id=request.task_id, inputs=request.inputs)
            self.order.append(name)
        if self.execute:
            self.run_now(name)
        details = self._details(self.runs[name])
        return run_service_pb2.CreateRunResponse(
            run=run_definition_pb2.Run(
                action=run_definition_pb2.Action(
                    id=details.action.id, metadata=details.action.metadata, status=details.action.status
                )
            )
        )

    def get_run_details(self, request: Any, *, timeout: float | None = None) -> Any:
        self.calls.append("get_run_details")
        return run_service_pb2.GetRunDetailsResponse(details=self._details(self._run(request.run_id)))

    def watch_run_details(self, request: Any, *, timeout: float | None = None) -> Iterator[Any]:
        self.calls.append("watch_run_details")
        if not self.watch:
            raise NotImplementedError("no watch here")
        run = self._run(request.run_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._watch(run, deadline)

    def _watch(self, run: FakeRun, deadline: float | None) -> Iterator[Any]:
        last = None
        while True:
            with self.changed:
                while run.phase == last:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise DeadlineExceededError("the watch's timeout expired")
                    self.changed.wait(left)
                last = run.phase
                details = self._details(run)
            yield run_service_pb2.WatchRunDetailsResponse(details=details)
            if last in TERMINAL:
                return

    def list_runs(self, request: Any, *, timeout: float | None = None) -> Any:
        self.calls.append("list_runs")
        self.page_sizes.append(request.request.limit)
        p = request.project_id
        names = [
            n
            for n in reversed(self.order)
            if self.runs[n].rid.project == p.name and self.runs[n].rid.domain == p.domain
        ]
        start = int(request.request.token or 0)
        limit = request.request.limit or 100
        page = names[start : start + limit]
        runs = []
        for n in page:
            d = self._details(self.runs[n]).action
            runs.append(
                run_definition_pb2.Run(
                    action=run_definition_pb2.Action(id=d.id, metadata=d.metadata, status=d.status)
                )
            )
        token = str(start + limit) if start + limit < len(names) else ""
        return run_service_pb2.ListRunsResponse(runs=runs, token=token)

    def abort_run(self, request: Any, *, timeout: float | None = None) -> Any:
        self.calls.append("abort_run")
        run = self._run(request.run_id)
        if run.phase not in TERMINAL:
            self.set_phase(run.rid.name, phase_pb2.ACTION_PHASE_ABORTED)
        return run_service_pb2.AbortRunResponse()

    def list_actions(self, request: Any, *, timeout: float | None = None) -> Any:
        raise NotImplementedError

    def get_action_details(self, request: Any, *, timeout: float | None = None) -> Any:
        raise NotImplementedError

    def get_action_data(self, request: Any, *, timeout: float | None = None) -> Any:
        self.calls.append("get_action_data")
        run = self._run(request.action_id.run)
        return run_service_pb2.GetActionDataResponse(inputs=run.inputs, outputs=run.outputs)

    # -- TaskService -------------------------------------------------------------------------------

    def deploy_task(self, request: Any, *, timeout: float | None = None) -> Any:
        self.calls.append("deploy_task")
        self.tasks[_key(request.task_id)] = (request.spec, _now())
        return task_service_pb2.DeployTaskResponse()

    def get_task_details(self, request: Any, *, timeout: float | None = None) -> Any:
        self.calls.append("get_task_details")
        found = self.tasks.get(_key(request.task_id))
        if found is None:
            raise NotFoundError(f"task {request.task_id.name}@{request.task_id.version} not found")
        spec, deployed = found
        return task_service_pb2.GetTaskDetailsResponse(
            details=task_definition_pb2.TaskDetails(
                task_id=request.task_id,
                metadata=task_definition_pb2.TaskMetadata(deployed_at=deployed),
                spec=spec,
            )
        )

    def list_tasks(self, request: Any, *, timeout: float | None = None) -> Any:
        self.calls.append("list_tasks")
        p = request.project_id
        names = {f.values[0] for f in request.request.filters if f.field == "name"}
        items = [
            (key, deployed)
            for key, (_, deployed) in self.tasks.items()
            if key[1] == p.name and key[2] == p.domain and (not names or key[3] in names)
        ]
        items.sort(key=lambda kv: (kv[1].seconds, kv[1].nanos), reverse=True)
        start = int(request.request.token or 0)
        limit = request.request.limit or 100
        page = items[start : start + limit]
        tasks = [
            task_definition_pb2.Task(
                task_id=task_definition_pb2.TaskIdentifier(
                    org=k[0], project=k[1], domain=k[2], name=k[3], version=k[4]
                ),
                metadata=task_definition_pb2.TaskMetadata(deployed_at=d),
            )
            for k, d in page
        ]
        token = str(start + limit) if start + limit < len(items) else ""
        return task_service_pb2.ListTasksResponse(tasks=tasks, token=token)

    # -- data proxy and logs -----------------------------------------------------------------------

    def create_upload_location(self, request: Any, *, timeout: float | None = None) -> Any:
        raise NotImplementedError

    def tail_logs(self, request: Any, *, timeout: float | None = None) -> Iterator[Any]:
        self.calls.append("tail_logs")
        run = self._run(request.action_id.run)
        lines = [payload_pb2.LogLine(message=line) for line in run.logs]
        return iter(
            [
                run_logs_service_pb2.TailLogsResponse(
                    logs=[run_logs_service_pb2.TailLogsResponse.Logs(lines=lines)]
                )
            ]
        )

    def close(self) -> None:
        pass


class _Plugin:
    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport

    @hookimpl
    def union_transport(self, config: object) -> FakeTransport:
        return self.transport


def install(transport: FakeTransport) -> None:
    """Make ``transport`` the one the union_transport hook returns (until union.plugins.reset())."""
    import union.plugins
    from union.remote import _client

    union.plugins.register(_Plugin(transport), name="fake-transport")
    _client.reset()


__all__ = ["FakeTransport", "install"]
