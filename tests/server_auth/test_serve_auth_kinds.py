"""Every auth kind our client picks from its configuration, end to end against ``union serve`` over HTTP:
OAuth2 client credentials (secret from a variable), a static token, an external command, and none. (API
keys and the device flow: test_serve_auth_e2e.) The client is built from a ``Config`` alone, so the choice
of kind (``union.auth.authenticator_for``) is part of what is tested; the server's answer names who called."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from auth_helpers import Served, key_parts
from flyteidl2.auth import identity_pb2
from flyteidl2.workflow import run_service_pb2

from union import errors
from union.config import Config
from union.server.app import ServeConfig, Server
from union.transport.connect import ConnectTransport


def _who(config: Config) -> str:
    with ConnectTransport(config) as transport:
        subject: str = transport.user_info(identity_pb2.UserInfoRequest()).subject
        transport.list_runs(run_service_pb2.ListRunsRequest())
        return subject


def _refused(config: Config, *canaries: str) -> errors.UnauthenticatedError:
    with ConnectTransport(config) as transport, pytest.raises(errors.UnauthenticatedError) as info:
        transport.list_runs(run_service_pb2.ListRunsRequest())
    for canary in canaries:
        assert canary not in str(info.value)
    return info.value


def test_client_credentials_from_a_secret_variable(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    srv, log = served.server, served.log
    _, client_id, secret, _ = key_parts(srv.auth.create_api_key("ci"))
    monkeypatch.setenv("CI_SECRET", secret)
    config = Config(endpoint=srv.url, insecure=True, client_id=client_id, client_secret_env_var="CI_SECRET")
    assert _who(config) == client_id
    # A wrong secret: refused by the token endpoint, a typed error, the secret nowhere.
    _, _, other_secret, _ = key_parts(srv.auth.create_api_key("other"))
    monkeypatch.setenv("CI_SECRET", other_secret + "x")
    config = Config(
        endpoint=srv.url, insecure=True, client_id=client_id + "-x", client_secret_env_var="CI_SECRET"
    )
    _refused(config, other_secret)
    srv.stop()
    assert secret not in log.getvalue() and other_secret not in log.getvalue()


def test_a_wrong_secret_for_a_client_that_logged_in_is_refused(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token cache is keyed by the secret's fingerprint: one good login must not let a mistyped or
    rotated secret for the same client id reuse its cached token."""
    srv = served.server
    _, client_id, secret, _ = key_parts(srv.auth.create_api_key("ci"))
    config = Config(endpoint=srv.url, insecure=True, client_id=client_id, client_secret_env_var="CI_SECRET")
    monkeypatch.setenv("CI_SECRET", secret)
    assert _who(config) == client_id
    monkeypatch.setenv("CI_SECRET", secret[:-1] + ("a" if secret[-1] != "a" else "b"))
    _refused(config, secret)
    monkeypatch.setenv("CI_SECRET", secret)
    assert _who(config) == client_id


def test_static_token(served: Served) -> None:
    srv, log = served.server, served.log
    _, client_id, secret, _ = key_parts(srv.auth.create_api_key("static"))
    token = served.token_for(client_id, secret)
    assert _who(Config(endpoint=srv.url, insecure=True, token=token)) == client_id
    assert _who(Config(endpoint=srv.url, insecure=True, auth_type="Token", token=token)) == client_id
    wrong = "CANARY-not-a-token-0123456789"
    _refused(Config(endpoint=srv.url, insecure=True, token=wrong), wrong)
    srv.stop()
    assert token not in log.getvalue() and wrong not in log.getvalue()


def test_external_command(served: Served, tmp_path: Path) -> None:
    srv, log = served.server, served.log
    _, client_id, secret, _ = key_parts(srv.auth.create_api_key("command"))
    token = served.token_for(client_id, secret)
    script = tmp_path / "token.py"
    script.write_text(f"print('noise')\nprint('Bearer {token}')\n")
    command: Any = (sys.executable, str(script))
    assert _who(Config(endpoint=srv.url, insecure=True, command=command)) == client_id
    wrong = "CANARY-command-token-0123456789"
    script.write_text(f"print({wrong!r})\n")
    _refused(Config(endpoint=srv.url, insecure=True, command=command), wrong)
    srv.stop()
    assert token not in log.getvalue() and wrong not in log.getvalue()


def test_none_works_only_where_the_server_has_auth_off(served: Served, tmp_path: Path) -> None:
    srv = served.server
    refused = _refused(Config(endpoint=srv.url, insecure=True))
    assert "union create api-key" in str(refused)
    with Server(ServeConfig(port=0, data_dir=tmp_path / "open", auth=False, log=False)) as open_server:
        assert _who(Config(endpoint=open_server.url, insecure=True)) == "anonymous"
        assert _who(Config(endpoint=open_server.url, insecure=True, auth_type="None")) == "anonymous"
