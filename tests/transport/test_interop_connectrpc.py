"""Interop: our ConnectTransport calling a server built on the ``connectrpc`` runtime (connect-python).

The server is flyteidl2's generated ``*WSGIApplication`` classes (connect-python 0.9.0, the version those
stubs were generated for) with a tiny in-memory implementation, served by wsgiref in a thread. Nothing of
ours runs on the server side, so encoding, envelopes, compression and error codes are checked against an
independent implementation of the protocol.
"""

from __future__ import annotations

import io
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

connectrpc = pytest.importorskip(
    "connectrpc", reason="connect-python (test-only dependency, dev extra) is not installed"
)

from connectrpc.code import Code  # noqa: E402
from connectrpc.errors import ConnectError  # noqa: E402
from flyteidl2.common import identifier_pb2, phase_pb2  # noqa: E402
from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy  # noqa: E402
from flyteidl2.logs.dataplane import payload_pb2  # noqa: E402
from flyteidl2.task import task_definition_pb2  # noqa: E402
from flyteidl2.task import task_service_pb2 as tasks  # noqa: E402
from flyteidl2.task.task_service_connect import TaskServiceSync, TaskServiceWSGIApplication  # noqa: E402
from flyteidl2.workflow import run_definition_pb2  # noqa: E402
from flyteidl2.workflow import run_logs_service_pb2 as logs  # noqa: E402
from flyteidl2.workflow import run_service_pb2 as runs  # noqa: E402
from flyteidl2.workflow.run_logs_service_connect import RunLogsServiceSync, RunLogsServiceWSGIApplication  # noqa: E402
from flyteidl2.workflow.run_service_connect import RunServiceSync, RunServiceWSGIApplication  # noqa: E402

from union import errors  # noqa: E402
from union.config import Config  # noqa: E402
from union.transport.connect import ConnectTransport  # noqa: E402
from union.transport.retry import RetryPolicy  # noqa: E402

RUNNING, SUCCEEDED = phase_pb2.ACTION_PHASE_RUNNING, phase_pb2.ACTION_PHASE_SUCCEEDED


class Runs(RunServiceSync):
    """RunServiceSync: runs kept in a dict; a watch yields RUNNING then SUCCEEDED."""

    def __init__(self) -> None:
        self.runs: dict[str, run_definition_pb2.RunDetails] = {}
        self.headers: list[dict[str, str]] = []

    def _details(self, rid: identifier_pb2.RunIdentifier) -> run_definition_pb2.RunDetails:
        if rid.name not in self.runs:
            raise ConnectError(Code.NOT_FOUND, f"run {rid.name!r} not found")
        return self.runs[rid.name]

    def create_run(self, request: runs.CreateRunRequest, ctx: Any) -> runs.CreateRunResponse:
        self.headers.append(dict(ctx.request_headers().items()))
        name = request.run_id.name
        if name in self.runs:
            raise ConnectError(Code.ALREADY_EXISTS, f"run {name!r} already exists")
        details = run_definition_pb2.RunDetails()
        details.action.id.run.CopyFrom(request.run_id)
        details.action.status.phase = RUNNING
        self.runs[name] = details
        response = runs.CreateRunResponse()
        response.run.action.id.run.CopyFrom(request.run_id)
        return response

    def get_run_details(self, request: runs.GetRunDetailsRequest, ctx: Any) -> runs.GetRunDetailsResponse:
        return runs.GetRunDetailsResponse(details=self._details(request.run_id))

    def watch_run_details(
        self, request: runs.WatchRunDetailsRequest, ctx: Any
    ) -> Iterator[runs.WatchRunDetailsResponse]:
        details = self._details(request.run_id)
        yield runs.WatchRunDetailsResponse(details=details)
        time.sleep(0.05)
        details.action.status.phase = SUCCEEDED
        yield runs.WatchRunDetailsResponse(details=details)

    def list_runs(self, request: runs.ListRunsRequest, ctx: Any) -> runs.ListRunsResponse:
        response = runs.ListRunsResponse()
        for details in self.runs.values():
            response.runs.add().action.id.run.CopyFrom(details.action.id.run)
        return response

    def abort_run(self, request: runs.AbortRunRequest, ctx: Any) -> runs.AbortRunResponse:
        details = self._details(request.run_id)
        details.action.status.phase = phase_pb2.ACTION_PHASE_ABORTED
        return runs.AbortRunResponse()

    def get_action_details(self, request: Any, ctx: Any) -> Any:
        time.sleep(2)  # a slow method, for the deadline test
        raise ConnectError(Code.INTERNAL, "too slow")


