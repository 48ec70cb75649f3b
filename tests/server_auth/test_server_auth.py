"""ServerAuth through exchange.Request: every grant, every error answer, token checks and device approval."""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path

import pytest
from auth_helpers import BASE, Clock, basic, bearer, body, client_token, key_parts, request, token_response

from union import errors
from union.auth.apikey import ApiKey, decode_api_key
from union.server import auth as auth_mod
from union.server.auth import DEVICE_CODE_GRANT, ServerAuth

# -- API keys ----------------------------------------------------------------------------------------


def test_api_key_format_round_trips_an_endpoint_with_colons(auth: ServerAuth) -> None:
    key = auth.create_api_key("ci", endpoint="http://127.0.0.1:8080", org="acme")
    endpoint, client_id, secret, org = key_parts(key)
    assert (endpoint, org) == ("http://127.0.0.1:8080", "acme")
    assert client_id.startswith("ci-") and len(secret) >= 40
    assert decode_api_key(key) == ApiKey(endpoint, client_id, secret, org)
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(key)).decode().rstrip("=")
    assert decode_api_key(urlsafe) == ApiKey(endpoint, client_id, secret, org)
    # The default endpoint is the server's public URL.
    assert key_parts(auth.create_api_key("other"))[0] == BASE


@pytest.mark.parametrize(
    "bad", ["", "!!!", base64.b64encode(b"no-colons").decode(), base64.b64encode(b":::").decode()]
)
def test_malformed_api_key_is_a_clear_error(bad: str) -> None:
    with pytest.raises(errors.ConfigError, match="not a valid API key"):
        decode_api_key(bad)


def test_encode_refuses_colons_in_parts() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="client secret"):
        ApiKey("http://h", "id", "se:cret", "").encode()


def test_list_and_revoke_api_keys(auth: ServerAuth, clock: Clock) -> None:
    auth.create_api_key("a")
    clock.advance(1)
    auth.create_api_key("b")
    assert [k.name for k in auth.list_api_keys()] == ["a", "b"]
    revoked = auth.revoke_api_key("a")
    assert revoked.revoked_at == clock.now
    assert [k.name for k in auth.list_api_keys()] == ["b"]
    assert [(k.name, k.active) for k in auth.list_api_keys(include_revoked=True)] == [
        ("a", False),
        ("b", True),
    ]
    with pytest.raises(errors.NotFoundError, match="no API key named 'a'"):
        auth.revoke_api_key("a")
    # A revoked name can be reused; an active one cannot.
    auth.create_api_key("a")
    with pytest.raises(errors.AlreadyExistsError, match="already exists"):
        auth.create_api_key("b")


@pytest.mark.parametrize("name", ["", "-x", "a b", "a:b", "x" * 65, "é"])
def test_invalid_key_names(auth: ServerAuth, name: str) -> None:
    with pytest.raises(errors.InvalidArgumentError, match="not a valid API key name"):
        auth.create_api_key(name)


def test_store_keeps_only_hashes_and_is_private(auth: ServerAuth, tmp_path: Path) -> None:
    key = auth.create_api_key("ci")
    _, _, secret, _ = key_parts(key)
    token = client_token(auth, key)
    auth.close()
    db = tmp_path / "server" / "auth.sqlite3"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    for path in db.parent.iterdir():
        raw = path.read_bytes()
        assert secret.encode() not in raw and token.encode() not in raw


def test_unreadable_store_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    broken = ServerAuth(data_dir=blocker / "server", public_url=BASE, enabled=True)
    with pytest.raises(errors.EngineStateError, match="cannot open the auth database"):
        broken.list_api_keys()


# -- client credentials ---------------------------------------------------------------------------


def test_client_credentials_with_basic_auth(auth: ServerAuth) -> None:
    key = auth.create_api_key("ci")
    _, client_id, secret, _ = key_parts(key)
    response = auth.handle(
        request(
            "POST",
            "/oauth2/token",
            form={"grant_type": "client_credentials", "scope": "all"},
            headers=basic(client_id, secret),
        )
    )
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    data = body(response)
    assert data["token_type"] == "Bearer" and data["expires_in"] == 60 and data["access_token"]
    assert "refresh_token" not in data
    req = request("POST", "/flyteidl2.workflow.RunService/ListRuns", headers=bearer(data["access_token"]))
    assert auth.authenticate(req) == client_id
    assert req.principal == client_id


