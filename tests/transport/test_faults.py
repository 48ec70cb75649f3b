"""The Connect client against a scripted server on a real socket: retries, drops, deadlines, auth."""

from __future__ import annotations

import email.utils
import gzip
import logging
import socket
import threading
import time
from typing import Any

import pytest
import requests
from flyteidl2.common import identifier_pb2, phase_pb2
from flyteidl2.task import task_service_pb2 as tasks
from flyteidl2.workflow import run_definition_pb2, run_logs_service_pb2, run_service_pb2
from scripted import (
    chunk,
    drop,
    end_chunks,
    finish_stream,
    reply,
    reply_error,
    reply_message,
    send_messages,
    start_stream,
)

from union import errors
from union.transport import wire
from union.transport.retry import RetryPolicy

RUN_ID = identifier_pb2.RunIdentifier(org="o", project="p", domain="d", name="r1")
SLACK = 0.35  # scheduling slack on a shared 2-core machine


def details(phase: int = phase_pb2.ACTION_PHASE_RUNNING) -> run_definition_pb2.RunDetails:
    d = run_definition_pb2.RunDetails()
    d.action.id.run.CopyFrom(RUN_ID)
    d.action.status.phase = phase
    return d


def get_details_response(
    phase: int = phase_pb2.ACTION_PHASE_RUNNING,
) -> run_service_pb2.GetRunDetailsResponse:
    return run_service_pb2.GetRunDetailsResponse(details=details(phase))


def watch(phase: int) -> run_service_pb2.WatchRunDetailsResponse:
    return run_service_pb2.WatchRunDetailsResponse(details=details(phase))


def get_req() -> run_service_pb2.GetRunDetailsRequest:
    return run_service_pb2.GetRunDetailsRequest(run_id=RUN_ID)


def create_req() -> run_service_pb2.CreateRunRequest:
    return run_service_pb2.CreateRunRequest(run_id=RUN_ID)


def sequence(*steps: Any) -> Any:
    """A handler doing ``steps[i]`` for the i-th request (the last step repeats)."""
    count = {"n": 0}

    def handler(h: Any, seen: Any) -> None:
        i = min(count["n"], len(steps) - 1)
        count["n"] += 1
        steps[i](h, seen)

    return handler


def ok(h: Any, seen: Any) -> None:
    reply_message(h, get_details_response())


# -- unary basics ---------------------------------------------------------------------------------------


def test_unary_proto_headers_and_path(server, connect) -> None:
    server.handler = ok
    t = connect()
    response = t.get_run_details(get_req(), timeout=5)
    assert response.details.action.id.run.name == "r1"
    [seen] = server.requests
    assert seen.path == "/flyteidl2.workflow.RunService/GetRunDetails"
    assert seen.headers["content-type"] == "application/proto"
    assert seen.headers["connect-protocol-version"] == "1"
    assert 0 < int(seen.headers["connect-timeout-ms"]) <= 5000
    assert "gzip" in seen.headers["accept-encoding"]
    assert seen.message(run_service_pb2.GetRunDetailsRequest) == get_req()


def test_unary_json(server, connect) -> None:
    def handler(h: Any, seen: Any) -> None:
        assert seen.headers["content-type"] == "application/json"
        assert b'"runId"' in seen.body
        reply_message(h, get_details_response(), json_format=True)

    server.handler = handler
    assert connect(codec="json").get_run_details(get_req()).details.action.id.run.name == "r1"


def test_default_timeout_is_sent(server, connect) -> None:
    server.handler = ok
    connect(timeout=7).get_run_details(get_req())
    assert 6000 < int(server.requests[0].headers["connect-timeout-ms"]) <= 7000


def test_large_requests_are_gzipped_and_gzip_answers_decoded(server, connect) -> None:
    def handler(h: Any, seen: Any) -> None:
        assert seen.headers.get("content-encoding") == "gzip"
        request = seen.message(tasks.DeployTaskRequest)
        assert request.task_id.name == "x" * 5000
        reply_message(h, tasks.DeployTaskResponse(), gzip_it=True)

    server.handler = handler
    request = tasks.DeployTaskRequest()
    request.task_id.name = "x" * 5000
    connect().deploy_task(request)
    assert len(server.requests[0].body) < 1000


