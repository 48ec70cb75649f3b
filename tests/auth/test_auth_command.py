"""A static bearer token and an external command that prints one."""

from __future__ import annotations

import sys

import pytest
import requests
from oauth_test_server import call_api

from union.auth.command import CommandAuthenticator
from union.auth.static import StaticTokenAuthenticator
from union.config import Config
from union.errors import UnauthenticatedError


def py(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def test_static_token_sent_in_the_advertised_header(oauth):
    oauth.header = "flyte-authorization"
    oauth.tokens["static-one"] = "someone"
    auth = StaticTokenAuthenticator(Config(endpoint=oauth.url, token="static-one"), metadata=oauth.metadata)
    assert call_api(oauth, auth).json()["client"] == "someone"


def test_static_token_refresh_is_false_so_no_retry(oauth):
    auth = StaticTokenAuthenticator(Config(token="not-known"), metadata=oauth.metadata)
    calls = oauth.api_calls
    assert call_api(oauth, auth).status_code == 401
    assert oauth.api_calls == calls + 1
    assert auth.token() == "not-known"


def test_header_defaults_to_authorization_without_metadata():
    def metadata():
        from union.errors import UnimplementedError

        raise UnimplementedError("no")

    auth = StaticTokenAuthenticator(Config(token="t"), metadata=metadata)
    request = requests.Request("GET", "http://127.0.0.1/").prepare()
    assert auth(request).headers["authorization"] == "Bearer t"


def test_command_token_used_and_rerun_on_401(oauth, tmp_path):
    counter = tmp_path / "n"
    code = (
        f"import pathlib; p = pathlib.Path({str(counter)!r}); n = int(p.read_text()) + 1 if p.exists() else 1; "
        "p.write_text(str(n)); print('warming up'); print('cmd-token-%d' % n)"
    )
    oauth.tokens["cmd-token-2"] = "cmd"
    auth = CommandAuthenticator(Config(command=py(code)), metadata=oauth.metadata)
    assert auth.token() == "cmd-token-1"  # the last line printed
    assert call_api(oauth, auth).json()["client"] == "cmd"  # 401 -> the command runs again
    assert counter.read_text() == "2"


def test_command_failure_does_not_echo_stdout():
    code = "import sys; print('LEAKED-TOKEN'); print('not logged in', file=sys.stderr); sys.exit(3)"
    auth = CommandAuthenticator(Config(command=py(code)))
    with pytest.raises(UnauthenticatedError) as info:
        auth.token()
    message = str(info.value)
    assert "status 3" in message and "not logged in" in message and "LEAKED-TOKEN" not in message
    assert sys.executable in message and "-c" not in message  # arguments may hold secrets


def test_command_timeout_missing_and_empty():
    slow = CommandAuthenticator(Config(command=py("import time; time.sleep(5)")), command_timeout=0.3)
    with pytest.raises(UnauthenticatedError, match="did not finish within 0.3 s"):
        slow.token()
    with pytest.raises(UnauthenticatedError, match="was not found"):
        CommandAuthenticator(Config(command=("no-such-program-union-test",))).token()
    with pytest.raises(UnauthenticatedError, match="printed no token"):
        CommandAuthenticator(Config(command=py("print()"))).token()
