"""union-byok: its variant's decisions, and the union.testing contract against ``union serve`` set up like a
BYOK deployment: API-key auth, data straight to the user's own object store (the GCS emulator)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import union_byok

from union.config import resolve
from union.errors import ConfigError
from union.testing import Deployment, VariantContract, serve


def test_chosen_by_name_only_so_it_never_clashes_with_byoc():
    assert union_byok.VARIANT.endpoints == ()
    at = "dns:///acme.hosted.unionai.cloud"
    assert resolve(endpoint=at).variant == "byoc"
    config = resolve(endpoint=at, variant="byok")
    assert (config.variant, config.org, config.project) == ("byok", "acme", "flytesnacks")


def test_direct_to_a_custom_endpoint_and_a_missing_prefix_names_the_setting():
    from union.storage.destination import upload_destination

    at = "dns:///acme.hosted.unionai.cloud"
    options = {"client_kwargs": {"endpoint_url": "http://minio.internal:9000"}}
    config = resolve(variant="byok", endpoint=at, raw_data_prefix="s3://own/data", storage_options=options)
    assert dict(config.storage_options) == options
    direct = upload_destination(config)
    assert direct.protocol.name == "s3" and direct.root.startswith("own/data")
    with pytest.raises(ConfigError, match=r"uploads straight to your bucket.*storage.raw_data_prefix"):
        upload_destination(resolve(variant="byok", endpoint=at))


def test_auth_kinds():
    at = "dns:///a.hosted.unionai.cloud"
    for kind in ("ApiKey", "ClientSecret", "DeviceFlow", "Pkce"):  # as byoc
        assert resolve(variant="byok", endpoint=at, auth_type=kind).auth_type == kind
    assert resolve(variant="byok", endpoint=at).auth_type == "DeviceFlow"  # no credentials: log in
    with pytest.raises(ConfigError, match="does not work with the byok variant"):
        resolve(variant="byok", endpoint="dns:///a.hosted.unionai.cloud", token="t")


class TestByokContract(VariantContract):
    @pytest.fixture
    def deployment(self, fake_gcs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
        prefix = f"{fake_gcs.raw_data_prefix}/byok"
        with serve(
            tmp_path_factory.mktemp("byok"), auth=True, store=prefix, storage_options=fake_gcs.storage_options
        ) as server:
            yield Deployment(
                variant="byok",
                settings=server.client_settings(
                    "byok", raw_data_prefix=prefix, storage_options=fake_gcs.storage_options
                ),
                project="flytesnacks",
                domain="development",
                auth_kind="ApiKey",
                storage="direct",
                data_root=prefix,
                storage_options=fake_gcs.storage_options,
                server=server,
            )


def test_a_union_config_file_selects_it_by_name(tmp_path, monkeypatch):
    path = tmp_path / "union.yaml"
    path.write_text(
        "variant: byok\nadmin:\n  endpoint: dns:///acme.hosted.unionai.cloud\n"
        "storage:\n  raw_data_prefix: s3://own/data\n"
    )
    monkeypatch.setenv("UNION_CONFIG", str(path))
    config = resolve()
    assert (config.variant, config.org, config.project, config.raw_data_prefix) == (
        "byok",
        "acme",
        "flytesnacks",
        "s3://own/data",
    )