def test_small_requests_are_not_compressed(server, connect) -> None:
    server.handler = ok
    connect().get_run_details(get_req())
    assert "content-encoding" not in server.requests[0].headers


def test_connect_error_becomes_typed_exception(server, connect) -> None:
    server.handler = lambda h, s: reply_error(h, "not_found", "run r1 not found")
    with pytest.raises(errors.NotFoundError, match="run r1 not found") as info:
        connect().get_run_details(get_req())
    assert info.value.code == "not_found"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("invalid_argument", errors.InvalidArgumentError),
        ("already_exists", errors.AlreadyExistsError),
        ("permission_denied", errors.PermissionDeniedError),
        ("unimplemented", errors.UnimplementedError),
        ("deadline_exceeded", errors.DeadlineExceededError),
        ("internal", errors.TransportError),
    ],
)
def test_error_codes(server, connect, code, cls) -> None:
    server.handler = lambda h, s: reply_error(h, code, "nope")
    with pytest.raises(cls) as info:
        connect().create_run(create_req())
    assert info.value.code == code
    assert len(server.requests) == 1


def test_signed_urls_in_server_messages_are_redacted(server, connect) -> None:
    secret = "X-Amz-Signature=canary123"
    server.handler = lambda h, s: reply_error(h, "invalid_argument", f"bad https://b.s3/k?{secret}")
    with pytest.raises(errors.InvalidArgumentError) as info:
        connect().get_run_details(get_req())
    assert "canary123" not in str(info.value)
    assert "https://b.s3/k" in str(info.value)


def test_html_502_from_a_proxy_is_unavailable(server, connect) -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.handler = lambda h, s: reply(h, 502, html, "text/html")
    with pytest.raises(errors.UnavailableError, match="HTTP 502 without a Connect error") as info:
        connect().create_run(create_req())
    assert "<html>" not in str(info.value)
    assert len(server.requests) == 1  # a write that may have been processed is not repeated


def test_html_502_on_a_read_is_retried(server, connect) -> None:
    server.handler = sequence(lambda h, s: reply(h, 502, b"<html/>", "text/html"), ok)
    assert connect().get_run_details(get_req()).details.action.id.run.name == "r1"
    assert len(server.requests) == 2


def test_unexpected_content_type_on_success(server, connect) -> None:
    server.handler = lambda h, s: reply(h, 200, b"<html/>", "text/html")
    with pytest.raises(errors.TransportError, match="text/html"):
        connect().get_run_details(get_req())


# -- retries ----------------------------------------------------------------------------------------


def test_503_with_retry_after_seconds_then_success(server, connect) -> None:
    server.handler = sequence(
        lambda h, s: reply_error(h, "unavailable", "busy", {"Retry-After": "1"}),
        ok,
    )
    start = time.monotonic()
    connect().get_run_details(get_req(), timeout=5)
    elapsed = time.monotonic() - start
    assert len(server.requests) == 2
    assert 0.95 <= elapsed < 1 + SLACK + 0.5


def test_retry_after_http_date(server, connect) -> None:
    when = email.utils.formatdate(time.time() + 1.2, usegmt=True)
    server.handler = sequence(lambda h, s: reply(h, 503, b"busy", "text/plain", {"Retry-After": when}), ok)
    start = time.monotonic()
    connect().create_run(create_req(), timeout=5)  # 503 means not processed: safe even for a write
    assert len(server.requests) == 2
    assert time.monotonic() - start >= 0.15  # HTTP dates have 1 s resolution


def test_retry_after_beyond_the_timeout_fails_at_once(server, connect) -> None:
    server.handler = lambda h, s: reply_error(h, "unavailable", "busy", {"Retry-After": "30"})
    start = time.monotonic()
    with pytest.raises(errors.UnavailableError, match="busy"):
        connect().get_run_details(get_req(), timeout=2)
    assert time.monotonic() - start < 1
    assert len(server.requests) == 1


def test_429_on_create_run_is_retried(server, connect) -> None:
    server.handler = sequence(
        lambda h, s: reply_error(h, "resource_exhausted", "slow down"),
        lambda h, s: reply_message(h, run_service_pb2.CreateRunResponse()),
    )
    connect().create_run(create_req())
    assert len(server.requests) == 2


