"""union.testing's contract suite run by the core itself against the embedded default, and checks of
``union.testing.serve`` (auth, API keys). The contract over a real ``union serve`` runs in the plugins' suites
(plugins/*/tests), each against its own variant."""

from __future__ import annotations

import pytest

from union.config import paths
from union.testing import Deployment, VariantContract, serve


class TestEmbeddedDefault(VariantContract):
    @pytest.fixture
    def deployment(self) -> Deployment:
        return Deployment(
            variant="embedded",
            transport="EmbeddedTransport",
            storage="local",
            data_root=(paths.data_dir() / "store").as_uri(),
        )


def test_the_suite_refuses_a_subclass_without_a_deployment():
    with pytest.raises(NotImplementedError, match="provide a `deployment` fixture"):
        VariantContract.deployment.__wrapped__(VariantContract())  # type: ignore[attr-defined]


def test_serve_starts_with_auth_and_mints_api_keys(tmp_path):
    import requests

    with serve(tmp_path, auth=True) as server:
        key = server.api_key("k1")
        assert server.url.startswith("http://127.0.0.1:")
        assert key and server.store.startswith("file://")
        answer = requests.post(
            f"{server.url}/flyteidl2.workflow.RunService/ListRuns",
            json={},
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 401
    with serve(tmp_path / "open") as server, pytest.raises(RuntimeError, match="without auth"):
        server.api_key()
