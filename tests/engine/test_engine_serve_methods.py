"""The engine methods ``union serve`` added: watch_action_details, upload_inputs (and offloaded inputs in
create_run), create_download_link, the auth stubs, and ending streams early (cancel, interrupt)."""

from __future__ import annotations

import threading
import time

import pytest
from engine_helpers import Bundle, run_request, start, wait
from flyteidl2.common import identifier_pb2, phase_pb2
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp
from flyteidl2.workflow import run_logs_service_pb2 as logs
from flyteidl2.workflow import run_service_pb2 as runs

from union.engine.transport import EmbeddedTransport
from union.errors import InvalidArgumentError, TransportError, UnavailableError, UnimplementedError


def _action(run_id: identifier_pb2.RunIdentifier) -> identifier_pb2.ActionIdentifier:
    return identifier_pb2.ActionIdentifier(run=run_id, name="a0")


def test_watch_action_details_follows_the_run(engine: EmbeddedTransport, bundle: Bundle) -> None:
    run_id = start(engine, bundle.deploy("add"), a=1)
    events = list(
        engine.watch_action_details(runs.WatchActionDetailsRequest(action_id=_action(run_id)), timeout=60)
    )
    assert events[-1].details.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED
    assert events[-1].details.id.name == "a0"


def test_offloaded_inputs_are_accepted_by_create_run(engine: EmbeddedTransport, bundle: Bundle) -> None:
    add = bundle.deploy("add")
    inline = run_request(add, a=20, b=22)
    stored = engine.upload_inputs(dp.UploadInputsRequest(project_id=inline.project_id, inputs=inline.inputs))
    assert stored.offloaded_input_data.uri and len(stored.offloaded_input_data.inputs_hash) == 64
    request = runs.CreateRunRequest(
        task_id=add.task_id, project_id=inline.project_id, offloaded_input_data=stored.offloaded_input_data
    )
    run_id = engine.create_run(request).run.action.id.run
    assert wait(engine, run_id).action.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED
    data = engine.get_action_data(runs.GetActionDataRequest(action_id=_action(run_id)))
    assert data.outputs.literals[0].value.scalar.primitive.integer == 42
    missing = runs.CreateRunRequest(task_id=add.task_id)
    missing.offloaded_input_data.uri = stored.offloaded_input_data.uri + ".gone"
    with pytest.raises(InvalidArgumentError, match="no offloaded inputs"):
        engine.create_run(missing)


def test_download_link_of_a_code_bundle(engine: EmbeddedTransport, bundle: Bundle) -> None:
    add = bundle.deploy("add")
    link = engine.create_download_link(
        dp.CreateDownloadLinkRequest(artifact_type=dp.ARTIFACT_TYPE_CODE_BUNDLE, task_id=add.task_id)
    )
    assert list(link.pre_signed_urls.signed_url) == [bundle.uri]
    with pytest.raises(InvalidArgumentError):
        engine.create_download_link(dp.CreateDownloadLinkRequest(task_id=add.task_id))


def test_auth_methods_are_unimplemented(engine: EmbeddedTransport) -> None:
    for method in (engine.get_oauth2_metadata, engine.get_public_client_config, engine.user_info):
        with pytest.raises(UnimplementedError):
            method(None)


def test_cancel_and_interrupt_end_open_streams(engine: EmbeddedTransport, bundle: Bundle) -> None:
    run_id = start(engine, bundle.deploy("sleep"), seconds=60)
    cancel = threading.Event()
    watch = engine.watch_run_details(runs.WatchRunDetailsRequest(run_id=run_id), cancel=cancel)
    next(watch)
    threading.Timer(0.2, cancel.set).start()
    began = time.monotonic()
    with pytest.raises(TransportError) as info:
        list(watch)
    assert info.value.code == "canceled" and time.monotonic() - began < 3
    tail = engine.tail_logs(logs.TailLogsRequest(action_id=_action(run_id)))
    threading.Timer(0.2, engine.interrupt).start()
    with pytest.raises(UnavailableError):
        list(tail)
    engine.abort_run(runs.AbortRunRequest(run_id=run_id))