def test_429_keeps_failing_until_attempts_run_out(server, connect) -> None:
    server.handler = lambda h, s: reply(h, 429, b"", "text/plain")
    with pytest.raises(errors.UnavailableError):
        connect(retry=RetryPolicy(max_attempts=3, initial_backoff=0.01)).list_runs(
            run_service_pb2.ListRunsRequest()
        )
    assert len(server.requests) == 3


def test_unavailable_in_a_200_stream_is_not_a_429(server, connect) -> None:
    """A Connect ``unavailable`` sent with a status other than 503 may have been processed: writes stop."""
    server.handler = lambda h, s: reply(
        h, 500, wire.WireError("unavailable", "x").to_bytes(), "application/json"
    )
    with pytest.raises(errors.UnavailableError):
        connect().create_run(create_req())
    assert len(server.requests) == 1


def test_backoff_is_jittered_and_bounded() -> None:
    import random

    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0)
    rng = random.Random(1)
    delays = [policy.backoff(n, rng) for n in range(10) for _ in range(20)]
    assert all(0 <= d <= 1.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100
    assert max(policy.backoff(0, rng) for _ in range(50)) <= 0.1


# -- dropped connections ----------------------------------------------------------------------------


def test_connection_refused_is_unavailable_and_retried(connect) -> None:
    from union.config import Config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    t = connect(config=Config(endpoint=f"http://127.0.0.1:{port}"))
    start = time.monotonic()
    with pytest.raises(errors.UnavailableError, match="cannot connect"):
        t.create_run(create_req(), timeout=3)  # never sent, so even a write is retried
    assert time.monotonic() - start < 3


def test_connection_refused_then_server_comes_up(server, connect) -> None:
    """A write whose connection was refused is retried, and succeeds once the server listens."""
    from union.config import Config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    t = connect(config=Config(endpoint=f"http://127.0.0.1:{port}"), retry=RetryPolicy(initial_backoff=0.2))
    refused = threading.Event()

    class OnRetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "retry" in record.getMessage():
                refused.set()

    handler = OnRetry()
    transport_log = logging.getLogger("union.transport")
    transport_log.addHandler(handler)
    previous = transport_log.level
    transport_log.setLevel(logging.INFO)
    answer = run_service_pb2.CreateRunResponse(
        run=run_definition_pb2.Run(
            action=run_definition_pb2.Action(id=identifier_pb2.ActionIdentifier(run=RUN_ID))
        )
    )
    received: list[bytes] = []

    def later() -> None:
        assert refused.wait(10), "the client never reported a refused attempt"
        sock.listen()  # only after the client was refused at least once
        conn, _ = sock.accept()
        received.append(conn.recv(65536))
        body = answer.SerializeToString()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (len(body), body)
        )
        conn.close()

    thread = threading.Thread(target=later)
    thread.start()
    try:
        assert t.create_run(create_req(), timeout=5) == answer
    finally:
        transport_log.removeHandler(handler)
        transport_log.setLevel(previous)
        thread.join()
        sock.close()
    assert refused.is_set()
    assert received and received[0].startswith(b"POST /flyteidl2.workflow.RunService/CreateRun ")


def test_dropped_mid_request_read_is_retried(server, connect) -> None:
    server.handler = sequence(lambda h, s: drop(h), ok)
    assert connect().get_run_details(get_req()).details.action.id.run.name == "r1"
    assert len(server.requests) == 2


def test_dropped_mid_request_write_is_not_repeated(server, connect) -> None:
    server.handler = sequence(
        lambda h, s: drop(h), lambda h, s: reply_message(h, run_service_pb2.CreateRunResponse())
    )
    with pytest.raises(errors.UnavailableError, match="lost the connection"):
        connect().create_run(create_req())
    assert len(server.requests) == 1


