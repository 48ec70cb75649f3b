"""Build TaskSpecs and CreateRunRequests by hand, the way docs/control-plane-contract.md describes them.

A test writes a module into a temporary folder (the code bundle), uploads it with ``upload_dir`` and deploys
its functions; the engine's workers then import that module from the uploaded tree.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flyteidl2.common import identifier_pb2, phase_pb2
from flyteidl2.core import identifier_pb2 as core_ids
from flyteidl2.core import literals_pb2, tasks_pb2
from flyteidl2.task import common_pb2, task_definition_pb2
from flyteidl2.task import task_service_pb2 as tasks
from flyteidl2.workflow import run_definition_pb2
from flyteidl2.workflow import run_service_pb2 as runs
from google.protobuf import duration_pb2, struct_pb2

import union.config
import union.types as ut
from union.storage.upload import upload_dir

TERMINAL = {
    phase_pb2.ACTION_PHASE_SUCCEEDED,
    phase_pb2.ACTION_PHASE_FAILED,
    phase_pb2.ACTION_PHASE_ABORTED,
    phase_pb2.ACTION_PHASE_TIMED_OUT,
    phase_pb2.ACTION_PHASE_RECOVERED,
}


@dataclass
class Deployed:
    task_id: task_definition_pb2.TaskIdentifier
    func: Callable[..., Any]


class Bundle:
    """One code bundle (a folder holding ``module``), uploaded once, with functions deployed from it."""

    def __init__(self, transport: Any, folder: Path, source: str, module: str = "engine_tasks") -> None:
        self.transport = transport
        self.module_name = module
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{module}.py"
        path.write_text(textwrap.dedent(source))
        spec = importlib.util.spec_from_file_location(f"{module}_{id(self)}", path)
        assert spec and spec.loader
        self.module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = self.module  # dataclass hints resolve through sys.modules
        spec.loader.exec_module(self.module)
        self.digest, self.uri = upload_dir(folder)
        config = union.config.current()
        self.project, self.domain = config.project or "default", config.domain or "development"

    def deploy(
        self, function: str, *, retries: int = 0, timeout: float | None = None, name: str | None = None
    ) -> Deployed:
        func = getattr(self.module, function)
        name = name or f"{self.module_name}.{function}"
        version = f"{self.digest[:16]}-r{retries}-t{timeout}"
        metadata = tasks_pb2.TaskMetadata(retries=literals_pb2.RetryStrategy(retries=retries))
        if timeout is not None:
            metadata.timeout.CopyFrom(
                duration_pb2.Duration(nanos=int(timeout * 1e9) % 10**9, seconds=int(timeout))
            )
        custom = struct_pb2.Struct()
        custom.update({"union": {"code": self.uri, "module": self.module_name, "function": function}})
        template = tasks_pb2.TaskTemplate(
            id=core_ids.Identifier(
                resource_type=core_ids.TASK,
                project=self.project,
                domain=self.domain,
                name=name,
                version=version,
            ),
            type="python-task",
            interface=ut.interface_for(func),
            metadata=metadata,
            custom=custom,
        )
        task_id = task_definition_pb2.TaskIdentifier(
            project=self.project, domain=self.domain, name=name, version=version
        )
        spec = task_definition_pb2.TaskSpec(task_template=template)
        self.transport.deploy_task(tasks.DeployTaskRequest(task_id=task_id, spec=spec))
        return Deployed(task_id, func)


def run_request(
    task: Deployed, name: str | None = None, files: Any = None, **inputs: Any
) -> runs.CreateRunRequest:
    literals = ut.inputs_to_literals(task.func, inputs, files=files).literals
    request = runs.CreateRunRequest(
        task_id=task.task_id,
        inputs=common_pb2.Inputs(
            literals=[common_pb2.NamedLiteral(name=k, value=v) for k, v in literals.items()]
        ),
    )
    if name:
        request.run_id.CopyFrom(
            identifier_pb2.RunIdentifier(project=task.task_id.project, domain=task.task_id.domain, name=name)
        )
    else:
        request.project_id.CopyFrom(
            identifier_pb2.ProjectIdentifier(name=task.task_id.project, domain=task.task_id.domain)
        )
    return request


def start(transport: Any, task: Deployed, files: Any = None, **inputs: Any) -> identifier_pb2.RunIdentifier:
    response = transport.create_run(run_request(task, files=files, **inputs))
    return response.run.action.id.run


def wait(
    transport: Any, run_id: identifier_pb2.RunIdentifier, timeout: float = 60
) -> run_definition_pb2.RunDetails:
    last = None
    for event in transport.watch_run_details(runs.WatchRunDetailsRequest(run_id=run_id), timeout=timeout):
        last = event.details
    assert last is not None and last.action.status.phase in TERMINAL
    return last


def phase_of(transport: Any, run_id: identifier_pb2.RunIdentifier) -> int:
    details = transport.get_run_details(runs.GetRunDetailsRequest(run_id=run_id)).details
    return int(details.action.status.phase)


def wait_for(predicate: Callable[[], bool], timeout: float = 30, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def outputs(transport: Any, run_id: identifier_pb2.RunIdentifier, task: Deployed, files: Any = None) -> Any:
    data = transport.get_action_data(
        runs.GetActionDataRequest(action_id=identifier_pb2.ActionIdentifier(run=run_id, name="a0"))
    )
    return ut.literals_to_outputs(task.func, {nl.name: nl.value for nl in data.outputs.literals}, files=files)
