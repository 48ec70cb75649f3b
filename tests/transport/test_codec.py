"""Unit tests without sockets: the wire format, endpoint forms, retry pacing and the method table."""

from __future__ import annotations

import email.utils
import gzip
import json
import time

import pytest
from flyteidl2.common import identifier_pb2
from flyteidl2.workflow import run_service_pb2

from union import errors
from union.config import Config
from union.transport import wire
from union.transport.endpoint import base_url
from union.transport.retry import Deadline, RetryPolicy, parse_retry_after
from union.transport.services import BY_PATH, METHODS

RUN_ID = identifier_pb2.RunIdentifier(org="o", project="p", domain="d", name="r")

# -- messages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("json_format", [False, True])
def test_message_round_trip(json_format: bool) -> None:
    request = run_service_pb2.GetRunDetailsRequest(run_id=RUN_ID)
    data = wire.encode_message(request, json_format=json_format)
    if json_format:
        assert json.loads(data) == {"runId": {"org": "o", "project": "p", "domain": "d", "name": "r"}}
    assert wire.decode_message(data, run_service_pb2.GetRunDetailsRequest, json_format=json_format) == request


def test_json_decode_ignores_unknown_fields_and_empty_body() -> None:
    cls = run_service_pb2.GetRunDetailsRequest
    assert (
        wire.decode_message(b'{"runId": {"name": "r"}, "newField": 1}', cls, json_format=True).run_id.name
        == "r"
    )
    assert wire.decode_message(b"", cls, json_format=True) == cls()


def test_garbage_is_a_typed_error() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="GetRunDetailsRequest"):
        wire.decode_message(b"\xff\xff\xff", run_service_pb2.GetRunDetailsRequest, json_format=False)
    with pytest.raises(errors.InvalidArgumentError):
        wire.decode_message(b"{not json", run_service_pb2.GetRunDetailsRequest, json_format=True)


# -- envelopes --------------------------------------------------------------------------------------


def test_envelope_layout() -> None:
    assert wire.envelope(b"abc") == b"\x00\x00\x00\x00\x03abc"
    assert wire.envelope(b"", flags=wire.FLAG_END_STREAM) == b"\x02\x00\x00\x00\x00"


def test_frames_split_across_any_chunking() -> None:
    stream = wire.envelope(b"one") + wire.envelope(b"") + wire.envelope(b"three" * 100) + wire.end_stream()
    for size in (1, 2, 5, 7, 64, len(stream)):
        chunks = iter([stream[i : i + size] for i in range(0, len(stream), size)])
        frames = list(wire.read_frames(chunks))
        assert [f.payload for f in frames[:3]] == [b"one", b"", b"three" * 100]
        assert frames[-1].end and not frames[0].end


def test_stream_cut_mid_frame_is_unavailable() -> None:
    data = wire.envelope(b"hello")[:-2]
    with pytest.raises(errors.UnavailableError, match="cut off"):
        list(wire.read_frames(iter([data])))


def test_oversized_frame_is_refused_before_buffering() -> None:
    header = wire.ENVELOPE_HEADER.pack(0, 10**9)
    with pytest.raises(errors.TransportError, match="exceeds") as info:
        list(wire.read_frames(iter([header]), max_bytes=1024))
    assert info.value.code == "resource_exhausted"


def test_end_stream_round_trip_with_error_and_trailers() -> None:
    frame = wire.end_stream(wire.WireError("not_found", "gone", [("t", b"\x01\x02")]), {"x-a": ["1", "2"]})
    [parsed] = list(wire.read_frames(iter([frame])))
    error, trailers = wire.parse_end_stream(parsed.payload)
    assert error == wire.WireError("not_found", "gone", [("t", b"\x01\x02")])
    assert trailers == {"x-a": ["1", "2"]}
    assert wire.parse_end_stream(b"{}") == (None, {})


@pytest.mark.parametrize("payload", [b"not json", b"[1]", b'"x"'])
def test_malformed_end_stream(payload: bytes) -> None:
    error, _ = wire.parse_end_stream(payload)
    assert error is not None and error.code == "internal"


# -- errors ---------------------------------------------------------------------------------------------