def test_dropped_mid_answer_read_is_retried(server, connect) -> None:
    def half(h: Any, seen: Any) -> None:
        body = get_details_response().SerializeToString()
        h.send_response(200)
        h.send_header("Content-Type", "application/proto")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[: len(body) // 2])
        h.wfile.flush()
        drop(h)

    server.handler = sequence(half, ok)
    assert connect().get_run_details(get_req()).details.action.id.run.name == "r1"
    assert len(server.requests) == 2


# -- deadlines ----------------------------------------------------------------------------------------


def test_slow_answer_raises_deadline_within_the_timeout(server, connect) -> None:
    release = threading.Event()
    server.handler = lambda h, s: (release.wait(5), ok(h, s))
    start = time.monotonic()
    with pytest.raises(errors.DeadlineExceededError):
        connect().get_run_details(get_req(), timeout=0.5)
    elapsed = time.monotonic() - start
    release.set()
    assert 0.45 <= elapsed < 0.5 + SLACK


def test_trickling_answer_raises_deadline_within_the_timeout(server, connect) -> None:
    def trickle(h: Any, seen: Any) -> None:
        body = get_details_response().SerializeToString()
        h.send_response(200)
        h.send_header("Content-Type", "application/proto")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for byte in body:
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(0.1)

    server.handler = trickle
    start = time.monotonic()
    with pytest.raises(errors.DeadlineExceededError):
        connect().get_run_details(get_req(), timeout=0.6)
    assert time.monotonic() - start < 0.6 + SLACK


def test_deadline_bounds_retries(server, connect) -> None:
    server.handler = lambda h, s: (time.sleep(0.2), reply_error(h, "unavailable", "busy"))
    start = time.monotonic()
    with pytest.raises((errors.UnavailableError, errors.DeadlineExceededError)):
        connect(retry=RetryPolicy(max_attempts=100, initial_backoff=0.05)).get_run_details(
            get_req(), timeout=1
        )
    assert time.monotonic() - start < 1 + SLACK


# -- authentication ----------------------------------------------------------------------------------


class TokenAuth(requests.auth.AuthBase):
    def __init__(self, token: str, fresh: str | None = "good") -> None:
        self.token = token
        self.fresh = fresh
        self.refreshes = 0

    def __call__(self, r: Any) -> Any:
        r.headers["authorization"] = f"Bearer {self.token}"
        return r

    def refresh(self) -> bool:
        self.refreshes += 1
        if self.fresh is None:
            return False
        self.token = self.fresh
        return True


def needs_good_token(h: Any, seen: Any) -> None:
    if seen.headers.get("authorization") != "Bearer good":
        reply_error(h, "unauthenticated", "token expired")
    else:
        ok(h, seen)


def test_unauthenticated_refreshes_once_and_retries(server, connect) -> None:
    server.handler = needs_good_token
    auth = TokenAuth("stale-secret-token")
    connect(authenticator=auth).get_run_details(get_req())
    assert auth.refreshes == 1
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer stale-secret-token",
        "Bearer good",
    ]


def test_unauthenticated_refresh_declined(server, connect) -> None:
    server.handler = needs_good_token
    auth = TokenAuth("stale-secret-token", fresh=None)
    with pytest.raises(errors.UnauthenticatedError, match="credential was refused") as info:
        connect(authenticator=auth).create_run(create_req())
    assert "stale-secret-token" not in str(info.value)
    assert auth.refreshes == 1 and len(server.requests) == 1


def test_unauthenticated_after_refresh_is_not_retried_again(server, connect) -> None:
    server.handler = needs_good_token
    auth = TokenAuth("stale", fresh="still-bad")
    with pytest.raises(errors.UnauthenticatedError):
        connect(authenticator=auth).get_run_details(get_req())
    assert auth.refreshes == 1 and len(server.requests) == 2


def test_no_authenticator_hint(server, connect) -> None:
    server.handler = needs_good_token
    with pytest.raises(errors.UnauthenticatedError, match="no credential is configured"):
        connect().get_run_details(get_req())


def test_auth_metadata_calls_carry_no_credentials(server, connect) -> None:
    from flyteidl2.auth import auth_service_pb2

    server.handler = lambda h, s: reply_message(h, auth_service_pb2.GetOAuth2MetadataResponse(issuer="i"))
    auth = TokenAuth("secret")
    assert (
        connect(authenticator=auth).get_oauth2_metadata(auth_service_pb2.GetOAuth2MetadataRequest()).issuer
        == "i"
    )
    assert "authorization" not in server.requests[0].headers


def test_repr_shows_the_endpoint_only(server, connect) -> None:
    t = connect(authenticator=TokenAuth("canary-token"))
    assert repr(t) == f"ConnectTransport(endpoint={server.url!r})"