def test_client_credentials_with_form_fields(auth: ServerAuth) -> None:
    _, client_id, secret, _ = key_parts(auth.create_api_key("ci"))
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = auth.handle(request("POST", "/oauth2/token", form=form))
    assert response.status == 200 and body(response)["access_token"]


def test_basic_credentials_are_form_decoded(auth: ServerAuth) -> None:
    _, client_id, secret, _ = key_parts(auth.create_api_key("ci"))
    from urllib.parse import quote_plus

    headers = basic(quote_plus(client_id), quote_plus(secret))
    response = auth.handle(
        request("POST", "/oauth2/token", form={"grant_type": "client_credentials"}, headers=headers)
    )
    assert response.status == 200


@pytest.mark.parametrize(
    ("make_headers", "form", "error", "status"),
    [
        (lambda cid, s: basic(cid, s + "x"), {}, "invalid_client", 401),
        (lambda cid, s: basic("nobody-1234", s), {}, "invalid_client", 401),
        (lambda cid, s: {}, {}, "invalid_client", 401),
        (lambda cid, s: {"authorization": "Basic %%%"}, {}, "invalid_client", 401),
        (
            lambda cid, s: {"authorization": "Basic " + base64.b64encode(b"nocolon").decode()},
            {},
            "invalid_client",
            401,
        ),
        (lambda cid, s: basic(cid, s), {"client_id": "x"}, "invalid_request", 400),
    ],
)
def test_client_credentials_errors(auth: ServerAuth, make_headers, form, error: str, status: int) -> None:  # type: ignore[no-untyped-def]
    _, client_id, secret, _ = key_parts(auth.create_api_key("ci"))
    response = auth.handle(
        request(
            "POST",
            "/oauth2/token",
            form={"grant_type": "client_credentials", **form},
            headers=make_headers(client_id, secret),
        )
    )
    assert response.status == status
    data = body(response)
    assert data["error"] == error and data["error_description"]
    assert secret not in data["error_description"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


def test_revoked_key_gets_no_token_and_its_tokens_stop_working(auth: ServerAuth) -> None:
    key = auth.create_api_key("ci")
    token = client_token(auth, key)
    auth.revoke_api_key("ci")
    response = token_response(auth, key)
    assert response.status == 401
    assert body(response) == {
        "error": "invalid_client",
        "error_description": "the API key 'ci' was deleted on the server: create a new one with "
        "`union create api-key`",
    }
    with pytest.raises(errors.UnauthenticatedError, match="revoked") as info:
        auth.authenticate(request("POST", "/x", headers=bearer(token)))
    assert token not in str(info.value)


@pytest.mark.parametrize(
    ("form", "content_type", "error"),
    [
        ({}, None, "invalid_request"),
        ({"grant_type": "password"}, None, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, None, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "application/json", "invalid_request"),
    ],
)
def test_token_request_errors(
    auth: ServerAuth, form: dict[str, str], content_type: str | None, error: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = auth.handle(request("POST", "/oauth2/token", form=form, headers=headers))
    assert response.status == 400 and body(response)["error"] == error


def test_duplicate_and_oversized_parameters(auth: ServerAuth) -> None:
    dup = request(
        "POST",
        "/oauth2/token",
        body=b"grant_type=client_credentials&grant_type=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert body(auth.handle(dup))["error"] == "invalid_request"
    big = request(
        "POST",
        "/oauth2/token",
        body=b"a=" + b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert body(auth.handle(big))["error"] == "invalid_request"


def test_routing(auth: ServerAuth) -> None:
    assert auth.handles("/oauth2/token") and auth.handles("/device") and not auth.handles("/_data/x")
    assert auth.handle(request("GET", "/oauth2/token")).status == 405
    assert auth.handle(request("GET", "/oauth2/token")).headers["allow"] == "POST"
    assert auth.handle(request("GET", "/oauth2/nope")).status == 404


def test_failed_logins_slow_down(tmp_path: Path) -> None:
    import time

    slow = ServerAuth(data_dir=tmp_path, public_url=BASE, enabled=True, failure_delay=0.05)
    _, client_id, secret, _ = key_parts(slow.create_api_key("ci"))
    form = {"grant_type": "client_credentials"}
    times = []
    for _ in range(3):
        start = time.monotonic()
        assert (
            slow.handle(request("POST", "/oauth2/token", form=form, headers=basic(client_id, "wrong"))).status
            == 401
        )
        times.append(time.monotonic() - start)
    assert times[2] >= 0.15 and times[0] >= 0.05
    assert (
        slow.handle(request("POST", "/oauth2/token", form=form, headers=basic(client_id, secret))).status
        == 200
    )
    assert slow._failures == {}
    slow.close()


# -- authenticate ---------------------------------------------------------------------------------


def test_authenticate_errors_name_the_problem(auth: ServerAuth, clock: Clock) -> None:
    token = client_token(auth, auth.create_api_key("ci"))
    cases = [
        ({}, "no 'authorization: Bearer <token>' header"),
        ({"authorization": ""}, "no 'authorization"),
        ({"authorization": "Basic abc"}, "not a bearer token"),
        ({"authorization": "Bearer"}, "not a bearer token"),
        (bearer(token + "x"), "not one this server issued"),
    ]
    for headers, message in cases:
        with pytest.raises(errors.UnauthenticatedError, match=message) as info:
            auth.authenticate(request("POST", "/x", headers=headers))
        assert token not in str(info.value)
    assert auth.authenticate(request("POST", "/x", headers={"Authorization": f"bearer  {token} "}))
    clock.advance(61)
    with pytest.raises(errors.UnauthenticatedError, match="expired at") as info:
        auth.authenticate(request("POST", "/x", headers=bearer(token)))
    assert token not in str(info.value)


def test_disabled_auth_lets_everyone_in(tmp_path: Path) -> None:
    off = ServerAuth(data_dir=tmp_path, public_url=BASE, enabled=False)
    req = request("POST", "/x")
    assert off.authenticate(req) == "anonymous" and req.principal == "anonymous"
    assert not (tmp_path / "auth.sqlite3").exists()  # no database is created for it
    assert off.user_info(req).subject == "anonymous"


def test_tokens_survive_a_restart(auth: ServerAuth, tmp_path: Path, clock: Clock) -> None:
    token = client_token(auth, auth.create_api_key("ci"))
    auth.close()
    again = ServerAuth(data_dir=tmp_path / "server", public_url=BASE, enabled=True, clock=clock)
    assert again.authenticate(request("POST", "/x", headers=bearer(token))).startswith("ci-")
    again.close()


# -- metadata -------------------------------------------------------------------------------------


def test_metadata_messages(auth: ServerAuth) -> None:
    meta = auth.oauth2_metadata()
    assert meta.issuer == BASE
    assert meta.token_endpoint == BASE + "/oauth2/token"
    assert meta.device_authorization_endpoint == BASE + "/oauth2/device/authorize"
    assert set(meta.grant_types_supported) == {"client_credentials", DEVICE_CODE_GRANT, "refresh_token"}
    config = auth.public_client_config()
    assert config.client_id == "union-cli" and config.authorization_metadata_key == "authorization"
    assert list(config.scopes) == ["all"] and config.redirect_uri
    well_known = auth.handle(request("GET", "/.well-known/oauth-authorization-server"))
    assert body(well_known)["token_endpoint"] == meta.token_endpoint
    auth.public_url = "http://example.test:1234/"  # set after the port is bound
    assert auth.oauth2_metadata().issuer == "http://example.test:1234"


def test_user_info(auth: ServerAuth) -> None:
    key = auth.create_api_key("ci")
    req = request("POST", "/x", headers=bearer(client_token(auth, key)))
    info = auth.user_info(req)
    assert info.subject == key_parts(key)[1] and info.name == "ci"
    with pytest.raises(errors.UnauthenticatedError):
        auth.user_info(request("POST", "/x"))


# -- device flow ----------------------------------------------------------------------------------


def start_device(auth: ServerAuth, client_id: str = "union-cli") -> dict[str, object]:
    response = auth.handle(
        request("POST", "/oauth2/device/authorize", form={"client_id": client_id, "scope": "all"})
    )
    assert response.status == 200, response.body
    data: dict[str, object] = body(response)
    return data


def poll(auth: ServerAuth, device_code: object, client_id: str = "union-cli") -> tuple[int, dict[str, str]]:
    form = {"grant_type": DEVICE_CODE_GRANT, "device_code": str(device_code), "client_id": client_id}
    response = auth.handle(request("POST", "/oauth2/token", form=form))
    return response.status, body(response)


def test_device_flow_approved(auth: ServerAuth, clock: Clock) -> None:
    started = start_device(auth)
    user_code = str(started["user_code"])
    assert len(user_code) == 9 and user_code[4] == "-"
    assert started["verification_uri"] == BASE + "/device"
    assert started["verification_uri_complete"] == f"{BASE}/device?user_code={user_code}"
    assert started["interval"] == 5 and started["expires_in"] == 600
    status, data = poll(auth, started["device_code"])
    assert (status, data["error"]) == (400, "authorization_pending")
    clock.advance(6)
    status, data = poll(auth, started["device_code"])
    assert (status, data["error"]) == (400, "authorization_pending")
    status, data = poll(auth, started["device_code"])  # too soon after the last poll
    assert (status, data["error"]) == (400, "slow_down")
    auth.approve(user_code.lower().replace("-", " "))
    status, data = poll(auth, started["device_code"])
    assert status == 200 and data["token_type"] == "Bearer" and data["refresh_token"]
    assert (
        auth.authenticate(request("POST", "/x", headers=bearer(data["access_token"])))
        == f"device:{user_code}"
    )
    status, again = poll(auth, started["device_code"])  # a device code is exchanged once
    assert (status, again["error"]) == (400, "invalid_grant")
    # The refresh token yields a new access token, once.
    form = {"grant_type": "refresh_token", "refresh_token": data["refresh_token"]}
    refreshed = auth.handle(request("POST", "/oauth2/token", form=form))
    assert refreshed.status == 200 and body(refreshed)["access_token"] != data["access_token"]
    assert body(auth.handle(request("POST", "/oauth2/token", form=form)))["error"] == "invalid_grant"


def test_device_flow_denied_expired_unknown(auth: ServerAuth, clock: Clock) -> None:
    denied = start_device(auth)
    auth.deny(str(denied["user_code"]))
    assert poll(auth, denied["device_code"])[1]["error"] == "access_denied"
    with pytest.raises(errors.InvalidArgumentError, match="already denied"):
        auth.approve(str(denied["user_code"]))
    late = start_device(auth)
    clock.advance(601)
    assert poll(auth, late["device_code"])[1]["error"] == "expired_token"
    with pytest.raises(errors.InvalidArgumentError, match="expired"):
        auth.approve(str(late["user_code"]))
    assert poll(auth, "nope")[1]["error"] == "invalid_grant"
    other = start_device(auth)
    assert poll(auth, other["device_code"], client_id="someone-else")[1]["error"] == "invalid_grant"
    with pytest.raises(errors.NotFoundError, match="no device login"):
        auth.approve("BBBB-BBBB")
    with pytest.raises(errors.InvalidArgumentError, match="not a device login code"):
        auth.approve("1234")
    missing = auth.handle(request("POST", "/oauth2/token", form={"grant_type": DEVICE_CODE_GRANT}))
    assert body(missing)["error"] == "invalid_request"


def test_device_authorize_errors(auth: ServerAuth) -> None:
    assert (
        body(auth.handle(request("POST", "/oauth2/device/authorize", form={})))["error"] == "invalid_request"
    )
    unknown = auth.handle(request("POST", "/oauth2/device/authorize", form={"client_id": "stranger"}))
    assert unknown.status == 401 and body(unknown)["error"] == "invalid_client"
    _, client_id, _, _ = key_parts(auth.create_api_key("ci"))
    assert start_device(auth, client_id)["user_code"]


def test_device_approval_over_http_needs_an_api_key_token(auth: ServerAuth) -> None:
    key = auth.create_api_key("admin")
    started = start_device(auth)
    code = str(started["user_code"])
    page = auth.handle(request("GET", f"/device?user_code={code}"))
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert isinstance(page.body, bytes) and code.encode() in page.body and b"pending" in page.body
    xss = auth.handle(request("GET", "/device?user_code=<script>"))
    assert isinstance(xss.body, bytes) and b"<script>" not in xss.body
    json_accept = {"accept": "application/json"}
    no_token = auth.handle(request("POST", "/device", form={"user_code": code}, headers=json_accept))
    assert no_token.status == 401 and body(no_token)["error"] == "unauthenticated"
    device_token = None
    # A token from the device flow approved by nobody in particular cannot approve others.
    other = start_device(auth)
    auth.approve(str(other["user_code"]))
    device_token = poll(auth, other["device_code"])[1]["access_token"]
    refused = auth.handle(
        request("POST", "/device", form={"user_code": code}, headers={**bearer(device_token), **json_accept})
    )
    assert refused.status == 401
    ok = auth.handle(
        request(
            "POST",
            "/device",
            form={"user_code": code},
            headers={**bearer(client_token(auth, key)), **json_accept},
        )
    )
    assert ok.status == 200 and body(ok) == {"user_code": code, "status": "approved"}
    status, data = poll(auth, started["device_code"])
    admin_id = key_parts(key)[1]
    assert status == 200
    assert auth.authenticate(request("POST", "/x", headers=bearer(data["access_token"]))) == admin_id
    # The device's token goes when the approving key goes.
    auth.revoke_api_key("admin")
    with pytest.raises(errors.UnauthenticatedError, match="revoked"):
        auth.authenticate(request("POST", "/x", headers=bearer(data["access_token"])))
    form = {"grant_type": "refresh_token", "refresh_token": data["refresh_token"]}
    assert body(auth.handle(request("POST", "/oauth2/token", form=form)))["error"] == "invalid_grant"


def test_device_approval_with_a_pasted_api_key(auth: ServerAuth) -> None:
    key = auth.create_api_key("admin")
    started = start_device(auth)
    code = str(started["user_code"])
    wrong = auth.handle(request("POST", "/device", form={"user_code": code, "api_key": key[:-4] + "AAA="}))
    assert wrong.status in (400, 401) and isinstance(wrong.body, bytes) and key.encode() not in wrong.body
    denied = auth.handle(
        request("POST", "/device", form={"user_code": code, "api_key": key, "action": "deny"})
    )
    assert denied.status == 200 and isinstance(denied.body, bytes) and b"denied" in denied.body
    assert poll(auth, started["device_code"])[1]["error"] == "access_denied"
    bad_action = auth.handle(
        request("POST", "/device", form={"user_code": code, "api_key": key, "action": "x"})
    )
    assert bad_action.status == 400


def test_no_secret_in_logs(auth: ServerAuth, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="union.server.auth")
    key = auth.create_api_key("ci")
    _, client_id, secret, _ = key_parts(key)
    token = client_token(auth, key)
    auth.handle(
        request(
            "POST",
            "/oauth2/token",
            form={"grant_type": "client_credentials"},
            headers=basic(client_id, "bad"),
        )
    )
    # A secret pasted in the id field is not logged either.
    auth.handle(
        request(
            "POST", "/oauth2/token", form={"grant_type": "client_credentials"}, headers=basic(secret, secret)
        )
    )
    started = start_device(auth)
    auth.approve(str(started["user_code"]))
    device = poll(auth, started["device_code"])[1]
    auth.revoke_api_key("ci")
    text = caplog.text + repr(auth)
    assert "client authentication failed" in text and "issued an access token" in text
    for canary in (
        key,
        secret,
        token,
        str(started["device_code"]),
        device["access_token"],
        device["refresh_token"],
    ):
        assert canary not in text
    assert auth_mod.log.name == "union.server.auth"


def test_concurrent_token_requests_and_a_second_process(auth: ServerAuth, tmp_path: Path) -> None:
    """Server threads issue tokens while another store on the same file (the CLI) adds and revokes keys."""
    from concurrent.futures import ThreadPoolExecutor

    key = auth.create_api_key("ci")
    other = ServerAuth(data_dir=tmp_path / "server", public_url=BASE, enabled=True)

    def issue(_i: int) -> str:
        return client_token(auth, key)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(issue, i) for i in range(40)]
        for i in range(5):
            other.create_api_key(f"k{i}")
            other.revoke_api_key(f"k{i}")
        tokens = [f.result() for f in futures]
    assert len(set(tokens)) == 40
    for token in tokens:
        assert auth.authenticate(request("POST", "/x", headers=bearer(token)))
    other.revoke_api_key("ci")  # seen by the first store at once
    with pytest.raises(errors.UnauthenticatedError, match="revoked"):
        auth.authenticate(request("POST", "/x", headers=bearer(tokens[0])))
    other.close()
