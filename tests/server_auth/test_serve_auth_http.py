"""``union serve`` with auth on, over real HTTP: refusals on a Connect route, the auth endpoints, the CLI.

A canary client secret and canary tokens are pushed through every refusal; none may appear in the server's
log lines or in any error text a client sees.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from auth_helpers import Clock, Served, key_parts

from union.server.app import ServeConfig, Server

LIST_RUNS = "/flyteidl2.workflow.RunService/ListRuns"
USER_INFO = "/flyteidl2.auth.IdentityService/UserInfo"
METADATA = "/flyteidl2.auth.AuthMetadataService/GetOAuth2Metadata"


def refused(response: requests.Response, message: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == "unauthenticated"
    assert message in body["message"]


def test_refusals_on_a_connect_route(served: Served) -> None:
    canary_key = served.auth.create_api_key("canary")
    _, client_id, canary_secret, _ = key_parts(canary_key)
    token = served.token(canary_key)
    assert served.call(LIST_RUNS, token).status_code == 200

    refused(served.call(LIST_RUNS), "no 'authorization: Bearer <token>' header")
    refused(served.call(LIST_RUNS, "CANARY-wrong-token-0123456789"), "not one this server issued")
    refused(served.call(LIST_RUNS, authorization=f"Basic {canary_secret}"), "not a bearer token")
    # A wrong secret at the token endpoint.
    wrong = requests.post(
        served.url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, canary_secret + "x"),
        timeout=10,
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    served.seen.append(wrong.text)
    # Expired: move the server's clock past the token's lifetime.
    clock = Clock(time.time())
    served.auth.clock = clock
    short = served.token(canary_key)
    clock.advance(served.auth.token_ttl + 1)
    refused(served.call(LIST_RUNS, short), "expired at")
    clock.advance(-(served.auth.token_ttl + 1))
    # Revoked: deleting the key refuses its tokens and its secret at once.
    served.auth.revoke_api_key("canary")
    refused(served.call(LIST_RUNS, token), "revoked")
    gone = requests.post(
        served.url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, canary_secret),
        timeout=10,
    )
    assert gone.status_code == 401 and "was deleted" in gone.json()["error_description"]
    served.seen.append(gone.text)
    # The metadata stays public: clients need it to learn how to authenticate.
    assert served.call(METADATA).status_code == 200

    served.server.stop()
    text = served.log.getvalue() + "\n".join(served.seen)
    assert '"status":401' in text.replace(" ", "")
    for canary in (canary_key, canary_secret, token, short, "CANARY-wrong-token"):
        assert canary not in text


def test_user_info_names_the_key(served: Served) -> None:
    key = served.auth.create_api_key("alice")
    response = served.call(USER_INFO, served.token(key))
    assert response.status_code == 200
    assert response.json() == {"subject": key_parts(key)[1], "name": "alice", "preferredUsername": "alice"}


def test_well_known_and_device_page_over_http(served: Served) -> None:
    meta = requests.get(served.url + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["issuer"] == served.url and meta["token_endpoint"] == served.url + "/oauth2/token"
    started = requests.post(
        served.url + "/oauth2/device/authorize", data={"client_id": "union-cli"}, timeout=10
    )
    code = started.json()["user_code"]
    page = requests.get(started.json()["verification_uri_complete"], timeout=10)
    assert page.status_code == 200 and code in page.text and "pending" in page.text
    admin = served.auth.create_api_key("admin")
    approved = requests.post(
        served.url + "/device",
        data={"user_code": code},
        headers={"authorization": f"Bearer {served.token(admin)}", "accept": "application/json"},
        timeout=10,
    )
    assert approved.json() == {"user_code": code, "status": "approved"}


def test_cli_key_works_against_a_running_server(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`union create api-key` on the data dir of a running server: the server accepts it at once."""
    from union.cli.main import main

    assert (
        main(
            [
                "create",
                "api-key",
                "--name",
                "late",
                "--data-dir",
                str(tmp_path / "server"),
                "--endpoint",
                served.url,
            ]
        )
        == 0
    )
    key = capsys.readouterr().out.strip()
    token = served.token(key)
    assert served.call(LIST_RUNS, token).status_code == 200
    assert main(["delete", "api-key", "late", "--data-dir", str(tmp_path / "server")]) == 0
    refused(served.call(LIST_RUNS, token), "revoked")


def test_no_auth_server_lets_anonymous_in(tmp_path: Path) -> None:
    with Server(ServeConfig(port=0, data_dir=tmp_path, auth=False, log=False)) as server:
        response = requests.post(
            server.url + USER_INFO, data=b"{}", headers={"content-type": "application/json"}, timeout=10
        )
        assert response.status_code == 200 and json.loads(response.text)["subject"] == "anonymous"
