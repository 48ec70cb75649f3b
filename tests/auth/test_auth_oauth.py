"""OAuth2 over real HTTP against a stand-in token server (oauth_test_server.py, not an identity provider's):
client credentials, API keys, device flow, refresh. `union serve`'s own token endpoints are tested in
tests/server_auth."""

from __future__ import annotations

import io
import threading

import pytest
import requests
from oauth_test_server import PUBLIC_CLIENT, OAuthServer, call_api

from union.auth import authenticator_for, builtin_authenticator
from union.auth.apikey import ApiKey
from union.auth.base import make_session
from union.auth.cache import MemoryTokenCache
from union.auth.oauth import ClientCredentialsAuthenticator, DeviceFlowAuthenticator
from union.config import Config
from union.errors import UnauthenticatedError, UnavailableError, UnimplementedError


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client_auth(server: OAuthServer, secret: str = "app-secret", **kwargs) -> ClientCredentialsAuthenticator:
    kwargs.setdefault("cache", MemoryTokenCache())
    return ClientCredentialsAuthenticator(
        Config(endpoint=server.url, client_id="app"),
        client_id="app",
        client_secret=secret,
        metadata=server.metadata,
        **kwargs,
    )


def test_client_credentials_with_discovered_endpoint_and_scopes(oauth):
    auth = client_auth(oauth)
    assert call_api(oauth, auth).json() == {"ok": True, "client": "app"}
    assert call_api(oauth, auth).status_code == 200
    assert oauth.grants("client_credentials") == 1  # the token is reused
    path, form = oauth.requests[0]
    assert path == "/oauth2/token" and form == {"grant_type": "client_credentials", "scope": "all"}


def test_configured_scopes_win(oauth):
    auth = ClientCredentialsAuthenticator(
        Config(endpoint=oauth.url, scopes=("a", "b")),
        client_id="app",
        client_secret="app-secret",
        metadata=oauth.metadata,
    )
    auth.token()
    assert oauth.requests[0][1]["scope"] == "a b"


def test_secret_with_reserved_characters_and_audience(oauth):
    oauth.clients["odd id"] = "p@ss:w+rd/é %"
    oauth.audience = "https://api.example.com"
    auth = ClientCredentialsAuthenticator(
        Config(endpoint=oauth.url), client_id="odd id", client_secret="p@ss:w+rd/é %", metadata=oauth.metadata
    )
    assert call_api(oauth, auth).json()["client"] == "odd id"
    assert oauth.requests[0][1]["audience"] == "https://api.example.com"


def test_wrong_secret_is_refused_with_a_fix(oauth):
    auth = client_auth(oauth, secret="wrong-secret")
    with pytest.raises(UnauthenticatedError) as info:
        call_api(oauth, auth)
    message = str(info.value)
    assert "'app'" in message and "invalid_client" in message and "HTTP 401" in message
    assert "client_secret_env_var" in message and "wrong-secret" not in message


def test_header_name_from_public_client_config_and_from_config(oauth):
    oauth.header = "flyte-authorization"
    auth = client_auth(oauth)
    assert call_api(oauth, auth).status_code == 200
    assert auth.header_name() == "flyte-authorization"
    configured = ClientCredentialsAuthenticator(
        Config(endpoint=oauth.url, authorization_header="x-auth"),
        client_id="app",
        client_secret="app-secret",
        metadata=oauth.metadata,
    )
    request = requests.Request("GET", oauth.url).prepare()
    assert configured(request).headers["x-auth"].startswith("Bearer access-")


def test_api_key_end_to_end(oauth):
    oauth.clients["ci-bot"] = "key-secret"
    key = ApiKey(endpoint=oauth.url, client_id="ci-bot", client_secret="key-secret", org="acme")
    config = Config(endpoint=oauth.url, api_key=key.encode())
    auth = authenticator_for(config, metadata=oauth.metadata)
    assert call_api(oauth, auth).json()["client"] == "ci-bot"


def test_revoked_api_key_says_how_to_fix(oauth):
    key = ApiKey(endpoint=oauth.url, client_id="gone", client_secret="key-secret", org="")
    auth = builtin_authenticator(Config(endpoint=oauth.url, api_key=key.encode()), oauth.metadata)
    with pytest.raises(UnauthenticatedError, match="union create api-key"):
        auth.token()


