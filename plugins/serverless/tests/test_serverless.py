"""union-serverless: its variant's decisions, and the union.testing contract against ``union serve`` set up
like Union Serverless (API-key auth, data only through signed URLs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import union_serverless

from union.config import resolve
from union.errors import ConfigError
from union.testing import Deployment, VariantContract, serve


def test_selected_by_name_with_the_fixed_endpoint_and_its_defaults():
    config = resolve(variant="serverless")
    assert config.endpoint == union_serverless.ENDPOINT == "dns:///serverless-1.us-east-2.s.union.ai"
    assert (config.project, config.domain) == ("default", "development")


def test_inferred_from_the_serverless_endpoint():
    config = resolve(endpoint="dns:///serverless-1.us-east-2.s.union.ai")
    assert config.variant == "serverless"
    assert resolve(endpoint="https://serverless-1.us-east-2.s.union.ai").variant == "serverless"


def test_api_key_only():
    with pytest.raises(ConfigError, match="accepts ApiKey"):
        resolve(variant="serverless", auth_type="DeviceFlow")


def test_a_raw_data_prefix_is_refused_not_ignored(tmp_path):
    from union.storage.destination import upload_destination

    config = resolve(variant="serverless", raw_data_prefix="s3://mine/data")
    with pytest.raises(ConfigError, match="only through the control plane's signed URLs"):
        upload_destination(config)


def test_installed_without_configuration_changes_nothing():
    config = resolve()
    assert config.variant is None and config.endpoint is None and config.project == "default"


class TestServerlessContract(VariantContract):
    @pytest.fixture
    def deployment(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
        with serve(tmp_path_factory.mktemp("serverless"), auth=True) as server:
            yield Deployment(
                variant="serverless",
                # The endpoint is the only thing a test changes: the real one is not reachable from here.
                settings=server.client_settings("serverless"),
                project="default",
                domain="development",
                auth_kind="ApiKey",
                storage="signed",
                data_root=server.store,
                server=server,
            )


def test_union_authenticator_refuses_to_call_without_an_api_key():
    from union.auth import authenticator_for

    with pytest.raises(ConfigError, match="accepts API keys only, and none is configured"):
        authenticator_for(resolve(variant="serverless"))
    # Other deployments are left to the built-in choice.
    assert authenticator_for(resolve(endpoint="http://127.0.0.1:1", insecure=True)) is None
