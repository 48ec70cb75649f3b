"""A canary secret, used as every kind of credential, never shows in an error, a repr or a log line."""

from __future__ import annotations

import base64
import io
import logging
import sys
import traceback

import pytest
from oauth_test_server import call_api

from union.auth import builtin_authenticator
from union.auth.apikey import ApiKey, decode_api_key
from union.auth.cache import FileTokenCache, MemoryTokenCache
from union.auth.command import CommandAuthenticator
from union.auth.oauth import ClientCredentialsAuthenticator, DeviceFlowAuthenticator
from union.config import Config
from union.errors import UnionError

CANARY = "CANARY-7f3a9c-do-not-leak"


def test_canary_never_leaks(oauth, caplog, tmp_path, monkeypatch):
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []

    def failing(call):
        with pytest.raises(UnionError) as info:
            call()
        shown.append("".join(traceback.format_exception(info.type, info.value, info.tb)))
        shown.append(repr(info.value))

    oauth.token_suffix = CANARY
    oauth.issue_refresh_tokens = True
    oauth.echo_secret_in_errors = True
    oauth.clients["good"] = CANARY

    # a client secret the server refuses, and echoes back in its error_description
    monkeypatch.setenv("SECRET_VAR", CANARY + "-wrong")
    wrong = builtin_authenticator(
        Config(endpoint=oauth.url, client_id="app", client_secret_env_var="SECRET_VAR"),
        oauth.metadata,
        cache=MemoryTokenCache(),
    )
    failing(wrong.token)
    shown.append(repr(wrong))

    # API keys: refused, malformed, not base64
    key = ApiKey(endpoint=oauth.url, client_id="nobody", client_secret=CANARY, org="o").encode()
    failing(builtin_authenticator(Config(endpoint=oauth.url, api_key=key), oauth.metadata).token)
    failing(lambda: decode_api_key(base64.b64encode(CANARY.encode()).decode()))
    failing(lambda: decode_api_key(CANARY + "!"))
    shown.append(repr(Config(api_key=key, token=CANARY)))

    # tokens that work: issued, cached in a file, refreshed by refresh_token grant and after a 401
    cache = FileTokenCache(tmp_path / "auth")
    good = ClientCredentialsAuthenticator(
        Config(endpoint=oauth.url),
        client_id="good",
        client_secret=CANARY,
        metadata=oauth.metadata,
        cache=cache,
    )
    assert call_api(oauth, good).status_code == 200
    shown += [repr(good), repr(good._token), repr(cache)]
    oauth.revoke_all()
    assert call_api(oauth, good).status_code == 200
    good.clock = lambda: 10**12
    good.token()
    shown += [repr(good), repr(good._token)]

    # the device flow's tokens, and a denial
    oauth.device_script = ["approved"]
    device = DeviceFlowAuthenticator(
        Config(endpoint=oauth.url), metadata=oauth.metadata, out=io.StringIO(), sleep=lambda s: None
    )
    device.token()
    shown.append(repr(device))
    oauth.device_script = ["denied"]
    denied = DeviceFlowAuthenticator(
        Config(endpoint=oauth.url), metadata=oauth.metadata, out=io.StringIO(), sleep=lambda s: None
    )
    failing(denied.token)

    # a command that prints the canary and then fails, and one that succeeds
    code = f"import sys; print({CANARY!r}); sys.exit(1)"
    failing(CommandAuthenticator(Config(command=(sys.executable, "-c", code))).token)
    ok = CommandAuthenticator(Config(command=(sys.executable, "-c", f"print({CANARY!r})")))
    assert CANARY in ok.token()
    shown.append(repr(ok))

    assert len(shown) > 10
    for text in [*shown, caplog.text]:
        assert CANARY not in text
