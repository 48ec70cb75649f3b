"""Token caches: a private file by default, the OS keyring when a usable backend exists."""

from __future__ import annotations

import json
import stat

import pytest
from oauth_test_server import call_api

from union.auth import builtin_authenticator
from union.auth.apikey import ApiKey
from union.auth.base import Token
from union.auth.cache import FileTokenCache, KeyringTokenCache, default_cache, usable_keyring
from union.config import Config, paths
from union.errors import UnauthenticatedError


def api_key_config(server) -> Config:
    server.clients["ci-bot"] = "key-secret"
    key = ApiKey(endpoint=server.url, client_id="ci-bot", client_secret="key-secret", org="")
    return Config(endpoint=server.url, api_key=key.encode())


def test_file_cache_is_private_and_reused_across_instances(oauth):
    config = api_key_config(oauth)
    first = builtin_authenticator(config, oauth.metadata)
    assert isinstance(first._cache, FileTokenCache)
    assert call_api(oauth, first).status_code == 200
    directory = paths.cache_dir() / "auth"
    (entry,) = directory.glob("*.json")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert json.loads(entry.read_text())["access_token"].startswith("access-")

    second = builtin_authenticator(config, oauth.metadata)
    assert call_api(oauth, second).status_code == 200
    assert oauth.grants("client_credentials") == 1  # the second instance (a new process) reused it


def test_file_cache_keys_differ_by_endpoint_and_client(oauth, monkeypatch):
    monkeypatch.setenv("X", "app-secret")
    config = api_key_config(oauth)
    auth = builtin_authenticator(config, oauth.metadata)
    other = builtin_authenticator(Config(endpoint=oauth.url, client_id="app", client_secret_env_var="X"))
    elsewhere = builtin_authenticator(Config(endpoint="https://elsewhere", api_key=config.api_key))
    keys = {a._cache_key() for a in (auth, other, elsewhere)}
    assert len(keys) == 3


def secret_config(server, monkeypatch, secret: str) -> Config:
    monkeypatch.setenv("APP_SECRET", secret)
    return Config(endpoint=server.url, client_id="app", client_secret_env_var="APP_SECRET")


def test_a_wrong_secret_never_finds_the_tokens_a_good_one_cached(oauth, monkeypatch):
    good = builtin_authenticator(secret_config(oauth, monkeypatch, "app-secret"), oauth.metadata)
    assert call_api(oauth, good).status_code == 200
    wrong = builtin_authenticator(secret_config(oauth, monkeypatch, "not-the-secret"), oauth.metadata)
    with pytest.raises(UnauthenticatedError, match="app"):
        call_api(oauth, wrong)
    again = builtin_authenticator(secret_config(oauth, monkeypatch, "app-secret"), oauth.metadata)
    assert call_api(oauth, again).status_code == 200
    assert oauth.grants("client_credentials") == 2  # the refused request; the good secret reused its token
    directory = paths.cache_dir() / "auth"
    key_file = directory / ".fingerprint-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    for entry in directory.iterdir():
        assert b"app-secret" not in entry.read_bytes() and "app-secret" not in entry.name


def test_a_wrong_api_key_secret_is_refused_after_a_good_one(oauth):
    config = api_key_config(oauth)
    assert call_api(oauth, builtin_authenticator(config, oauth.metadata)).status_code == 200
    bad = ApiKey(endpoint=oauth.url, client_id="ci-bot", client_secret="rotated-away", org="").encode()
    with pytest.raises(UnauthenticatedError):
        call_api(oauth, builtin_authenticator(Config(endpoint=oauth.url, api_key=bad), oauth.metadata))


def test_file_cache_ignores_damaged_and_exposed_files(tmp_path):
    cache = FileTokenCache(tmp_path / "auth")
    cache.put("k", Token(access_token="a", expires_at=10.0))
    assert cache.get("k") == Token(access_token="a", expires_at=10.0)
    cache.path("k").chmod(0o644)
    assert cache.get("k") is None
    cache.path("k").chmod(0o600)
    cache.path("k").write_text("{not json")
    assert cache.get("k") is None
    cache.delete("k")
    cache.delete("k")
    assert cache.get("k") is None


def test_no_usable_keyring_means_the_file_cache():
    assert usable_keyring() is None  # the conftest installs keyring's "fail" backend
    assert isinstance(default_cache(), FileTokenCache)


keyring = pytest.importorskip("keyring")


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        if self.items.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class BrokenKeyring(MemoryKeyring):
    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError("locked")


def test_keyring_used_when_usable_and_reused(oauth):
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    config = api_key_config(oauth)
    first = builtin_authenticator(config, oauth.metadata)
    assert isinstance(first._cache, KeyringTokenCache)
    assert call_api(oauth, first).status_code == 200
    ((service, key),) = [k for k in backend.items if k[1] != "fingerprint-key"]
    assert service == "union" and json.loads(backend.items[service, key])["access_token"].startswith(
        "access-"
    )
    assert not (paths.cache_dir() / "auth").exists()  # nothing on disk

    second = builtin_authenticator(config, oauth.metadata)
    assert call_api(oauth, second).status_code == 200
    assert oauth.grants("client_credentials") == 1
    oauth.revoke_all()
    assert call_api(oauth, second).status_code == 200  # 401: forgotten, fetched again, stored again
    assert json.loads(backend.items[("union", key)])["access_token"] == second.token()


def test_keyring_keeps_the_fingerprint_key_and_refuses_a_wrong_secret(oauth, monkeypatch):
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    good = builtin_authenticator(secret_config(oauth, monkeypatch, "app-secret"), oauth.metadata)
    assert call_api(oauth, good).status_code == 200
    wrong = builtin_authenticator(secret_config(oauth, monkeypatch, "not-the-secret"), oauth.metadata)
    with pytest.raises(UnauthenticatedError):
        call_api(oauth, wrong)
    assert ("union", "fingerprint-key") in backend.items
    assert not any("app-secret" in v or "app-secret" in k for (_, k), v in backend.items.items())


def test_keyring_failures_fall_back_to_the_file(oauth):
    keyring.set_keyring(BrokenKeyring())
    config = api_key_config(oauth)
    assert call_api(oauth, builtin_authenticator(config, oauth.metadata)).status_code == 200
    assert list((paths.cache_dir() / "auth").glob("*.json"))
    assert call_api(oauth, builtin_authenticator(config, oauth.metadata)).status_code == 200
    assert oauth.grants("client_credentials") == 1
