"""union-byoc: its variant's decisions, and the union.testing contract against ``union serve`` set up like a
BYOC deployment: API-key auth, and data through signed URLs (the default) or straight to the user's bucket
(Azurite, when a raw-data prefix is configured)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import union_byoc

from union.config import resolve
from union.errors import ConfigError
from union.testing import Deployment, VariantContract, serve


def test_inferred_from_a_hosted_endpoint_with_the_org_from_the_host():
    config = resolve(endpoint="dns:///acme.hosted.unionai.cloud")
    assert config.variant == "byoc" and config.source_of("variant").startswith("endpoint")
    assert (config.org, config.project, config.domain) == ("acme", "flytesnacks", "development")
    assert resolve(endpoint="dns:///acme.hosted.unionai.cloud", org="other").org == "other"


def test_an_api_key_alone_names_endpoint_and_org():
    key = base64.b64encode(b"dns:///beta.hosted.unionai.cloud:client-1:s3cret:beta").decode()
    config = resolve(variant="byoc", api_key=key)
    assert (config.endpoint, config.org) == ("dns:///beta.hosted.unionai.cloud", "beta")
    assert "s3cret" not in repr(config)


def test_union_config_names_the_hosted_endpoint(tmp_path, monkeypatch):
    path = tmp_path / "union.yaml"
    path.write_text("admin:\n  endpoint: dns:///acme.hosted.unionai.cloud\n  authType: ClientSecret\n")
    monkeypatch.setenv("UNION_CONFIG", str(path))
    config = resolve()
    assert (config.variant, config.org, config.project, config.domain) == (
        "byoc",
        "acme",
        "flytesnacks",
        "development",
    )
    assert (config.config_file, config.auth_type) == (str(path), "ClientSecret")


def test_an_api_key_that_does_not_decode_names_no_endpoint():
    with pytest.raises(ConfigError, match="no endpoint is configured"):
        resolve(variant="byoc", api_key="not-a-key")


def test_auth_kinds():
    at = "dns:///acme.hosted.unionai.cloud"
    for kind in ("ApiKey", "ClientSecret", "DeviceFlow", "Pkce"):
        assert resolve(endpoint=at, auth_type=kind).auth_type == kind
    with pytest.raises(ConfigError, match="does not work with the byoc variant"):
        resolve(endpoint=at, auth_type="None")


def test_signed_urls_by_default_direct_when_a_prefix_is_configured():
    from union.storage.destination import upload_destination
    from union.storage.signed import PROTOCOL_NAME

    at = "dns:///acme.hosted.unionai.cloud"
    assert upload_destination(resolve(endpoint=at)).protocol.name == PROTOCOL_NAME
    direct = upload_destination(resolve(endpoint=at, raw_data_prefix="memory://bucket/data"))
    assert direct.protocol.name == "memory" and direct.root.endswith("bucket/data/flytesnacks/development")


def test_installed_without_configuration_changes_nothing():
    config = resolve()
    assert config.variant is None and config.endpoint is None and config.project == "default"
    assert union_byoc.VARIANT.endpoints == ("*.hosted.unionai.cloud",)


class TestByocContract(VariantContract):
    @pytest.fixture(params=["signed", pytest.param("azurite", marks=pytest.mark.servers)])
    def deployment(
        self, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Deployment]:
        direct = request.param == "azurite"
        store = request.getfixturevalue("azurite") if direct else None
        with serve(
            tmp_path_factory.mktemp("byoc"),
            auth=True,
            store=f"{store.raw_data_prefix}/server" if store else None,
            storage_options=store.storage_options if store else None,
        ) as server:
            # The variant by name: the real endpoint (<org>.hosted.unionai.cloud) is not reachable here.
            settings = server.client_settings("byoc")
            if store is not None:
                settings.update(raw_data_prefix=server.store, storage_options=store.storage_options)
            yield Deployment(
                variant="byoc",
                settings=settings,
                project="flytesnacks",
                domain="development",
                auth_kind="ApiKey",
                storage="direct" if direct else "signed",
                data_root=server.store,
                storage_options=store.storage_options if store else {},
                server=server,
            )


def test_with_no_credentials_the_device_flow_is_the_way_in():
    at = "dns:///acme.hosted.unionai.cloud"
    assert resolve(endpoint=at).auth_type == "DeviceFlow"
    assert resolve(endpoint=at, api_key=base64.b64encode(b"x:c:s:o").decode()).auth_type is None
    assert resolve(endpoint=at, client_id="c", client_secret_env_var="S").auth_type is None
