"""Our Connect client (``union.transport.connect.ConnectTransport``) against ``union serve`` over real HTTP:
every method of ``union.transport.services.METHODS``, in JSON and in binary protobuf, errors and streams
included. The requests are recorded on the wire, so a method added to the table and never called here, or a
call sent in the other codec, fails the test."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests
from engine_helpers import Bundle, run_request
from flyteidl2.auth import auth_service_pb2, identity_pb2
from flyteidl2.common import identifier_pb2, phase_pb2
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp
from flyteidl2.task import task_service_pb2 as tasks
from flyteidl2.workflow import run_logs_service_pb2 as logs
from flyteidl2.workflow import run_service_pb2 as runs
from serve_helpers import TASKS, Served

import union.config
from union import errors
from union.config import Config
from union.storage.manifest import Manifest
from union.transport.connect import ConnectTransport
from union.transport.services import METHODS

SUCCEEDED = phase_pb2.ACTION_PHASE_SUCCEEDED
TERMINAL = {SUCCEEDED, phase_pb2.ACTION_PHASE_FAILED, phase_pb2.ACTION_PHASE_ABORTED}
MEDIA = {
    ("json", False): "application/json",
    ("json", True): "application/connect+json",
    ("proto", False): "application/proto",
    ("proto", True): "application/connect+proto",
}


class Wire:
    """A shared session recording (path, request and response Content-Type, status) of every exchange."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.seen: list[tuple[str, str, str, int]] = []
        self.session.hooks["response"].append(self._record)

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        self.seen.append(
            (
                request.path_url,
                str(request.headers.get("Content-Type", "")),
                response.headers.get("Content-Type", ""),
                response.status_code,
            )
        )


def _action(run_id: identifier_pb2.RunIdentifier) -> identifier_pb2.ActionIdentifier:
    return identifier_pb2.ActionIdentifier(run=run_id, name="a0")


def _watch(c: ConnectTransport, run_id: identifier_pb2.RunIdentifier) -> list[Any]:
    return list(c.watch_run_details(runs.WatchRunDetailsRequest(run_id=run_id), timeout=60))


