"""Which authenticator a configuration gets, API key decoding, client secrets, and the hook."""

from __future__ import annotations

import base64

import pytest

import union.config
import union.plugins
from union.auth import authenticator_for, builtin_authenticator, client_secret, infer_auth_type
from union.auth.apikey import ApiKey, decode_api_key
from union.auth.cache import MemoryTokenCache
from union.auth.command import CommandAuthenticator
from union.auth.oauth import ApiKeyAuthenticator, ClientCredentialsAuthenticator, DeviceFlowAuthenticator
from union.auth.static import StaticTokenAuthenticator
from union.config import Config
from union.errors import ConfigError

KEY = ApiKey(endpoint="https://union.example.com:443", client_id="ci-bot", client_secret="s3cr3t", org="acme")


def test_inferred_kinds():
    assert infer_auth_type(Config()) == "None"
    assert infer_auth_type(Config(api_key=KEY.encode(), token="t")) == "ApiKey"
    assert infer_auth_type(Config(token="t", command=("x",))) == "Token"
    assert infer_auth_type(Config(command=("x",))) == "ExternalCommand"
    assert infer_auth_type(Config(client_id="c")) == "None"
    assert infer_auth_type(Config(client_id="c", client_secret_env_var="V")) == "ClientSecret"
    assert infer_auth_type(Config(client_id="c", client_secret_location="/f")) == "ClientSecret"
    assert infer_auth_type(Config(auth_type="DeviceFlow", token="t")) == "DeviceFlow"


def test_builtin_choice(monkeypatch):
    monkeypatch.setenv("MY_SECRET", "value")
    cache = MemoryTokenCache()
    assert builtin_authenticator(Config(endpoint="h:1")) is None
    assert builtin_authenticator(Config(auth_type="None", token="t")) is None
    assert isinstance(builtin_authenticator(Config(token="t")), StaticTokenAuthenticator)
    assert isinstance(builtin_authenticator(Config(command=("true",))), CommandAuthenticator)
    api = builtin_authenticator(Config(api_key=KEY.encode()), cache=cache)
    assert isinstance(api, ApiKeyAuthenticator) and api.client_id == "ci-bot"
    cc = builtin_authenticator(Config(client_id="c", client_secret_env_var="MY_SECRET"), cache=cache)
    assert type(cc) is ClientCredentialsAuthenticator
    assert isinstance(
        builtin_authenticator(Config(auth_type="DeviceFlow"), cache=cache), DeviceFlowAuthenticator
    )
    # Pkce needs a browser redirect: documented to use the device flow instead
    assert isinstance(builtin_authenticator(Config(auth_type="Pkce"), cache=cache), DeviceFlowAuthenticator)


def test_missing_settings_for_a_chosen_kind():
    with pytest.raises(ConfigError, match="UNION_TOKEN"):
        builtin_authenticator(Config(auth_type="Token"))
    with pytest.raises(ConfigError, match="UNION_AUTH_COMMAND"):
        builtin_authenticator(Config(auth_type="ExternalCommand"))
    with pytest.raises(ConfigError, match="UNION_API_KEY"):
        builtin_authenticator(Config(auth_type="ApiKey"))
    with pytest.raises(ConfigError, match="client_id"):
        builtin_authenticator(Config(auth_type="ClientSecret"))
    with pytest.raises(ConfigError, match="client_secret_env_var"):
        builtin_authenticator(Config(auth_type="ClientSecret", client_id="c"))


def test_client_secret_sources(tmp_path, monkeypatch):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert client_secret(Config(client_id="c", client_secret_location=str(secret_file))) == "from-file"
    monkeypatch.setenv("CS", " from-env ")
    assert client_secret(Config(client_id="c", client_secret_env_var="CS")) == "from-env"
    with pytest.raises(ConfigError, match=r"\$NOPE.*unset"):
        client_secret(Config(client_id="c", client_secret_env_var="NOPE"))
    with pytest.raises(ConfigError, match="cannot be read"):
        client_secret(Config(client_id="c", client_secret_location=str(tmp_path / "missing")))
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        client_secret(Config(client_id="c", client_secret_location=str(tmp_path / "empty")))


def test_api_key_decoding_forms():
    raw = f"{KEY.endpoint}:{KEY.client_id}:{KEY.client_secret}:{KEY.org}".encode()
    for text in (
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "  " + base64.b64encode(raw).decode() + "\n",
    ):
        assert decode_api_key(text) == KEY
    plain = base64.b64encode(b"localhost:8080:id:sec:").decode()
    assert decode_api_key(plain) == ApiKey("localhost:8080", "id", "sec", "")
    assert decode_api_key(base64.b64encode(b"dns:///h:id:sec:o").decode()).endpoint == "dns:///h"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not base64 at all!", "not base64"),
        (base64.b64encode(b"\xff\xfe\xfd").decode(), "not base64"),
        (base64.b64encode(b"host:id:secret").decode(), "3 colon-separated fields"),
        (base64.b64encode(b"https://host:id:secret").decode(), "3 colon-separated fields"),
        (base64.b64encode(b"host::secret:org").decode(), "client_id field is empty"),
        (base64.b64encode(b"https://:id:secret:org").decode(), "endpoint field is empty"),
        ("aGVsbG8-_!!", "not base64"),
    ],
)
def test_api_key_errors_name_the_variable_and_fix_but_not_the_key(text, problem):
    with pytest.raises(ConfigError) as info:
        decode_api_key(text)
    message = str(info.value)
    assert problem in message and "$UNION_API_KEY" in message and "union create api-key" in message
    assert text.strip() not in message and "secret" not in message.replace("client_secret", "")


def test_api_key_error_names_where_it_came_from(monkeypatch):
    monkeypatch.setenv("UNION_API_KEY", "@@@@")
    monkeypatch.setenv("UNION_ENDPOINT", "https://union.example.com")
    config = union.config.resolve()
    with pytest.raises(ConfigError, match=r"\$UNION_API_KEY"):
        builtin_authenticator(config)
    with pytest.raises(ConfigError, match=r"^api_key is not"):
        builtin_authenticator(Config(api_key="@@@@", sources={"api_key": "argument"}))


def test_reprs_show_kind_and_client_only(monkeypatch):
    monkeypatch.setenv("CS", "hidden-secret")
    cc = builtin_authenticator(Config(client_id="c", client_secret_env_var="CS"), cache=MemoryTokenCache())
    assert repr(cc) == "<ClientCredentialsAuthenticator kind='ClientSecret' client_id='c'>"
    static = builtin_authenticator(Config(token="hidden-token"))
    assert "hidden" not in repr(static)
    assert "s3cr3t" not in repr(KEY)


class OverridingPlugin:
    def __init__(self):
        self.seen = None

    @union.plugins.hookimpl
    def union_authenticator(self, config, metadata):
        self.seen = (config, metadata)
        return StaticTokenAuthenticator(Config(token="from-plugin"))


def test_union_authenticator_hook_plugin_wins_over_builtin():
    plugin = OverridingPlugin()
    union.plugins.register(plugin, name="auth-plugin")
    config = Config(endpoint="h:1", api_key=KEY.encode())

    def metadata():
        raise AssertionError("not called")

    auth = authenticator_for(config, metadata=metadata)
    assert isinstance(auth, StaticTokenAuthenticator) and auth.token() == "from-plugin"
    assert plugin.seen == (config, metadata)
    union.plugins.unregister("auth-plugin")
    assert isinstance(authenticator_for(config, metadata=metadata), ApiKeyAuthenticator)
    assert authenticator_for(Config(endpoint="h:1")) is None
