"""``union serve`` over real HTTP with raw ``requests``: the Connect wire, HTTP details, limits, logs."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from engine_helpers import Bundle, run_request, start, wait
from flyteidl2.common import identifier_pb2, phase_pb2
from flyteidl2.task import task_service_pb2 as tasks
from flyteidl2.workflow import run_logs_service_pb2 as logs
from flyteidl2.workflow import run_service_pb2 as runs
from raw_connect import RawError
from serve_helpers import Served

from union.transport import wire

SUCCEEDED = phase_pb2.ACTION_PHASE_SUCCEEDED


def post(served: Served, path: str, body: Any = b"", **headers: str) -> requests.Response:
    return requests.post(served.url + path, data=body, headers=headers, timeout=30)


def frames_of(response: requests.Response) -> list[wire.Frame]:
    return list(wire.read_frames(response.iter_content(None)))


def action_id(run_id: identifier_pb2.RunIdentifier) -> identifier_pb2.ActionIdentifier:
    return identifier_pb2.ActionIdentifier(run=run_id, name="a0")


# -- every RunService / TaskService / logs method, JSON and proto -----------------------------------


@pytest.mark.parametrize("codec", ["json", "proto"])
def test_every_method_round_trips(served: Served, bundle: Bundle, codec: str) -> None:
    c = served.client(codec, gzip_requests=codec == "proto")
    add = bundle.deploy("add")
    chatty = bundle.deploy("chatty")
    details = c.get_task_details(tasks.GetTaskDetailsRequest(task_id=add.task_id)).details
    assert details.task_id.name == "serve_tasks.add"
    listed = c.list_tasks(tasks.ListTasksRequest())
    assert {t.task_id.name for t in listed.tasks} == {"serve_tasks.add", "serve_tasks.chatty"}

    run_id = c.create_run(run_request(add, a=41)).run.action.id.run
    assert wait(c, run_id).action.status.phase == SUCCEEDED
    assert (
        c.get_run_details(runs.GetRunDetailsRequest(run_id=run_id)).details.action.status.phase == SUCCEEDED
    )
    watched = list(c.watch_action_details(runs.WatchActionDetailsRequest(action_id=action_id(run_id))))
    assert watched[-1].details.status.phase == SUCCEEDED
    got = c.get_action_details(runs.GetActionDetailsRequest(action_id=action_id(run_id)))
    assert got.details.status.phase == SUCCEEDED
    data = c.get_action_data(runs.GetActionDataRequest(action_id=action_id(run_id)))
    assert [nl.name for nl in data.outputs.literals] == ["o0"]
    assert data.outputs.literals[0].value.scalar.primitive.integer == 42
    actions = c.list_actions(runs.ListActionsRequest(run_id=run_id)).actions
    assert [a.id.name for a in actions] == ["a0"]
    listed_runs = c.list_runs(runs.ListRunsRequest()).runs
    assert [r.action.id.run.name for r in listed_runs] == [run_id.name]

    log_run = start(c, chatty, lines=3)
    wait(c, log_run)
    lines = [
        line.message
        for response in c.tail_logs(logs.TailLogsRequest(action_id=action_id(log_run)))
        for batch in response.logs
        for line in batch.lines
    ]
    assert [line for line in lines if line.startswith("out ")] == ["out 0", "out 1", "out 2"]

    sleeper = start(c, bundle.deploy("sleep"), seconds=60)
    c.abort_run(runs.AbortRunRequest(run_id=sleeper, reason="test"))
    assert wait(c, sleeper).action.status.phase == phase_pb2.ACTION_PHASE_ABORTED


def test_errors_are_connect_json_with_http_status(served: Served) -> None:
    c = served.client("json")
    with pytest.raises(RawError) as info:
        c.get_run_details(runs.GetRunDetailsRequest(run_id=identifier_pb2.RunIdentifier(name="nope")))
    assert (info.value.code, info.value.status) == ("not_found", 404)
    assert "nope" in info.value.message
    with pytest.raises(RawError) as info:
        c.deploy_task(tasks.DeployTaskRequest())
    assert (info.value.code, info.value.status) == ("invalid_argument", 400)
    # Malformed bodies: invalid_argument, in JSON and proto.
    r = post(
        served, "/flyteidl2.task.TaskService/ListTasks", b"{nope", **{"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"
    r = post(
        served, "/flyteidl2.task.TaskService/ListTasks", b"\xff\xff", **{"Content-Type": "application/proto"}
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"


def test_stream_errors_travel_in_the_end_frame(served: Served) -> None:
    body = wire.envelope(b'{"runId": {"name": "nope"}}')
    r = post(
        served,
        "/flyteidl2.workflow.RunService/WatchRunDetails",
        body,
        **{"Content-Type": "application/connect+json"},
    )
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/connect+json"
    assert r.headers.get("Transfer-Encoding") == "chunked"
    frames = frames_of(r)
    assert len(frames) == 1 and frames[0].end
    error, _ = wire.parse_end_stream(frames[0].payload)
    assert error is not None and error.code == "not_found"


def test_unknown_and_unoffered_procedures(served: Served) -> None:
    r = post(served, "/flyteidl2.workflow.RunService/Nope", b"{}", **{"Content-Type": "application/json"})
    assert r.status_code == 404 and r.json()["code"] == "unimplemented"
    r = post(served, "/no.Such/Thing", b"{}", **{"Content-Type": "application/json"})
    assert r.status_code == 404 and r.json()["code"] == "unimplemented"
    # Declared by RunService, not offered by the engine: unimplemented (501 unary, end frame for streams).
    r = post(
        served, "/flyteidl2.workflow.RunService/AbortAction", b"{}", **{"Content-Type": "application/json"}
    )
    assert r.status_code == 501 and r.json()["code"] == "unimplemented"
    r = post(
        served,
        "/flyteidl2.workflow.RunService/WatchRuns",
        wire.envelope(b"{}"),
        **{"Content-Type": "application/connect+json"},
    )
    error, _ = wire.parse_end_stream(frames_of(r)[-1].payload)
    assert error is not None and error.code == "unimplemented"


def test_wrong_media_type_and_method(served: Served) -> None:
    r = post(served, "/flyteidl2.task.TaskService/ListTasks", b"{}", **{"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.headers["Accept-Post"]
    r = post(
        served,
        "/flyteidl2.workflow.RunService/WatchRunDetails",
        b"{}",
        **{"Content-Type": "application/json"},
    )
    assert r.status_code == 415
    r = requests.put(served.url + "/flyteidl2.task.TaskService/ListTasks", data=b"{}", timeout=10)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_unary_get(served: Served) -> None:
    r = requests.get(
        served.url + "/flyteidl2.task.TaskService/ListTasks",
        params={"encoding": "json", "message": "{}", "connect": "v1"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json() == {}


# -- compression, chunked bodies, keep-alive ------------------------------------------------------


def test_gzip_both_ways(served: Served, bundle: Bundle) -> None:
    task = bundle.deploy("add")
    request = tasks.GetTaskDetailsRequest(task_id=task.task_id)
    body = gzip.compress(wire.encode_message(request, json_format=True))
    r = requests.post(
        served.url + "/flyteidl2.task.TaskService/GetTaskDetails",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip", "Accept-Encoding": "gzip"},
        stream=True,
        timeout=10,
    )
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    raw = r.raw.read(decode_content=False)
    answer = json.loads(gzip.decompress(raw))
    assert answer["details"]["taskId"]["name"] == "serve_tasks.add"
    # Without Accept-Encoding: identity.
    plain = requests.post(
        served.url + "/flyteidl2.task.TaskService/GetTaskDetails",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept-Encoding": "identity",
        },
        timeout=10,
    )
    assert "Content-Encoding" not in plain.headers and plain.json() == answer
    # A corrupt gzip body is invalid_argument, an unknown encoding unimplemented.
    r = post(
        served,
        "/flyteidl2.task.TaskService/ListTasks",
        b"not gzip",
        **{"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"
    r = post(
        served,
        "/flyteidl2.task.TaskService/ListTasks",
        b"{}",
        **{"Content-Type": "application/json", "Content-Encoding": "br"},
    )
    assert r.json()["code"] == "unimplemented"


def test_stream_frames_compressed_when_accepted(served: Served, bundle: Bundle) -> None:
    c = served.client("proto", gzip_requests=True)  # request frame compressed too
    run_id = start(c, bundle.deploy("chatty"), lines=400)
    wait(c, run_id)
    request = logs.TailLogsRequest(action_id=action_id(run_id))
    r = requests.post(
        served.url + "/flyteidl2.workflow.RunLogsService/TailLogs",
        data=wire.envelope(gzip.compress(request.SerializeToString()), flags=wire.FLAG_COMPRESSED),
        headers={
            "Content-Type": "application/connect+proto",
            "Connect-Content-Encoding": "gzip",
            "Connect-Accept-Encoding": "gzip",
        },
        stream=True,
        timeout=30,
    )
    frames = frames_of(r)
    assert r.headers["Connect-Content-Encoding"] == "gzip"
    assert frames[-1].end and frames[-1].payload == b"{}"
    assert any(f.compressed for f in frames[:-1])
    lines = [
        line.message
        for f in frames[:-1]
        for batch in logs.TailLogsResponse.FromString(
            gzip.decompress(f.payload) if f.compressed else f.payload
        ).logs
        for line in batch.lines
    ]
    assert lines[:2] == ["out 0", "out 1"] and "out 399" in lines


def test_chunked_request_body(served: Served) -> None:
    def pieces() -> Any:
        yield b'{"request"'
        yield b': {"limit": 5}'
        yield b"}"

    r = requests.post(
        served.url + "/flyteidl2.workflow.RunService/ListRuns",
        data=pieces(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 200 and r.json() == {}


def test_keep_alive_serves_several_requests_on_one_connection(served: Served) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    sockets = []
    for _ in range(3):
        conn.request(
            "POST", "/flyteidl2.task.TaskService/ListTasks", b"{}", {"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"{}"
        sockets.append(conn.sock)
    assert sockets[0] is not None and sockets[0] is sockets[1] is sockets[2]
    conn.close()


def test_malformed_chunked_body_is_400(served: Served) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /flyteidl2.task.TaskService/ListTasks HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400")


# -- limits ---------------------------------------------------------------------------------------


def test_body_limit(make_server: Callable[..., Served]) -> None:
    served = make_server(max_body=2048)
    big = json.dumps({"request": {"token": "x" * 4096}}).encode()
    r = post(served, "/flyteidl2.task.TaskService/ListTasks", big, **{"Content-Type": "application/json"})
    assert r.status_code == 429 and r.json()["code"] == "resource_exhausted"
    # Chunked, with no declared length: still bounded.
    r = requests.post(
        served.url + "/flyteidl2.task.TaskService/ListTasks",
        data=iter([big[:1000], big[1000:]]),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 429 and r.json()["code"] == "resource_exhausted"
    # A gzip bomb: small on the wire, refused while inflating.
    bomb = gzip.compress(b" " * 1_000_000)
    assert len(bomb) < 2048
    r = post(
        served,
        "/flyteidl2.task.TaskService/ListTasks",
        bomb,
        **{"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.json()["code"] == "resource_exhausted"
    # Expect: 100-continue with a declared size over the limit: 413 before the body is sent.
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /flyteidl2.task.TaskService/ListTasks HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 999999\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 413")
    # The server still answers normal requests.
    assert post(
        served, "/flyteidl2.task.TaskService/ListTasks", b"{}", **{"Content-Type": "application/json"}
    ).ok


def _open_watch(served: Served, run_id: identifier_pb2.RunIdentifier, **headers: str) -> requests.Response:
    body = wire.envelope(runs.WatchRunDetailsRequest(run_id=run_id).SerializeToString())
    return requests.post(
        served.url + "/flyteidl2.workflow.RunService/WatchRunDetails",
        data=body,
        headers={"Content-Type": "application/connect+proto", **headers},
        stream=True,
        timeout=30,
    )


def _end_error(frames: list[wire.Frame]) -> wire.WireError | None:
    assert frames and frames[-1].end
    return wire.parse_end_stream(frames[-1].payload)[0]


def test_stream_limit(make_server: Callable[..., Served], tmp_path: Any) -> None:
    served = make_server(max_streams=1)
    c = served.client("proto")
    bundle = Bundle(
        c, tmp_path / "b", "import time\ndef sleep(s: float) -> float:\n    time.sleep(s)\n    return s\n"
    )
    run_id = start(c, bundle.deploy("sleep"), s=60)
    first = _open_watch(served, run_id)
    chunks = first.iter_content(None)
    first_frames = wire.read_frames(chunks)
    assert not next(first_frames).end  # the first is open, holding the only slot
    second = frames_of(_open_watch(served, run_id))
    error = _end_error(second)
    assert error is not None and error.code == "resource_exhausted"
    first.close()
    c.abort_run(runs.AbortRunRequest(run_id=run_id))


def test_stream_deadline(served: Served, bundle: Bundle) -> None:
    c = served.client("proto")
    run_id = start(c, bundle.deploy("sleep"), seconds=60)
    began = time.monotonic()
    frames = frames_of(_open_watch(served, run_id, **{"Connect-Timeout-Ms": "600"}))
    assert time.monotonic() - began < 5
    error = _end_error(frames)
    assert error is not None and error.code == "deadline_exceeded"
    r = post(
        served,
        "/flyteidl2.task.TaskService/ListTasks",
        b"{}",
        **{"Content-Type": "application/json", "Connect-Timeout-Ms": "soon"},
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"
    c.abort_run(runs.AbortRunRequest(run_id=run_id))


def test_graceful_shutdown_ends_open_streams(make_server: Callable[..., Served], tmp_path: Any) -> None:
    served = make_server()
    c = served.client("proto")
    bundle = Bundle(
        c, tmp_path / "b", "import time\ndef sleep(s: float) -> float:\n    time.sleep(s)\n    return s\n"
    )
    run_id = start(c, bundle.deploy("sleep"), s=60)
    response = _open_watch(served, run_id)
    frames = wire.read_frames(response.iter_content(None))
    assert not next(frames).end
    stopped = threading.Event()
    began = time.monotonic()
    threading.Thread(target=lambda: (served.server.stop(grace=5), stopped.set()), daemon=True).start()
    rest = list(frames)
    error = _end_error(rest)
    assert error is not None and error.code == "unavailable"
    assert stopped.wait(5) and time.monotonic() - began < 5
    with pytest.raises(requests.ConnectionError):
        requests.post(served.url + "/flyteidl2.task.TaskService/ListTasks", data=b"{}", timeout=2)
    served.server.transport.kill_all()


def test_idle_keep_alive_connections_do_not_hold_up_shutdown(make_server: Callable[..., Served]) -> None:
    served = make_server()
    session = requests.Session()
    assert session.post(served.url + "/healthz", timeout=5).ok  # leaves an idle pooled connection
    began = time.monotonic()
    served.server.stop(grace=5)
    assert time.monotonic() - began < 2


# -- logs -----------------------------------------------------------------------------------------


def test_logs_are_json_lines_without_secrets(served: Served) -> None:
    canary = "canary-secret-7f3a9"
    requests.post(
        served.url + f"/flyteidl2.task.TaskService/ListTasks?sig={canary}&token={canary}",
        data=b"{}",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {canary}",
            "X-Api-Key": canary,
        },
        timeout=10,
    )
    requests.get(served.url + f"/_data/p/d/x?sig={canary}", timeout=10)
    requests.post(
        served.url + "/flyteidl2.workflow.RunService/GetRunDetails",
        json={"runId": {"name": canary}},
        timeout=10,
    )
    with socket.create_connection(tuple(served.url.removeprefix("http://").split(":")), timeout=5) as sock:  # type: ignore[arg-type]
        sock.sendall(f"GARBAGE /x?sig={canary}\r\n\r\n".encode())
        sock.recv(65536)
    deadline = time.monotonic() + 5  # a line is written just after its answer went out
    while sum(line["event"] in ("request", "http_error") for line in served.log_lines()) < 4:
        assert time.monotonic() < deadline, served.log_text()
        time.sleep(0.02)
    assert canary not in served.log_text()
    lines = served.log_lines()
    first = next(line for line in lines if line.get("path") == "/flyteidl2.task.TaskService/ListTasks")
    assert first["method"] == "POST" and first["event"] == "request"
    assert first["status"] == 200 and first["client"] == "127.0.0.1"
    assert isinstance(first["duration_ms"], float)
    assert any(line["event"] == "http_error" for line in lines)


def test_a_client_hanging_up_mid_stream_frees_its_slot(
    make_server: Callable[..., Served], tmp_path: Any
) -> None:
    served = make_server(max_streams=1)
    c = served.client("proto")
    bundle = Bundle(
        c, tmp_path / "b", "import time\ndef sleep(s: float) -> float:\n    time.sleep(s)\n    return s\n"
    )
    run_id = start(c, bundle.deploy("sleep"), s=60)
    host, port = served.url.removeprefix("http://").split(":")
    body = wire.envelope(runs.WatchRunDetailsRequest(run_id=run_id).SerializeToString())
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /flyteidl2.workflow.RunService/WatchRunDetails HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/connect+proto\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert served.server._routes.streams.open == 1  # type: ignore[union-attr]
    # The client went away without a word while the run still sleeps.
    deadline = time.monotonic() + 5
    while served.server._routes.streams.open and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.05)
    assert served.server._routes.streams.open == 0  # type: ignore[union-attr]
    again = _open_watch(served, run_id, **{"Connect-Timeout-Ms": "300"})
    error = _end_error(frames_of(again))
    assert error is not None and error.code == "deadline_exceeded"  # served, not resource_exhausted
    c.abort_run(runs.AbortRunRequest(run_id=run_id))


def test_protocol_version_and_get_errors(served: Served) -> None:
    r = post(
        served,
        "/flyteidl2.task.TaskService/ListTasks",
        b"{}",
        **{"Content-Type": "application/json", "Connect-Protocol-Version": "2"},
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"
    url = served.url + "/flyteidl2.task.TaskService/ListTasks"
    r = requests.get(url, params={"encoding": "proto", "message": "abcde", "base64": "1"}, timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"
    r = requests.get(url, params={"encoding": "json", "message": "{}", "connect": "v2"}, timeout=10)
    assert r.status_code == 400
    r = requests.get(url, params={"encoding": "xml"}, timeout=10)
    assert r.status_code == 400
    r = requests.get(
        url, params={"encoding": "proto", "message": "", "base64": "1", "connect": "v1"}, timeout=10
    )
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/proto"


def test_a_unary_call_past_its_deadline_is_deadline_exceeded(make_server: Callable[..., Served]) -> None:
    class Slow:
        def list_tasks(self, message: Any, *, timeout: float | None = None) -> Any:
            time.sleep(0.3)
            return tasks.ListTasksResponse()

    served = make_server()
    served.server._routes.routes["/flyteidl2.task.TaskService/ListTasks"].target = Slow().list_tasks  # type: ignore[union-attr]
    headers = {"Content-Type": "application/json"}
    r = post(
        served, "/flyteidl2.task.TaskService/ListTasks", b"{}", **headers, **{"Connect-Timeout-Ms": "100"}
    )
    assert r.status_code == 504 and r.json()["code"] == "deadline_exceeded"
    r = post(
        served, "/flyteidl2.task.TaskService/ListTasks", b"{}", **headers, **{"Connect-Timeout-Ms": "5000"}
    )
    assert r.status_code == 200


def test_the_server_ticks_the_engine_with_no_client_polling(served: Served, bundle: Bundle) -> None:
    """A worker killed with SIGKILL is noticed by the server's own maintenance, not by a reader."""
    import os
    import signal

    from union.engine.store import FAILED

    c = served.client("proto")
    run_id = start(c, bundle.deploy("sleep"), seconds=60)
    store = served.server.transport.store
    deadline = time.monotonic() + 20
    row = store.get_run("", run_id.project, run_id.domain, run_id.name)
    while not row["worker_pid"] and time.monotonic() < deadline:
        time.sleep(0.05)
        row = store.get_run("", run_id.project, run_id.domain, run_id.name)
    os.kill(row["worker_pid"], signal.SIGKILL)
    while row["phase"] != FAILED and time.monotonic() < deadline:  # raw reads: no tick of their own
        time.sleep(0.05)
        row = store.get_run("", run_id.project, run_id.domain, run_id.name)
    assert row["phase"] == FAILED and "died" in row["error_message"]


def test_concurrent_clients(served: Served, bundle: Bundle) -> None:
    """Several connections creating, listing and watching runs at once: every call answers correctly."""
    from concurrent.futures import ThreadPoolExecutor

    add = bundle.deploy("add")

    def client_work(i: int) -> list[int]:
        c = served.client("proto" if i % 2 else "json")
        ids = [c.create_run(run_request(add, a=i * 10 + k)).run.action.id.run for k in range(2)]
        c.list_runs(runs.ListRunsRequest())
        c.list_tasks(tasks.ListTasksRequest())
        return [int(wait(c, run_id).action.status.phase) for run_id in ids]

    with ThreadPoolExecutor(4) as pool:
        phases = [p for result in pool.map(client_work, range(4)) for p in result]
    assert phases == [SUCCEEDED] * 8
    assert len(served.client().list_runs(runs.ListRunsRequest()).runs) == 8