class Tasks(TaskServiceSync):
    """TaskServiceSync: deployed tasks kept in a dict."""

    def __init__(self) -> None:
        self.tasks: dict[str, tasks.DeployTaskRequest] = {}

    def deploy_task(self, request: tasks.DeployTaskRequest, ctx: Any) -> tasks.DeployTaskResponse:
        if not request.task_id.name:
            raise ConnectError(Code.INVALID_ARGUMENT, "task_id.name is required")
        self.tasks[request.task_id.name] = request
        return tasks.DeployTaskResponse()

    def get_task_details(
        self, request: tasks.GetTaskDetailsRequest, ctx: Any
    ) -> tasks.GetTaskDetailsResponse:
        found = self.tasks.get(request.task_id.name)
        if found is None:
            raise ConnectError(Code.NOT_FOUND, "no such task")
        response = tasks.GetTaskDetailsResponse()
        response.details.task_id.CopyFrom(found.task_id)
        return response

    def list_tasks(self, request: tasks.ListTasksRequest, ctx: Any) -> tasks.ListTasksResponse:
        response = tasks.ListTasksResponse()
        for request_ in self.tasks.values():
            task = task_definition_pb2.Task()
            task.task_id.CopyFrom(request_.task_id)
            response.tasks.append(task)
        return response