def test_refreshed_before_expiry(oauth):
    clock = Clock()
    auth = client_auth(oauth, clock=clock)
    first = auth.token()
    clock.now += 3600 - 61  # still more than the 60 s window left
    assert auth.token() == first
    clock.now += 2  # inside the window: renewed before use
    second = auth.token()
    assert second != first and oauth.grants("client_credentials") == 2


def test_short_lived_tokens_renewed_in_real_time(oauth):
    oauth.expires_in = 30  # always inside the 60 s window
    auth = client_auth(oauth)
    assert call_api(oauth, auth).status_code == 200
    assert call_api(oauth, auth).status_code == 200
    assert oauth.grants("client_credentials") == 2


def test_refresh_token_grant_used_when_given(oauth):
    oauth.issue_refresh_tokens = True
    clock = Clock()
    auth = client_auth(oauth, clock=clock)
    first = auth.token()
    clock.now += 3600
    assert auth.token() != first
    assert oauth.grants("client_credentials") == 1 and oauth.grants("refresh_token") == 1
    assert "client_id" not in oauth.requests[-1][1]  # a confidential client authenticates with basic auth
    # a refused refresh token falls back to a fresh grant
    oauth.refresh_tokens.clear()
    clock.now += 3600
    auth.token()
    assert oauth.grants("client_credentials") == 2


def test_refreshed_once_on_401_and_cache_forgotten(oauth):
    cache = MemoryTokenCache()
    auth = client_auth(oauth, cache=cache)
    assert call_api(oauth, auth).status_code == 200
    key = auth._cache_key()
    old = cache.get(key)
    oauth.revoke_all()  # the server forgets every token: the next call gets a 401
    calls = oauth.api_calls
    assert call_api(oauth, auth).status_code == 200
    assert oauth.api_calls == calls + 2 and oauth.grants("client_credentials") == 2
    assert cache.get(key) != old


def test_concurrent_callers_share_one_token(oauth):
    auth = client_auth(oauth)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(auth.token())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1 and oauth.grants("client_credentials") == 1


def test_concurrent_401s_obtain_one_new_token(oauth):
    auth = client_auth(oauth)
    assert call_api(oauth, auth).status_code == 200
    oauth.revoke_all()
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def worker() -> None:
        first = requests.get(oauth.url + "/api", auth=auth, timeout=5)
        barrier.wait()  # every thread was refused before any refreshes
        if first.status_code == 401 and auth.refresh():
            first = requests.get(oauth.url + "/api", auth=auth, timeout=5)
        codes.append(first.status_code)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 4
    assert oauth.grants("client_credentials") == 2  # the first, and one replacement shared by all


def test_server_without_oauth_metadata():
    def metadata():
        raise UnimplementedError("no such method")

    auth = ClientCredentialsAuthenticator(
        Config(endpoint="https://h"), client_id="c", client_secret="s", metadata=metadata
    )
    with pytest.raises(UnauthenticatedError, match="does not publish OAuth2 metadata.*UNION_TOKEN"):
        auth.token()


def test_unreachable_token_endpoint(oauth):
    oauth.stop()
    auth = client_auth(oauth, timeout=2)
    with pytest.raises(UnavailableError, match="could not reach the token endpoint"):
        auth.token()


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (503, UnavailableError, "answered HTTP 503. Retry later"),
        (429, UnavailableError, "answered HTTP 429"),
        (404, UnauthenticatedError, "HTTP 404 without a JSON object"),
    ],
)
def test_token_endpoint_failures_are_typed(oauth, status, error, message):
    oauth.fail_status = status
    with pytest.raises(error, match=message):
        client_auth(oauth).token()


def test_metadata_without_a_token_endpoint(oauth):
    def metadata():
        meta, client = oauth.metadata()
        meta.token_endpoint = ""
        return meta, client

    auth = ClientCredentialsAuthenticator(
        Config(endpoint=oauth.url), client_id="a", client_secret="s", metadata=metadata
    )
    with pytest.raises(UnauthenticatedError, match="advertises no OAuth2 token endpoint"):
        auth.token()