def test_every_code_maps_to_a_status_and_an_exception() -> None:
    for code in wire.CODES:
        error = wire.WireError(code, "m")
        exc = error.exception()
        assert isinstance(exc, errors.TransportError) and exc.code == code and str(exc) == "m"
        assert 400 <= error.http_status < 600
    assert isinstance(wire.WireError("not_found").exception(), LookupError)
    assert isinstance(wire.WireError("deadline_exceeded").exception(), TimeoutError)
    assert isinstance(wire.WireError("resource_exhausted").exception(), errors.UnavailableError)


def test_details_base64_without_padding() -> None:
    body = wire.WireError("internal", "x", [("type.googleapis.com/a", b"\x00")]).to_json()
    assert body["details"][0]["value"] == "AA"
    assert wire.WireError.from_json(body).details == [("type.googleapis.com/a", b"\x00")]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "internal"),
        (401, "unauthenticated"),
        (403, "permission_denied"),
        (404, "unimplemented"),
        (429, "unavailable"),
        (502, "unavailable"),
        (503, "unavailable"),
        (504, "unavailable"),
        (500, "unknown"),
    ],
)
def test_non_connect_bodies_use_the_http_status(status: int, code: str) -> None:
    assert wire.WireError.from_json("<html>", http_status=status).code == code
    assert wire.WireError.from_json({"code": "bogus"}, http_status=status).code == code


def test_server_side_mapping_of_exceptions() -> None:
    assert wire.WireError.from_exception(errors.NotFoundError("x")).code == "not_found"
    assert wire.WireError.from_exception(TimeoutError()).code == "deadline_exceeded"
    internal = wire.WireError.from_exception(RuntimeError("secret detail"))
    assert internal.code == "internal" and "secret" not in internal.message


# -- compression and timeouts -------------------------------------------------------------------------


def test_gzip_round_trip_and_bomb_limit() -> None:
    data = b"a" * 100_000
    packed = wire.compress(data, "gzip")
    assert len(packed) < 1000 and gzip.decompress(packed) == data
    assert wire.decompress(packed, "gzip") == data
    assert wire.decompress(data, "identity") == data and wire.decompress(data, None) == data
    with pytest.raises(errors.TransportError, match="inflates beyond") as info:
        wire.decompress(packed, "gzip", limit=1000)
    assert info.value.code == "resource_exhausted"
    with pytest.raises(errors.UnimplementedError):
        wire.decompress(packed, "br")
    with pytest.raises(errors.InvalidArgumentError):
        wire.decompress(b"not gzip", "gzip")


def test_timeout_header() -> None:
    assert wire.timeout_header(30) == "30000"
    assert wire.timeout_header(0.0001) == "1"
    assert wire.timeout_header(1e12) == "9999999999"
    assert wire.parse_timeout("1500") == 1.5
    assert wire.parse_timeout(None) is None
    for bad in ("-1", "1.5", "12345678901", "abc"):
        with pytest.raises(errors.InvalidArgumentError):
            wire.parse_timeout(bad)


# -- endpoints --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "insecure", "url"),
    [
        ("dns:///union.example.com", False, "https://union.example.com"),
        ("dns:///union.example.com:8443", False, "https://union.example.com:8443"),
        ("dns://8.8.8.8/union.example.com", False, "https://union.example.com"),
        ("dns:///localhost:8080", True, "http://localhost:8080"),
        ("https://union.example.com", False, "https://union.example.com"),
        ("https://union.example.com/", False, "https://union.example.com"),
        ("https://union.example.com/api/", True, "https://union.example.com/api"),
        ("http://127.0.0.1:8080", False, "http://127.0.0.1:8080"),
        ("HTTP://Host:1", False, "http://Host:1"),
        ("union.example.com:443", False, "https://union.example.com:443"),
        ("union.example.com", False, "https://union.example.com"),
        ("localhost:8080", True, "http://localhost:8080"),
        ("127.0.0.1:30080", True, "http://127.0.0.1:30080"),
        ("[::1]:8080", True, "http://[::1]:8080"),
        ("grpcs://union.example.com", False, "https://union.example.com"),
        (" union.example.com ", False, "https://union.example.com"),
    ],
)
def test_endpoint_forms(endpoint: str, insecure: bool, url: str) -> None:
    assert base_url(Config(endpoint=endpoint, insecure=insecure)) == url
    assert base_url(endpoint, insecure=insecure) == url


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "ftp://host",
        "https://user:pw@host",
        "https://host?token=x1",
        "host:99999",
        "ho st",
        "dns:///",
        "https://",
    ],
)
def test_bad_endpoints_name_the_forms(endpoint: str) -> None:
    with pytest.raises(errors.ConfigError, match="dns:///host") as info:
        base_url(endpoint)
    assert ":pw@" not in str(info.value) and "token=x1" not in str(info.value)


