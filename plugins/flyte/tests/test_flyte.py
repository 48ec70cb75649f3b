"""union-flyte: its variant's decisions (Flyte's config files and FLYTE_* variables), and the union.testing
contract against ``union serve`` set up like a self-hosted Flyte 2: no auth or OAuth2 client credentials,
data straight to an S3-compatible bucket (moto's S3 standing in for MinIO)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import union_flyte

from union.config import resolve
from union.errors import ConfigError
from union.testing import Deployment, VariantContract, serve

SANDBOX = """\
admin:
  endpoint: {endpoint}
  insecure: true
storage:
  type: minio
  container: {bucket}
  connection:
    endpoint: {s3}
    access-key: minio
    secret-key: miniostorage
    region: us-east-1
logger:
  level: 0
"""


def test_the_sandbox_endpoint_selects_flyte_with_its_defaults():
    config = resolve(endpoint="localhost:30080")
    assert config.variant == "flyte"
    assert (config.project, config.domain, config.insecure) == ("flytesnacks", "development", True)


def test_a_flytectl_config_file_is_read_when_no_union_config_exists(tmp_path, monkeypatch):
    path = tmp_path / "flytectl.yaml"
    path.write_text(
        SANDBOX.format(endpoint="dns:///flyte.internal:443", bucket="my-s3-bucket", s3="http://minio:9000")
    )
    monkeypatch.setenv("FLYTECTL_CONFIG", str(path))
    assert resolve().endpoint is None, "not read unless the flyte variant is selected"
    config = resolve(variant="flyte")
    assert (config.endpoint, config.config_file) == ("dns:///flyte.internal:443", str(path))
    assert config.raw_data_prefix == "s3://my-s3-bucket/data"
    assert config.storage_options["client_kwargs"]["endpoint_url"] == "http://minio:9000"
    assert config.storage_options["key"] == "minio"
    # A Union config file wins: the Flyte file is a fallback, not a second layer.
    union_file = tmp_path / "union.yaml"
    union_file.write_text("admin:\n  endpoint: dns:///union.example\n")
    assert resolve(str(union_file), variant="flyte").endpoint == "dns:///union.example"


def test_home_flyte_config(isolated_user):
    (isolated_user / ".flyte").mkdir()
    (isolated_user / ".flyte" / "config.yaml").write_text("admin:\n  endpoint: localhost:30080\n")
    assert resolve(variant="flyte").endpoint == "localhost:30080"


def test_flyte_variables(monkeypatch):
    monkeypatch.setenv("FLYTE_PLATFORM_URL", "flyte.example:8089")
    monkeypatch.setenv("FLYTE_PLATFORM_INSECURE", "True")
    monkeypatch.setenv("FLYTE_CREDENTIALS_AUTH_MODE", "basic")
    monkeypatch.setenv("FLYTE_CREDENTIALS_CLIENT_ID", "flytepropeller")
    monkeypatch.setenv("FLYTE_CREDENTIALS_CLIENT_SECRET", "hush-hush")
    monkeypatch.setenv("FLYTE_AWS_ENDPOINT", "http://minio:9000")
    monkeypatch.setenv("FLYTE_AWS_ACCESS_KEY_ID", "minio")
    monkeypatch.setenv("FLYTE_AWS_SECRET_ACCESS_KEY", "miniostorage")
    config = resolve(variant="flyte", raw_data_prefix="s3://b/data")
    assert (config.endpoint, config.insecure, config.auth_type, config.client_id) == (
        "flyte.example:8089",
        True,
        "ClientSecret",
        "flytepropeller",
    )
    assert config.client_secret_env_var == union_flyte.CLIENT_SECRET_VAR
    assert config.source_of("endpoint") == "flyte environment"
    assert dict(config.storage_options) == {
        "client_kwargs": {"endpoint_url": "http://minio:9000"},
        "key": "minio",
        "secret": "miniostorage",
    }
    assert "hush-hush" not in repr(config)
    # The user's own storage options merge over the variables', key by key.
    mine = resolve(variant="flyte", storage_options={"client_kwargs": {"region_name": "eu-west-1"}})
    assert mine.storage_options["client_kwargs"] == {
        "endpoint_url": "http://minio:9000",
        "region_name": "eu-west-1",
    }
    # Without the variant selected, FLYTE_* variables are none of union's business.
    assert resolve().endpoint is None


def test_direct_storage_needs_a_bucket_and_auth_kinds():
    from union.storage.destination import upload_destination

    with pytest.raises(ConfigError, match="uploads straight to your bucket"):
        upload_destination(resolve(variant="flyte", endpoint="localhost:30080"))
    with pytest.raises(ConfigError, match="does not work with the flyte variant"):
        resolve(endpoint="localhost:30080", auth_type="ApiKey")
    # None, or OAuth2: PKCE, device flow, client secret (and an external command).
    for kind in ("None", "Pkce", "DeviceFlow", "ClientSecret", "ExternalCommand"):
        assert resolve(endpoint="localhost:30080", auth_type=kind).auth_type == kind
    assert resolve(endpoint="localhost:30080").auth_type is None, "no auth unless configured"


class TestFlyteContract(VariantContract):
    @pytest.fixture(params=["flytectl-config", "flyte-env-oauth"])
    def deployment(
        self, request: pytest.FixtureRequest, moto_s3, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Deployment]:
        from union.auth.apikey import decode_api_key

        oauth = request.param == "flyte-env-oauth"
        prefix = f"s3://{moto_s3.bucket}/data"
        home = tmp_path_factory.mktemp("flyte")
        with serve(
            home / "serve", auth=oauth, store=prefix, storage_options=moto_s3.storage_options
        ) as server:
            env: dict[str, str] = {}
            settings: dict[str, object] = {"variant": "flyte"}
            if oauth:
                key = decode_api_key(server.api_key())
                client_id, secret = key.client_id, key.client_secret
                env = {
                    "FLYTE_PLATFORM_URL": server.url,
                    "FLYTE_PLATFORM_INSECURE": "true",
                    "FLYTE_CREDENTIALS_AUTH_MODE": "basic",
                    "FLYTE_CREDENTIALS_CLIENT_ID": client_id,
                    "FLYTE_CREDENTIALS_CLIENT_SECRET": secret,
                    "FLYTE_AWS_ENDPOINT": moto_s3.endpoint_url,
                    "FLYTE_AWS_ACCESS_KEY_ID": moto_s3.storage_options["key"],
                    "FLYTE_AWS_SECRET_ACCESS_KEY": moto_s3.storage_options["secret"],
                }
                settings["raw_data_prefix"] = prefix
            else:
                path = home / "flytectl.yaml"
                path.write_text(
                    SANDBOX.format(endpoint=server.url, bucket=moto_s3.bucket, s3=moto_s3.endpoint_url)
                )
                env = {"FLYTECTL_CONFIG": str(path)}
            yield Deployment(
                variant="flyte",
                settings=settings,
                env=env,
                project="flytesnacks",
                domain="development",
                auth_kind="ClientSecret" if oauth else None,
                storage="direct",
                data_root=prefix,
                storage_options=moto_s3.storage_options,
                server=server,
            )