@pytest.mark.parametrize("codec", ["json", "proto"])
def test_our_client_calls_every_method(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    # Code bundles go to the server's store, as a client with signed URLs would put them.
    monkeypatch.setenv("UNION_RAW_DATA_PREFIX", served.server.store)
    union.config.reset()
    wire = Wire()
    c = ConnectTransport(Config(endpoint=served.url, insecure=True), session=wire.session, codec=codec)
    # TaskService (the bundle deploys through our client)
    bundle = Bundle(c, tmp_path / "bundle", TASKS, module="serve_tasks")
    add = bundle.deploy("add")
    chatty = bundle.deploy("chatty")
    assert c.get_task_details(tasks.GetTaskDetailsRequest(task_id=add.task_id)).details.task_id.name == (
        "serve_tasks.add"
    )
    assert {t.task_id.name for t in c.list_tasks(tasks.ListTasksRequest()).tasks} == {
        "serve_tasks.add",
        "serve_tasks.chatty",
    }

    # RunService, streams included
    run_id = c.create_run(run_request(add, a=41)).run.action.id.run
    watched = _watch(c, run_id)
    assert watched and watched[-1].details.action.status.phase == SUCCEEDED
    details = c.get_run_details(runs.GetRunDetailsRequest(run_id=run_id)).details
    assert details.action.status.phase == SUCCEEDED
    actions = list(
        c.watch_action_details(runs.WatchActionDetailsRequest(action_id=_action(run_id)), timeout=60)
    )
    assert actions and actions[-1].details.status.phase == SUCCEEDED
    got = c.get_action_details(runs.GetActionDetailsRequest(action_id=_action(run_id)))
    assert got.details.status.phase == SUCCEEDED
    data = c.get_action_data(runs.GetActionDataRequest(action_id=_action(run_id)))
    assert data.outputs.literals[0].value.scalar.primitive.integer == 42
    assert [a.id.name for a in c.list_actions(runs.ListActionsRequest(run_id=run_id)).actions] == ["a0"]
    assert [r.action.id.run.name for r in c.list_runs(runs.ListRunsRequest()).runs] == [run_id.name]

    log_run = c.create_run(run_request(chatty, lines=3)).run.action.id.run
    _watch(c, log_run)
    lines = [
        line.message
        for response in c.tail_logs(logs.TailLogsRequest(action_id=_action(log_run)), timeout=60)
        for batch in response.logs
        for line in batch.lines
    ]
    assert [line for line in lines if line.startswith("out ")] == ["out 0", "out 1", "out 2"]

    sleeper = c.create_run(run_request(bundle.deploy("sleep"), seconds=60)).run.action.id.run
    c.abort_run(runs.AbortRunRequest(run_id=sleeper, reason="test"))
    assert _watch(c, sleeper)[-1].details.action.status.phase == phase_pb2.ACTION_PHASE_ABORTED

    # DataProxyService: mint a URL and PUT through it, offload inputs, a download link that serves the bundle
    content = b"our client's bytes"
    location = c.create_upload_location(
        dp.CreateUploadLocationRequest(
            project="p", domain="d", filename="f.txt", content_md5=hashlib.md5(content).digest()
        )
    )
    put = requests.put(location.signed_url, data=content, headers=dict(location.headers), timeout=10)
    assert put.status_code in (200, 201), put.text
    offloaded = c.upload_inputs(
        dp.UploadInputsRequest(
            project_id=identifier_pb2.ProjectIdentifier(name="p", domain="d"),
            inputs=run_request(add, a=1).inputs,
        )
    ).offloaded_input_data
    assert offloaded.uri and offloaded.inputs_hash
    link = c.create_download_link(
        dp.CreateDownloadLinkRequest(artifact_type=dp.ARTIFACT_TYPE_CODE_BUNDLE, task_id=add.task_id)
    )
    # A code bundle is a tree: the folder's link, then its manifest's, then one per file in manifest order.
    folder_url, manifest_url, *file_urls = link.pre_signed_urls.signed_url
    bundle_path = bundle.uri.removeprefix(served.server.store).strip("/")
    assert folder_url.startswith(f"{served.url}/_data/{bundle_path}?") and "sig=" in folder_url
    folder = requests.get(folder_url, timeout=10)
    assert folder.status_code == 404 and "folder" in folder.text
    manifest = Manifest.from_bytes(
        requests.get(manifest_url, timeout=10).content, expected_digest=bundle.digest
    )
    assert len(file_urls) == len(manifest.files) > 0
    for entry, file_url in zip(manifest.files, file_urls, strict=True):
        got = requests.get(file_url, timeout=10)
        assert got.status_code == 200 and hashlib.md5(got.content).hexdigest() == entry.md5, entry.path

    # AuthMetadataService and IdentityService (auth off: anonymous)
    meta = c.get_oauth2_metadata(auth_service_pb2.GetOAuth2MetadataRequest())
    assert meta.token_endpoint.startswith(served.url)
    public = c.get_public_client_config(auth_service_pb2.GetPublicClientConfigRequest())
    assert public.authorization_metadata_key
    assert c.user_info(identity_pb2.UserInfoRequest()).subject == "anonymous"

    # Typed errors, unary and in a stream's end frame
    missing = identifier_pb2.RunIdentifier(project="default", domain="development", name="r-missing")
    with pytest.raises(errors.NotFoundError):
        c.get_run_details(runs.GetRunDetailsRequest(run_id=missing))
    with pytest.raises(errors.NotFoundError):
        _watch(c, missing)
    with pytest.raises(errors.InvalidArgumentError):
        c.deploy_task(tasks.DeployTaskRequest())
    c.close()

    # Every method of the table went over the wire, each in the requested codec both ways.
    paths = {path for path, _, _, _ in wire.seen}
    assert {m.path for m in METHODS.values()} <= paths
    by_path = {m.path: m for m in METHODS.values()}
    for path, sent, answered, status in wire.seen:
        method = by_path.get(path)
        if method is None:
            continue
        media = MEDIA[(codec, method.streaming)]
        assert sent == media, (path, sent)
        # Connect unary errors are always JSON (with the HTTP status); answers and streams use the codec.
        expected = "application/json" if status != 200 else media
        assert answered.split(";")[0] == expected, (path, answered, status)