def test_no_endpoint() -> None:
    with pytest.raises(errors.ConfigError, match="no endpoint"):
        base_url(Config())


# -- retry pacing -----------------------------------------------------------------------------------


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0 and parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-1") is None
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 10, usegmt=True)
    assert 8 <= (parse_retry_after(date, now=now) or 0) <= 10
    assert parse_retry_after(email.utils.formatdate(now - 100, usegmt=True), now=now) == 0.0


def test_backoff_grows_to_its_cap() -> None:
    class Top:
        @staticmethod
        def uniform(a: float, b: float) -> float:
            return b

    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)
    assert [policy.backoff(n, Top()) for n in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])  # type: ignore[arg-type]


def test_deadline() -> None:
    unbounded = Deadline(None)
    assert unbounded.remaining() is None and not unbounded.expired() and unbounded.allows(1e9)
    assert unbounded.bound(10.0) == 10.0
    d = Deadline(0.5)
    assert 0.4 < (d.remaining() or 0) <= 0.5
    assert d.allows(0.1) and not d.allows(1.0)
    assert d.bound(10.0) == pytest.approx(d.remaining(), abs=0.01)
    assert Deadline(0).expired()


# -- the method table ---------------------------------------------------------------------------------


def test_method_table_matches_the_protos() -> None:
    """Every entry names a real service method with the right message classes and streaming flag."""
    import importlib

    for name, method in METHODS.items():
        module = importlib.import_module(method.module)
        service = module.DESCRIPTOR.services_by_name[method.service.rsplit(".", 1)[1]]
        proto = service.methods_by_name[method.name]
        assert proto.full_name == f"{method.service}.{method.name}"
        assert proto.input_type is method.request_class().DESCRIPTOR
        assert proto.output_type is method.response_class().DESCRIPTOR
        assert proto.server_streaming == method.streaming, name
        assert not proto.client_streaming
        snake = "".join("_" + c.lower() if c.isupper() else c for c in method.name).lstrip("_")
        assert snake.replace("o_auth2", "oauth2") == name
    assert BY_PATH["/flyteidl2.workflow.RunService/CreateRun"] is METHODS["create_run"]


def test_writes_are_not_idempotent() -> None:
    for name in ("create_run", "deploy_task", "abort_run", "upload_inputs"):
        assert not METHODS[name].idempotent
    assert not METHODS["get_oauth2_metadata"].authenticated


def test_transport_protocol_lists_every_method() -> None:
    from union.transport.base import Transport
    from union.transport.connect import ConnectTransport

    for name in METHODS:
        assert hasattr(Transport, name) and hasattr(ConnectTransport, name), name


def test_builtin_hook_returns_the_connect_client() -> None:
    from union.transport import transport_for
    from union.transport.connect import ConnectTransport

    t = transport_for(Config(endpoint="dns:///union.example.com"))
    try:
        assert isinstance(t, ConnectTransport)
        assert t.url == "https://union.example.com"
    finally:
        t.close()


def test_constructor_checks() -> None:
    from union.transport.connect import ConnectTransport

    with pytest.raises(errors.ConfigError, match="codec"):
        ConnectTransport(Config(endpoint="h:1"), codec="xml")
    with pytest.raises(errors.ConfigError, match="timeout"):
        ConnectTransport(Config(endpoint="h:1"), timeout=0)
    with pytest.raises(errors.ConfigError, match="ca_cert_path"):
        ConnectTransport(Config(endpoint="h:1", ca_cert_path="/nonexistent/ca.pem"))
    with pytest.warns(UserWarning, match="not verified"):
        ConnectTransport(Config(endpoint="h:1", insecure_skip_verify=True)).close()


def test_truncated_gzip_is_refused() -> None:
    packed = wire.compress(b"x" * 10_000, "gzip")
    with pytest.raises(errors.InvalidArgumentError, match="truncated"):
        wire.decompress(packed[:-10], "gzip")


def test_bad_error_details_are_dropped_not_fatal() -> None:
    details = [{"type": "a", "value": "!!!"}, {"type": "b", "value": "-_8"}, {"type": "c", "value": "A"}]
    error = wire.WireError.from_json({"code": "internal", "message": "m", "details": details})
    assert error == wire.WireError("internal", "m", [("b", b"\xfb\xff")])
