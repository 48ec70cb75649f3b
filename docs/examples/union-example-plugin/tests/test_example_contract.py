"""The example plugin's own tests: a few of its decisions, then the core's contract suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from union.config import resolve
from union.testing import Deployment, VariantContract, serve


class TestExampleContract(VariantContract):
    @pytest.fixture
    def deployment(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
        # A union serve with auth on stands in for the real deployment; only the endpoint differs.
        with serve(tmp_path_factory.mktemp("example"), auth=True) as server:
            yield Deployment(
                variant="example",
                settings=server.client_settings("example"),
                project="examples",
                domain="development",
                auth_kind="ApiKey",
                storage="signed",
                data_root=server.store,
                server=server,
            )

    def test_the_org_comes_from_the_host(self) -> None:
        config = resolve(endpoint="dns:///ml-team.example.internal")
        assert (config.variant, config.org, config.project) == ("example", "ml-team", "examples")
