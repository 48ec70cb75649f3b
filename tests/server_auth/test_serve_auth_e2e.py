"""Our client (UNION_API_KEY -> client credentials, the device flow) against ``union serve`` with auth on."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from auth_helpers import Clock, Served, key_parts

from union import errors


def _config(**settings: Any) -> Any:
    from union.config import Config

    return Config(insecure=True, **settings)


def test_api_key_end_to_end(served: Served) -> None:
    from flyteidl2.auth import identity_pb2
    from flyteidl2.workflow import run_service_pb2

    from union.transport.connect import ConnectTransport

    key = served.auth.create_api_key("e2e", endpoint=served.url)
    with ConnectTransport(_config(endpoint=served.url, api_key=key)) as transport:
        assert transport.user_info(identity_pb2.UserInfoRequest()).subject == key_parts(key)[1]
        transport.list_runs(run_service_pb2.ListRunsRequest())
    # Without a key the same call is refused with a typed error that says what to do.
    with (
        ConnectTransport(_config(endpoint=served.url)) as anonymous,
        pytest.raises(errors.UnauthenticatedError) as info,
    ):
        anonymous.list_runs(run_service_pb2.ListRunsRequest())
    assert "union create api-key" in str(info.value)
    # A revoked key: the cached token is refused, refreshing is refused too, and nothing secret leaks.
    served.auth.revoke_api_key("e2e")
    with (
        ConnectTransport(_config(endpoint=served.url, api_key=key)) as transport,
        pytest.raises(errors.UnauthenticatedError) as info,
    ):
        transport.list_runs(run_service_pb2.ListRunsRequest())
    _, _, secret, _ = key_parts(key)
    assert secret not in str(info.value) and key not in str(info.value)
    assert secret not in served.log.getvalue()


def test_expired_token_is_replaced_once(served: Served) -> None:
    """The server says the token expired (the client still thinks it fresh): one new token, one retry."""
    from flyteidl2.workflow import run_service_pb2

    from union.transport.connect import ConnectTransport

    key = served.auth.create_api_key("e2e", endpoint=served.url)
    with ConnectTransport(_config(endpoint=served.url, api_key=key)) as transport:
        transport.list_runs(run_service_pb2.ListRunsRequest())
        clock = Clock(time.time())
        served.auth.clock = clock
        clock.advance(served.auth.token_ttl + 1)
        transport.list_runs(run_service_pb2.ListRunsRequest())
    # The server writes a request's log line after its answer: wait (bounded) for the third ListRuns line.
    deadline = time.monotonic() + 5
    while served.log.getvalue().count("RunService/ListRuns") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    log = served.log.getvalue()
    assert log.count("RunService/ListRuns") == 3
    assert log.count('"status":401') == 1
    assert log.count('"path":"/oauth2/token"') == 2


def test_device_flow_end_to_end(served: Served) -> None:
    from flyteidl2.auth import auth_service_pb2, identity_pb2

    from union.auth.cache import MemoryTokenCache
    from union.auth.oauth import DeviceFlowAuthenticator
    from union.transport.connect import ConnectTransport

    public = ConnectTransport(_config(endpoint=served.url))

    def metadata() -> tuple[Any, Any]:
        return (
            public.get_oauth2_metadata(auth_service_pb2.GetOAuth2MetadataRequest()),
            public.get_public_client_config(auth_service_pb2.GetPublicClientConfigRequest()),
        )

    out = io.StringIO()
    approved: list[str] = []

    def approve_then_poll(_seconds: float) -> None:
        """Instead of waiting: the operator approves the code the CLI printed."""
        if not approved:
            code = out.getvalue().split("enter the code ")[1].split()[0]
            served.auth.approve(code)
            approved.append(code)

    config = _config(endpoint=served.url, auth_type="DeviceFlow")
    authenticator = DeviceFlowAuthenticator(
        config, metadata=metadata, out=out, sleep=approve_then_poll, cache=MemoryTokenCache()
    )
    with ConnectTransport(config, authenticator=authenticator) as transport:
        info = transport.user_info(identity_pb2.UserInfoRequest())
        assert approved and info.subject == f"device:{approved[0]}"
        # The server's clock passes the token's life: the client's one retry uses the refresh token,
        # with no second approval (a second one would need a new code, which the test would not find).
        clock = Clock(time.time())
        served.auth.clock = clock
        clock.advance(served.auth.token_ttl + 1)
        out.truncate(0)
        out.seek(0)
        again = transport.user_info(identity_pb2.UserInfoRequest())
    assert again.subject == info.subject and out.getvalue() == ""
    public.close()


def test_union_api_key_in_the_environment(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The user story: the operator creates a key, the user exports it, `union get runs` works."""
    import json

    import union.config
    from union.cli.main import main

    monkeypatch.setenv("UNION_ENDPOINT", served.url)
    monkeypatch.setenv("UNION_INSECURE", "true")
    union.config.reset()
    assert main(["get", "runs", "--json"]) == 1
    assert "union create api-key" in capsys.readouterr().err
    monkeypatch.setenv("UNION_API_KEY", served.auth.create_api_key("user", endpoint=served.url))
    union.config.reset()
    assert main(["get", "runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