# -- streams ------------------------------------------------------------------------------------------


R, S, F = phase_pb2.ACTION_PHASE_RUNNING, phase_pb2.ACTION_PHASE_SUCCEEDED, phase_pb2.ACTION_PHASE_FAILED


def stream_of(*phases: int, error: wire.WireError | None = None, json_format: bool = False) -> Any:
    def handler(h: Any, seen: Any) -> None:
        start_stream(h, json_format=json_format)
        send_messages(h, [watch(p) for p in phases], json_format=json_format)
        finish_stream(h, error)

    return handler


def phases_of(iterator: Any) -> list[int]:
    return [m.details.action.status.phase for m in iterator]


@pytest.mark.parametrize("json_format", [False, True])
def test_stream_messages_then_end(server, connect, json_format) -> None:
    server.handler = stream_of(R, S, json_format=json_format)
    t = connect(codec="json" if json_format else "proto")
    assert phases_of(t.watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID))) == [R, S]
    seen = server.requests[0]
    assert seen.headers["content-type"] == (
        "application/connect+json" if json_format else "application/connect+proto"
    )
    assert "connect-timeout-ms" not in seen.headers  # no timeout given: the stream may last
    assert seen.message(run_service_pb2.WatchRunDetailsRequest, json_format=json_format).run_id == RUN_ID


def test_stream_error_in_end_frame(server, connect) -> None:
    server.handler = stream_of(error=wire.WireError("not_found", "no run r1"))
    with pytest.raises(errors.NotFoundError, match="no run r1"):
        list(connect().watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID)))


def test_stream_compressed_frames(server, connect) -> None:
    def handler(h: Any, seen: Any) -> None:
        assert seen.headers["connect-accept-encoding"] == "gzip"
        start_stream(h, headers={"Connect-Content-Encoding": "gzip"})
        payload = gzip.compress(watch(S).SerializeToString())
        chunk(h, wire.envelope(payload, flags=wire.FLAG_COMPRESSED))
        finish_stream(h)

    server.handler = handler
    assert phases_of(connect().watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID))) == [
        S
    ]


def test_dropped_watch_reconnects_and_sees_the_terminal_phase(server, connect) -> None:
    def cut(h: Any, seen: Any) -> None:
        start_stream(h)
        send_messages(h, [watch(R)])
        chunk(h, wire.envelope(watch(R).SerializeToString())[:4])  # half a header
        drop(h)

    server.handler = sequence(cut, stream_of(R, S))
    phases = phases_of(connect().watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID)))
    assert phases[-1] == S and phases.count(S) == 1
    assert len(server.requests) == 2


def test_watch_without_end_frame_reconnects(server, connect) -> None:
    def clean_close(h: Any, seen: Any) -> None:
        start_stream(h)
        send_messages(h, [watch(R)])
        end_chunks(h)

    server.handler = sequence(clean_close, clean_close, stream_of(F))
    assert phases_of(connect().watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID))) == [
        R,
        R,
        F,
    ]


def test_watch_unavailable_end_frame_reconnects(server, connect) -> None:
    server.handler = sequence(stream_of(R, error=wire.WireError("unavailable", "restarting")), stream_of(S))
    assert phases_of(connect().watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID))) == [
        R,
        S,
    ]


def test_watch_open_refused_then_retried(server, connect) -> None:
    server.handler = sequence(lambda h, s: reply(h, 503, b"", "text/plain"), stream_of(S))
    it = connect().watch_action_details(run_service_pb2.WatchActionDetailsRequest())
    assert len(list(it)) == 1


def test_stream_timeout_bounds_the_whole_stream(server, connect) -> None:
    def slow(h: Any, seen: Any) -> None:
        start_stream(h)
        for _ in range(30):
            send_messages(h, [watch(R)])
            time.sleep(0.1)
        finish_stream(h)

    server.handler = slow
    start = time.monotonic()
    got = []
    with pytest.raises(errors.DeadlineExceededError):
        for m in connect().watch_run_details(
            run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID), timeout=0.7
        ):
            got.append(m)
    assert time.monotonic() - start < 0.7 + SLACK
    assert got
    assert 0 < int(server.requests[0].headers["connect-timeout-ms"]) <= 700