class Logs(RunLogsServiceSync):
    def tail_logs(self, request: logs.TailLogsRequest, ctx: Any) -> Iterator[logs.TailLogsResponse]:
        for n in range(3):
            response = logs.TailLogsResponse()
            response.logs.add().lines.append(payload_pb2.LogLine(message=f"line {n}"))
            yield response
        long = logs.TailLogsResponse()  # big enough for connectrpc to gzip the frame
        long.logs.add().lines.append(payload_pb2.LogLine(message="x" * 5000))
        yield long
        raise ConnectError(Code.PERMISSION_DENIED, "the rest is secret")


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def connect_server() -> Iterator[tuple[str, Runs, Tasks]]:
    run_service, task_service = Runs(), Tasks()
    apps = [
        RunServiceWSGIApplication(run_service),
        TaskServiceWSGIApplication(task_service),
        RunLogsServiceWSGIApplication(Logs()),
    ]

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        # wsgiref hands apps the raw socket; connectrpc reads an empty body (Content-Length: 0, an empty
        # proto message) until EOF, so bound the input as gunicorn and werkzeug do.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
        for app in apps:
            if environ["PATH_INFO"].startswith(app.path + "/"):
                return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such service"]

    httpd = make_server(
        "127.0.0.1", 0, dispatch, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", run_service, task_service
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(params=["proto", "json"])
def client(
    request: pytest.FixtureRequest, connect_server: tuple[str, Runs, Tasks]
) -> Iterator[ConnectTransport]:
    url = connect_server[0]
    t = ConnectTransport(
        Config(endpoint=url),
        codec=request.param,
        authenticator=None,
        retry=RetryPolicy(max_attempts=2, initial_backoff=0.01),
    )
    t._auth_resolved = True  # this server has no auth
    yield t
    t.close()


def rid(name: str) -> identifier_pb2.RunIdentifier:
    return identifier_pb2.RunIdentifier(org="o", project="p", domain="d", name=name)


def test_unary_round_trip(client: ConnectTransport, connect_server: tuple[str, Runs, Tasks]) -> None:
    created = client.create_run(runs.CreateRunRequest(run_id=rid("a")))
    assert created.run.action.id.run == rid("a")
    assert (
        client.get_run_details(runs.GetRunDetailsRequest(run_id=rid("a"))).details.action.id.run.name == "a"
    )
    assert [r.action.id.run.name for r in client.list_runs(runs.ListRunsRequest()).runs] == ["a"]
    client.abort_run(runs.AbortRunRequest(run_id=rid("a")))
    assert connect_server[1].runs["a"].action.status.phase == phase_pb2.ACTION_PHASE_ABORTED
    headers = connect_server[1].headers[0]
    assert headers.get("connect-protocol-version") == "1"
    assert int(headers["connect-timeout-ms"]) <= 30_000


def test_error_codes_map_to_typed_exceptions(client: ConnectTransport) -> None:
    with pytest.raises(errors.NotFoundError, match="run 'nope' not found"):
        client.get_run_details(runs.GetRunDetailsRequest(run_id=rid("nope")))
    client.create_run(runs.CreateRunRequest(run_id=rid("b")))
    with pytest.raises(errors.AlreadyExistsError) as info:
        client.create_run(runs.CreateRunRequest(run_id=rid("b")))
    assert info.value.code == "already_exists"
    with pytest.raises(errors.InvalidArgumentError, match="task_id.name is required"):
        client.deploy_task(tasks.DeployTaskRequest())
    with pytest.raises(errors.UnimplementedError):
        client.list_actions(runs.ListActionsRequest())  # the generated base class answers unimplemented


def test_tasks_and_compression_both_ways(
    client: ConnectTransport, connect_server: tuple[str, Runs, Tasks]
) -> None:
    big = "t" * 3000  # over the 1 KiB threshold: the request goes gzip, and so does the answer
    encodings: list[tuple[str | None, str | None]] = []
    client._session.hooks["response"].append(
        lambda r, *a, **k: encodings.append(
            (r.request.headers.get("Content-Encoding"), r.headers.get("Content-Encoding"))
        )
    )
    for n in range(5):
        request = tasks.DeployTaskRequest()
        request.task_id.name = f"{big}{n}"
        request.task_id.version = "v1"
        client.deploy_task(request)
    assert set(connect_server[2].tasks) == {f"{big}{n}" for n in range(5)}
    listed = client.list_tasks(tasks.ListTasksRequest())
    assert sorted(t.task_id.name for t in listed.tasks) == sorted(connect_server[2].tasks)
    details = client.get_task_details(tasks.GetTaskDetailsRequest(task_id=listed.tasks[0].task_id))
    assert details.details.task_id.version == "v1"
    assert encodings[:5] == [("gzip", "gzip")] * 5 and encodings[5] == (None, "gzip")


def test_watch_stream(client: ConnectTransport) -> None:
    client.create_run(runs.CreateRunRequest(run_id=rid("w")))
    phases = [
        m.details.action.status.phase
        for m in client.watch_run_details(runs.WatchRunDetailsRequest(run_id=rid("w")), timeout=5)
    ]
    assert phases == [RUNNING, SUCCEEDED]


def test_stream_error_code(client: ConnectTransport) -> None:
    with pytest.raises(errors.NotFoundError, match="not found"):
        list(client.watch_run_details(runs.WatchRunDetailsRequest(run_id=rid("missing"))))


def test_stream_messages_then_error(client: ConnectTransport) -> None:
    got: list[str] = []
    encodings: list[str | None] = []
    client._session.hooks["response"].append(
        lambda r, *a, **k: encodings.append(r.headers.get("Connect-Content-Encoding"))
    )
    with pytest.raises(errors.PermissionDeniedError, match="the rest is secret"):
        for m in client.tail_logs(logs.TailLogsRequest()):
            got.extend(line.message for batch in m.logs for line in batch.lines)
    assert got == ["line 0", "line 1", "line 2", "x" * 5000]
    assert encodings == ["gzip"]


def test_deadline_against_a_slow_method(client: ConnectTransport) -> None:
    start = time.monotonic()
    with pytest.raises(errors.DeadlineExceededError):
        client.get_action_details(runs.GetActionDetailsRequest(), timeout=0.4)
    assert time.monotonic() - start < 0.4 + 0.35


def test_a_service_the_server_lacks_is_unimplemented(client: ConnectTransport) -> None:
    with pytest.raises(errors.UnimplementedError, match="HTTP 404"):
        client.create_upload_location(dataproxy.CreateUploadLocationRequest())


def test_the_interop_tests_use_the_pinned_connectrpc() -> None:
    """pyproject's dev extra pins connect-python to the version flyteidl2's stubs were generated for."""
    import importlib.metadata
    import re

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    pinned = re.search(r'"connect-python==([^"]+)"', pyproject)
    assert pinned is not None
    assert importlib.metadata.version("connect-python") == pinned.group(1) == "0.9.0"