def test_relative_token_endpoint_joined_to_the_endpoint(oauth):
    def metadata():
        meta, client = oauth.metadata()
        meta.token_endpoint = "/oauth2/token"
        return meta, client

    auth = ClientCredentialsAuthenticator(
        Config(endpoint=oauth.url, insecure=True),
        client_id="app",
        client_secret="app-secret",
        metadata=metadata,
    )
    assert call_api(oauth, auth).status_code == 200


def test_tls_settings_and_shared_session(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    assert make_session(Config(ca_cert_path=str(bundle))).verify == str(bundle)
    assert make_session(Config(insecure_skip_verify=True)).verify is False
    assert make_session(Config()).verify is True
    shared = requests.Session()
    auth = ClientCredentialsAuthenticator(Config(), client_id="c", client_secret="s", session=shared)
    assert auth.session is shared


def test_token_calls_never_use_the_shared_sessions_own_auth(oauth):
    shared = requests.Session()
    auth = client_auth(oauth, session=shared)
    shared.auth = auth  # a transport might do this: token calls must not recurse into it
    assert shared.get(oauth.url + "/api", timeout=5).status_code == 200


# -- the device flow -------------------------------------------------------------------------------


def device_auth(server: OAuthServer, **kwargs) -> tuple[DeviceFlowAuthenticator, list[float], io.StringIO]:
    sleeps: list[float] = []
    out = io.StringIO()
    kwargs.setdefault("cache", MemoryTokenCache())
    kwargs.setdefault("sleep", sleeps.append)
    auth = DeviceFlowAuthenticator(
        Config(endpoint=server.url, auth_type="DeviceFlow"),
        metadata=server.metadata,
        out=out,
        slow_down_step=0.25,
        **kwargs,
    )
    return auth, sleeps, out


def test_device_flow_pending_slow_down_approved(oauth):
    oauth.device_script = ["pending", "slow_down", "approved"]
    oauth.device_interval = 1
    auth, sleeps, out = device_auth(oauth)
    assert call_api(oauth, auth).json()["client"] == PUBLIC_CLIENT
    assert sleeps == [1, 1, 1.25]  # the server's interval, grown on slow_down
    shown = out.getvalue()
    assert oauth.url + "/device" in shown and "ABCD-EFGH" in shown
    assert oauth.requests[0] == ("/oauth2/device/authorize", {"client_id": PUBLIC_CLIENT, "scope": "all"})
    assert oauth.requests[1][1] == {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": "dev-code-1",
        "client_id": PUBLIC_CLIENT,
    }


@pytest.mark.parametrize(("step", "message"), [("expired", "expired before"), ("denied", "was denied")])
def test_device_flow_expired_or_denied(oauth, step, message):
    oauth.device_script = ["pending", step]
    auth, _, _ = device_auth(oauth)
    with pytest.raises(UnauthenticatedError, match=message):
        auth.token()


def test_device_flow_gives_up_when_the_code_expires(oauth):
    import time

    oauth.device_expires_in = 0.4
    oauth.device_interval = 0.1
    auth, _, _ = device_auth(oauth, sleep=time.sleep)
    start = time.monotonic()
    with pytest.raises(UnauthenticatedError, match="not approved within"):
        auth.token()
    assert time.monotonic() - start < 2
    assert 2 <= oauth.grants("urn:ietf:params:oauth:grant-type:device_code") <= 4


def test_device_flow_token_reused_from_the_cache(oauth):
    oauth.device_script = ["approved"]
    cache = MemoryTokenCache()
    first, _, _ = device_auth(oauth, cache=cache)
    token = first.token()
    second, _, out = device_auth(oauth, cache=cache)
    assert second.token() == token and out.getvalue() == ""
    assert oauth.grants("urn:ietf:params:oauth:grant-type:device_code") == 1


def test_device_flow_renewed_with_its_refresh_token(oauth):
    oauth.device_script = ["approved"]
    oauth.issue_refresh_tokens = True
    clock = Clock()
    auth, _, out = device_auth(oauth, clock=clock)
    first = auth.token()
    clock.now += 7200
    out.seek(0)
    out.truncate()
    assert auth.token() != first and out.getvalue() == ""  # no new prompt
    _, form = oauth.requests[-1]
    assert form == {"grant_type": "refresh_token", "refresh_token": "refresh-1", "client_id": PUBLIC_CLIENT}