def test_silent_stream_times_out(server, connect) -> None:
    release = threading.Event()

    def silent(h: Any, seen: Any) -> None:
        start_stream(h)
        release.wait(5)

    server.handler = silent
    start = time.monotonic()
    it = connect().watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID), timeout=0.5)
    with pytest.raises(errors.DeadlineExceededError):
        next(it)
    release.set()
    assert time.monotonic() - start < 0.5 + SLACK


def test_closing_a_stream_early_releases_it(server, connect) -> None:
    server.handler = stream_of(R, R, R, S)
    it = connect().watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID))
    next(it)
    it.close()
    with pytest.raises(StopIteration):
        next(it)


def log_lines(*texts: str) -> run_logs_service_pb2.TailLogsResponse:
    from flyteidl2.logs.dataplane import payload_pb2

    response = run_logs_service_pb2.TailLogsResponse()
    batch = response.logs.add()
    batch.lines.extend(payload_pb2.LogLine(message=t) for t in texts)
    return response


def test_dropped_tail_logs_resumes_without_duplicates(server, connect) -> None:
    def first(h: Any, seen: Any) -> None:
        start_stream(h)
        send_messages(h, [log_lines("1", "2"), log_lines("3")])
        drop(h)

    def second(h: Any, seen: Any) -> None:  # the server replays the attempt's log from its start
        start_stream(h)
        send_messages(h, [log_lines("1"), log_lines("2", "3", "4"), log_lines("5")])
        finish_stream(h)

    server.handler = sequence(first, second)
    got = [
        line.message
        for m in connect().tail_logs(run_logs_service_pb2.TailLogsRequest())
        for batch in m.logs
        for line in batch.lines
    ]
    assert got == ["1", "2", "3", "4", "5"]


def test_a_stream_that_keeps_dropping_gives_up(server, connect) -> None:
    server.handler = lambda h, s: drop(h)
    with pytest.raises(errors.UnavailableError):
        list(
            connect(
                retry=RetryPolicy(max_attempts=2, initial_backoff=0.01, max_stream_reconnects=2)
            ).watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID))
        )


def test_gzipped_error_body(server, connect) -> None:
    body = gzip.compress(wire.WireError("failed_precondition", "task is archived").to_bytes())
    server.handler = lambda h, s: reply(h, 400, body, "application/json", {"Content-Encoding": "gzip"})
    with pytest.raises(errors.InvalidArgumentError, match="task is archived") as info:
        connect().get_run_details(get_req())
    assert info.value.code == "failed_precondition"


def test_connection_closed_while_the_request_body_is_sent(connect) -> None:
    """The server hangs up after a few bytes of a large body: a read is sent again on a new connection."""
    import base64
    import os

    from union.config import Config

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    answered = []

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(1000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()  # RST while the client is still writing
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as reader:
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
            body = get_details_response().SerializeToString()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s" % (len(body), body)
            )
            answered.append(length)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    request = get_req()
    request.run_id.name = base64.b64encode(os.urandom(3_000_000)).decode()
    try:
        t = connect(config=Config(endpoint=f"http://127.0.0.1:{port}"))
        assert t.get_run_details(request, timeout=8).details.action.id.run.name == "r1"
    finally:
        thread.join(5)
        listener.close()
    assert answered and answered[0] > 1_000_000


