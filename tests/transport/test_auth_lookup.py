"""The transport finds its credential through union.auth on first use, fetching metadata without one."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flyteidl2.auth import auth_service_pb2
from flyteidl2.workflow import run_service_pb2
from scripted import reply, reply_error, reply_message

from union import errors
from union.config import Config
from union.transport.connect import ConnectTransport

pytest.importorskip("union.auth", reason="client auth (union.auth) is not in this tree")


def test_static_token_from_config(server) -> None:
    server.handler = lambda h, s: reply_message(h, run_service_pb2.GetRunDetailsResponse())
    with ConnectTransport(Config(endpoint=server.url, token="tok-canary")) as t:
        t.get_run_details(run_service_pb2.GetRunDetailsRequest())
        t.get_run_details(run_service_pb2.GetRunDetailsRequest())
        assert "tok-canary" not in repr(t)
    rpc = [r for r in server.requests if r.path.endswith("/GetRunDetails")]
    assert [r.headers.get("authorization") for r in rpc] == ["Bearer tok-canary"] * 2
    assert all("authorization" not in r.headers for r in server.requests if "AuthMetadata" in r.path)


def test_no_auth_settings_send_no_credentials(server) -> None:
    server.handler = lambda h, s: reply_message(h, run_service_pb2.GetRunDetailsResponse())
    with ConnectTransport(Config(endpoint=server.url)) as t:
        t.get_run_details(run_service_pb2.GetRunDetailsRequest())
    assert [r.path for r in server.requests] == ["/flyteidl2.workflow.RunService/GetRunDetails"]
    assert "authorization" not in server.requests[0].headers


def test_api_key_uses_metadata_fetched_without_credentials(server) -> None:
    issued: list[str] = []

    def handler(h: Any, seen: Any) -> None:
        if seen.path.endswith("/GetOAuth2Metadata"):
            assert "authorization" not in seen.headers
            reply_message(
                h,
                auth_service_pb2.GetOAuth2MetadataResponse(
                    issuer=server.url,
                    token_endpoint=f"{server.url}/oauth2/token",
                    grant_types_supported=["client_credentials"],
                ),
            )
        elif seen.path.endswith("/GetPublicClientConfig"):
            assert "authorization" not in seen.headers
            reply_message(
                h,
                auth_service_pb2.GetPublicClientConfigResponse(
                    client_id="union-cli", authorization_metadata_key="x-union-auth"
                ),
            )
        elif seen.path == "/oauth2/token":
            assert b"grant_type=client_credentials" in seen.body
            issued.append(f"at-{len(issued) + 1}")
            body = {"access_token": issued[-1], "token_type": "bearer", "expires_in": 3600}
            reply(h, 200, json.dumps(body).encode(), "application/json")
        elif seen.headers.get("x-union-auth") == f"Bearer {issued[-1] if issued else ''}":
            reply_message(h, run_service_pb2.GetRunDetailsResponse())
        else:
            reply_error(h, "unauthenticated", "bad token")

    server.handler = handler
    key = base64.b64encode(f"{server.url}:cid:csecret-canary:org".encode()).decode()
    with ConnectTransport(Config(endpoint=server.url, insecure=True, api_key=key)) as t:
        t.get_run_details(run_service_pb2.GetRunDetailsRequest())
    rpc = [r for r in server.requests if r.path.endswith("/GetRunDetails")]
    assert rpc[-1].headers["x-union-auth"] == f"Bearer {issued[-1]}"


def test_unauthenticated_without_credentials_says_what_to_set(server) -> None:
    server.handler = lambda h, s: reply_error(h, "unauthenticated", "who are you")
    with (
        ConnectTransport(Config(endpoint=server.url)) as t,
        pytest.raises(errors.UnauthenticatedError, match="UNION_API_KEY"),
    ):
        t.get_run_details(run_service_pb2.GetRunDetailsRequest())
