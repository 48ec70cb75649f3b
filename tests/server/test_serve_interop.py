"""Interoperability: the ``connectrpc`` package's clients (flyteidl2's generated stubs, code nobody here
wrote) calling ``union serve`` for every method it serves, in JSON and in binary protobuf."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from engine_helpers import Bundle, run_request
from serve_helpers import TASKS, Served

import union.config

connectrpc = pytest.importorskip("connectrpc")

from connectrpc.code import Code  # noqa: E402
from connectrpc.errors import ConnectError  # noqa: E402
from flyteidl2.auth import auth_service_pb2, identity_pb2  # noqa: E402
from flyteidl2.auth.auth_service_connect import AuthMetadataServiceClientSync  # noqa: E402
from flyteidl2.auth.identity_connect import IdentityServiceClientSync  # noqa: E402
from flyteidl2.common import identifier_pb2, phase_pb2  # noqa: E402
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp  # noqa: E402
from flyteidl2.dataproxy.dataproxy_service_connect import DataProxyServiceClientSync  # noqa: E402
from flyteidl2.task import task_service_pb2 as tasks  # noqa: E402
from flyteidl2.task.task_service_connect import TaskServiceClientSync  # noqa: E402
from flyteidl2.workflow import run_logs_service_pb2 as logs  # noqa: E402
from flyteidl2.workflow import run_service_pb2 as runs  # noqa: E402
from flyteidl2.workflow.run_logs_service_connect import RunLogsServiceClientSync  # noqa: E402
from flyteidl2.workflow.run_service_connect import RunServiceClientSync  # noqa: E402

SUCCEEDED = phase_pb2.ACTION_PHASE_SUCCEEDED
TERMINAL = {SUCCEEDED, phase_pb2.ACTION_PHASE_FAILED, phase_pb2.ACTION_PHASE_ABORTED}


class Clients:
    """The generated sync clients of one server, one codec; ``deploy_task`` etc. for engine_helpers."""

    def __init__(self, url: str, *, proto_json: bool, headers: dict[str, str] | None = None) -> None:
        kw: dict[str, Any] = {"proto_json": proto_json}
        self.headers = headers
        self.run = RunServiceClientSync(url, **kw)
        self.task = TaskServiceClientSync(url, **kw)
        self.logs = RunLogsServiceClientSync(url, **kw)
        self.data = DataProxyServiceClientSync(url, **kw)
        self.meta = AuthMetadataServiceClientSync(url, **kw)
        self.identity = IdentityServiceClientSync(url, **kw)

    def deploy_task(self, request: tasks.DeployTaskRequest) -> tasks.DeployTaskResponse:
        return self.task.deploy_task(request, headers=self.headers)


def _action(run_id: identifier_pb2.RunIdentifier) -> identifier_pb2.ActionIdentifier:
    return identifier_pb2.ActionIdentifier(run=run_id, name="a0")


@pytest.mark.parametrize("proto_json", [True, False], ids=["json", "proto"])
def test_generated_clients_call_every_method(
    make_server: Callable[..., Served], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proto_json: bool
) -> None:
    served = make_server()
    # Code bundles go to the server's store, as a client with signed URLs would put them.
    monkeypatch.setenv("UNION_RAW_DATA_PREFIX", served.server.store)
    union.config.reset()
    c = Clients(served.url, proto_json=proto_json)
    bundle = Bundle(c, tmp_path / "bundle", TASKS, module="interop_tasks")
    add = bundle.deploy("add")
    chatty = bundle.deploy("chatty")

    # TaskService
    assert c.task.get_task_details(tasks.GetTaskDetailsRequest(task_id=add.task_id)).details.task_id.name == (
        "interop_tasks.add"
    )
    names = {t.task_id.name for t in c.task.list_tasks(tasks.ListTasksRequest()).tasks}
    assert names == {"interop_tasks.add", "interop_tasks.chatty"}

    # RunService, streams included
    run_id = c.run.create_run(run_request(add, a=1)).run.action.id.run
    phases = [
        e.details.action.status.phase
        for e in c.run.watch_run_details(runs.WatchRunDetailsRequest(run_id=run_id))
    ]
    assert phases[-1] == SUCCEEDED
    watched = list(c.run.watch_action_details(runs.WatchActionDetailsRequest(action_id=_action(run_id))))
    assert watched[-1].details.status.phase == SUCCEEDED
    assert (
        c.run.get_run_details(runs.GetRunDetailsRequest(run_id=run_id)).details.action.status.phase
        == SUCCEEDED
    )
    assert (
        c.run.get_action_details(runs.GetActionDetailsRequest(action_id=_action(run_id))).details.id.name
        == "a0"
    )
    data = c.run.get_action_data(runs.GetActionDataRequest(action_id=_action(run_id)))
    assert data.outputs.literals[0].value.scalar.primitive.integer == 2
    assert [a.id.name for a in c.run.list_actions(runs.ListActionsRequest(run_id=run_id)).actions] == ["a0"]
    assert [r.action.id.run.name for r in c.run.list_runs(runs.ListRunsRequest()).runs] == [run_id.name]

    log_run = c.run.create_run(run_request(chatty, lines=2)).run.action.id.run
    list(c.run.watch_run_details(runs.WatchRunDetailsRequest(run_id=log_run)))
    lines = [
        line.message
        for r in c.logs.tail_logs(logs.TailLogsRequest(action_id=_action(log_run)))
        for batch in r.logs
        for line in batch.lines
    ]
    assert [m for m in lines if m.startswith("out ")] == ["out 0", "out 1"]
    same = c.data.tail_logs(logs.TailLogsRequest(action_id=_action(log_run)))  # DataProxyService.TailLogs
    assert any(batch.lines for r in same for batch in r.logs)
    assert c.data.get_action_data(runs.GetActionDataRequest(action_id=_action(run_id))).outputs.literals

    sleeper = c.run.create_run(run_request(bundle.deploy("sleep"), seconds=60)).run.action.id.run
    c.run.abort_run(runs.AbortRunRequest(run_id=sleeper, reason="interop"))
    last = list(c.run.watch_run_details(runs.WatchRunDetailsRequest(run_id=sleeper)))[-1]
    assert last.details.action.status.phase == phase_pb2.ACTION_PHASE_ABORTED

    # DataProxyService: an upload location, PUT through it, a download link to the code bundle
    content = b"interop bytes"
    location = c.data.create_upload_location(
        dp.CreateUploadLocationRequest(
            project="p", domain="d", filename="f.txt", content_md5=hashlib.md5(content).digest()
        )
    )
    put = requests.put(location.signed_url, data=content, headers=dict(location.headers), timeout=10)
    assert put.status_code in (200, 201)
    link = c.data.create_download_link(
        dp.CreateDownloadLinkRequest(artifact_type=dp.ARTIFACT_TYPE_CODE_BUNDLE, task_id=add.task_id)
    )
    assert link.pre_signed_urls.signed_url
    offloaded = c.data.upload_inputs(
        dp.UploadInputsRequest(project_id=identifier_pb2.ProjectIdentifier(name="p", domain="d"))
    ).offloaded_input_data
    assert offloaded.uri and offloaded.inputs_hash

    # Auth metadata and identity (auth off: anonymous)
    meta = c.meta.get_o_auth2_metadata(auth_service_pb2.GetOAuth2MetadataRequest())
    assert meta.token_endpoint.startswith(served.url)
    config = c.meta.get_public_client_config(auth_service_pb2.GetPublicClientConfigRequest())
    assert config.authorization_metadata_key
    assert c.identity.user_info(identity_pb2.UserInfoRequest()).subject == "anonymous"


@pytest.mark.parametrize("proto_json", [True, False], ids=["json", "proto"])
def test_generated_clients_see_typed_errors(served: Served, proto_json: bool) -> None:
    c = Clients(served.url, proto_json=proto_json)
    missing = identifier_pb2.RunIdentifier(name="missing")
    with pytest.raises(ConnectError) as info:
        c.run.get_run_details(runs.GetRunDetailsRequest(run_id=missing))
    assert info.value.code == Code.NOT_FOUND
    with pytest.raises(ConnectError) as info:
        list(c.run.watch_run_details(runs.WatchRunDetailsRequest(run_id=missing)))
    assert info.value.code == Code.NOT_FOUND
    with pytest.raises(ConnectError) as info:
        c.task.deploy_task(tasks.DeployTaskRequest())
    assert info.value.code == Code.INVALID_ARGUMENT
    with pytest.raises(ConnectError) as info:
        c.run.abort_action(runs.AbortActionRequest())
    assert info.value.code == Code.UNIMPLEMENTED


def test_generated_clients_with_authentication(make_server: Callable[..., Served]) -> None:
    served = make_server(auth=True)
    c = Clients(served.url, proto_json=False)
    # Metadata is public: a client needs it to learn how to authenticate.
    assert c.meta.get_o_auth2_metadata(auth_service_pb2.GetOAuth2MetadataRequest()).token_endpoint
    with pytest.raises(ConnectError) as info:
        c.task.list_tasks(tasks.ListTasksRequest())
    assert info.value.code == Code.UNAUTHENTICATED
    with pytest.raises(ConnectError) as info:
        list(
            c.run.watch_run_details(
                runs.WatchRunDetailsRequest(run_id=identifier_pb2.RunIdentifier(name="x"))
            )
        )
    assert info.value.code == Code.UNAUTHENTICATED

    from union.auth.apikey import decode_api_key

    key = decode_api_key(served.server.auth.create_api_key("interop", endpoint=served.url))
    client_id, secret = key.client_id, key.client_secret
    token = requests.post(
        served.url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    ).json()["access_token"]
    headers = {"authorization": f"Bearer {token}"}
    assert c.task.list_tasks(tasks.ListTasksRequest(), headers=headers) == tasks.ListTasksResponse()
    assert c.identity.user_info(identity_pb2.UserInfoRequest(), headers=headers).subject == client_id
    with pytest.raises(ConnectError) as info:
        c.task.list_tasks(tasks.ListTasksRequest(), headers={"authorization": "Bearer wrong"})
    assert info.value.code == Code.UNAUTHENTICATED
    assert secret not in served.log_text() and token not in served.log_text()


@pytest.mark.parametrize("proto_json", [True, False], ids=["json", "proto"])
def test_generated_clients_with_get_and_timeouts(served: Served, proto_json: bool) -> None:
    """connectrpc's GET form of side-effect-free calls, and its Connect-Timeout-Ms, are understood."""
    c = Clients(served.url, proto_json=proto_json)
    assert c.task.list_tasks(tasks.ListTasksRequest(), use_get=True) == tasks.ListTasksResponse()
    with pytest.raises(ConnectError) as info:
        c.run.get_run_details(
            runs.GetRunDetailsRequest(run_id=identifier_pb2.RunIdentifier(name="missing")), use_get=True
        )
    assert info.value.code == Code.NOT_FOUND
    assert c.run.list_runs(runs.ListRunsRequest(), timeout_ms=5000) == runs.ListRunsResponse()
    deadline = time.monotonic() + 5
    while sum(line.get("method") == "GET" for line in served.log_lines()) < 2:
        assert time.monotonic() < deadline, served.log_text()
        time.sleep(0.02)