def test_a_canary_token_never_reaches_logs_or_errors(server, connect, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    canary = "canary-7f3a9c"
    server.handler = sequence(
        lambda h, s: reply_error(h, "unavailable", "busy"),
        lambda h, s: drop(h),
        lambda h, s: reply_error(h, "unauthenticated", "expired"),
        lambda h, s: reply_error(h, "permission_denied", "no"),
    )
    auth = TokenAuth(canary, fresh=canary + "-2")
    with pytest.raises(errors.PermissionDeniedError) as info:
        connect(authenticator=auth).get_run_details(get_req())
    assert len(server.requests) == 4 and auth.refreshes == 1
    assert canary not in caplog.text and canary not in str(info.value) and canary not in repr(info.value)
    assert "retry" in caplog.text  # the retries were logged, without the token


def test_redirects_are_not_followed_and_say_where(server, connect) -> None:
    server.handler = lambda h, s: reply(
        h, 301, b"", "text/html", {"Location": "https://union.example.com/x?sig=s3cr3t"}
    )
    with pytest.raises(errors.TransportError, match="redirected .* https://union.example.com/x") as info:
        connect().create_run(create_req())
    assert "s3cr3t" not in str(info.value)
    assert len(server.requests) == 1


def test_unresolvable_host_says_so(connect) -> None:
    from union.config import Config

    t = connect(config=Config(endpoint="http://no-such-host.invalid:1"), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(errors.UnavailableError, match="cannot resolve"):
        t.get_run_details(get_req(), timeout=5)


def test_connections_are_reused_across_unary_calls_and_streams(server, connect) -> None:
    def handler(h: Any, seen: Any) -> None:
        if "Watch" in seen.path:
            stream_of(S)(h, seen)
        else:
            ok(h, seen)

    server.handler = handler
    t = connect()
    for _ in range(3):
        t.get_run_details(get_req())
        assert phases_of(t.watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID))) == [S]
    assert len(server.requests) == 6
    assert len({r.client_port for r in server.requests}) == 1


def test_oversized_answer_is_refused(server, connect) -> None:
    big = run_service_pb2.GetRunDetailsResponse()
    big.details.action.id.run.name = "x" * 5000
    server.handler = lambda h, s: reply_message(h, big)
    with pytest.raises(errors.TransportError, match="exceeds 1000 bytes") as info:
        connect(max_message_bytes=1000).get_run_details(get_req())
    assert info.value.code == "resource_exhausted"


def test_compression_can_be_turned_off(server, connect) -> None:
    server.handler = lambda h, s: reply_message(h, tasks.DeployTaskResponse())
    request = tasks.DeployTaskRequest()
    request.task_id.name = "x" * 5000
    connect(compress_min_bytes=None).deploy_task(request)
    assert "content-encoding" not in server.requests[0].headers


def test_a_watch_that_outlives_its_token_refreshes_and_reopens(server, connect) -> None:
    def first(h: Any, seen: Any) -> None:
        assert seen.headers["authorization"] == "Bearer stale"
        stream_of(R, error=wire.WireError("unauthenticated", "token expired"))(h, seen)

    def second(h: Any, seen: Any) -> None:
        assert seen.headers["authorization"] == "Bearer good"
        stream_of(R, S)(h, seen)

    server.handler = sequence(first, second)
    auth = TokenAuth("stale")
    it = connect(authenticator=auth).watch_run_details(run_service_pb2.WatchRunDetailsRequest(run_id=RUN_ID))
    assert phases_of(it) == [R, R, S]
    assert auth.refreshes == 1


def test_cookies_a_server_sets_are_sent_back_and_session_hooks_run(server, connect) -> None:
    # A load balancer's affinity cookie must come back on later calls, as requests' session.post sends it.
    def first(h: Any, seen: Any) -> None:
        body = wire.encode_message(get_details_response(), json_format=False)
        reply(h, 200, body, wire.UNARY_PROTO, {"Set-Cookie": "affinity=b1; Path=/"})

    server.handler = sequence(first, ok)
    t = connect()
    answered: list[int] = []
    t._session.hooks["response"].append(lambda r, *a, **k: answered.append(r.status_code))
    t.get_run_details(get_req(), timeout=5)
    t.get_run_details(get_req(), timeout=5)
    assert "cookie" not in server.requests[0].headers
    assert server.requests[1].headers["cookie"] == "affinity=b1"
    assert answered == [200, 200]
    assert server.requests[0].headers["user-agent"].startswith("union/")
    assert server.requests[0].headers["connect-protocol-version"] == "1"


def test_url_minting_asks_for_uncompressed_answers(server, connect) -> None:
    from flyteidl2.dataproxy import dataproxy_service_pb2 as dp

    server.handler = lambda h, seen: reply_message(
        h, dp.CreateUploadLocationResponse(signed_url="http://s/x")
    )
    answer = connect().create_upload_location(dp.CreateUploadLocationRequest(filename="f"), timeout=5)
    assert answer.signed_url == "http://s/x"
    assert server.requests[0].headers["accept-encoding"] == "identity"
