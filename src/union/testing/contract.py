"""The contract every deployment variant keeps: subclass :class:`VariantContract`, provide ``deployment``.

Each test states one promise a user relies on: installing the plugin changes nothing until the variant
is selected; the configuration a deployment's users write resolves to that variant with its defaults;
``union_transport`` answers with the expected transport and auth kind; uploads travel the variant's way
(signed URLs or straight to the bucket) and land byte for byte where the deployment keeps data; runs and
tasks work over the transport.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from union.testing.deployment import Deployment
from union.testing.fixtures import isolate, reset_singletons

RUN_TIMEOUT = 120


class VariantContract:
    """Test class a variant plugin subclasses; its ``deployment`` fixture says what to run against."""

    @pytest.fixture
    def deployment(self) -> Deployment:
        raise NotImplementedError(
            "subclass VariantContract and provide a `deployment` fixture returning a union.testing.Deployment"
        )

    @pytest.fixture(autouse=True)
    def _union_isolated(
        self, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[None]:
        isolate(monkeypatch, tmp_path_factory.mktemp("home"))
        yield
        reset_singletons()

    @pytest.fixture
    def configured(self, deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
        """The deployment's environment set and ``union.init(**settings)`` called, as its users would."""
        import union

        for name, value in deployment.env.items():
            monkeypatch.setenv(name, value)
        reset_singletons()
        config = union.init(**dict(deployment.settings))
        yield config
        _close_cached_transport()
        reset_singletons()

    # -- the variant and the configuration ---------------------------------------------------------

    def test_variant_is_declared_and_listed(self, deployment: Deployment, capsys: Any) -> None:
        import json

        from union.cli.main import main
        from union.plugins.variants import STORAGE_MODES, get_variant

        variant = get_variant(deployment.variant)
        assert variant.plugin, "installed_variants tags each variant with its plugin"
        assert variant.description and variant.storage in STORAGE_MODES
        assert main(["plugins", "--json"]) == 0
        listed = {v["name"]: v for row in json.loads(capsys.readouterr().out) for v in row["variants"]}
        assert listed[deployment.variant]["plugin"] == variant.plugin
        assert listed[deployment.variant]["storage"] == variant.storage
        # What it provides: the transport its deployments are reached over, the auth kinds it accepts.
        shown = {"EmbeddedTransport": "embedded engine", "ConnectTransport": "Connect"}
        if deployment.transport in shown:
            assert listed[deployment.variant]["transport"] == shown[deployment.transport]
        assert listed[deployment.variant]["auth"] == (", ".join(variant.auth_kinds) or "any")

    def test_nothing_changes_without_configuration(self) -> None:
        from union.config import resolve
        from union.plugins.variants import EMBEDDED, select_variant

        config = resolve()
        assert config.endpoint is None and config.variant is None
        assert (config.project, config.domain) == ("default", "development")
        chosen = select_variant(config)
        assert chosen is not None and chosen.name == EMBEDDED

    def test_configuration_resolves_to_the_variant(self, configured: Any, deployment: Deployment) -> None:
        from union.plugins.variants import EMBEDDED, select_variant

        expected = None if deployment.variant == EMBEDDED else deployment.variant
        assert configured.variant == expected
        chosen = select_variant(configured)
        assert chosen is not None and chosen.name == deployment.variant
        assert (configured.project, configured.domain) == (deployment.project, deployment.domain)

    def test_its_endpoints_select_it_and_no_other_plugin_claims_them(self, deployment: Deployment) -> None:
        from union.config import resolve
        from union.plugins.variants import get_variant

        variant = get_variant(deployment.variant)
        if not variant.endpoints:
            pytest.skip(f"the {variant.name} variant is selected by name only")
        for pattern in variant.endpoints:
            host = pattern.replace("*", "sample").replace("?", "x")
            assert resolve(endpoint=f"dns:///{host}").variant == variant.name, host

    def test_transport_and_auth_kind(self, configured: Any, deployment: Deployment) -> None:
        from union.plugins.variants import effective_auth_kind
        from union.remote import _client

        transport = _client.transport(configured)
        assert type(transport).__name__ == deployment.transport
        assert effective_auth_kind(configured) == deployment.auth_kind

    def test_an_auth_kind_the_variant_refuses_is_an_error(
        self, configured: Any, deployment: Deployment
    ) -> None:
        from union.config import resolve
        from union.config.settings import AUTH_TYPES
        from union.errors import ConfigError
        from union.plugins.variants import get_variant

        variant = get_variant(deployment.variant)
        refused = [kind for kind in AUTH_TYPES if variant.auth_kinds and kind not in variant.auth_kinds]
        if not refused:
            pytest.skip(f"the {variant.name} variant accepts every auth kind")
        with pytest.raises(ConfigError, match=f"does not work with the {variant.name} variant"):
            resolve(**{**dict(deployment.settings), "auth_type": refused[0]})

    def test_the_server_checks_credentials_as_the_deployment_does(self, deployment: Deployment) -> None:
        """With auth on, a call without credentials is refused (so the passing calls used the variant's);
        with auth off it is served and the deployment sends none."""
        import requests

        server = deployment.server
        if server is None:
            pytest.skip("no union serve stands behind this deployment")
        answer = requests.post(
            f"{server.url}/flyteidl2.workflow.RunService/ListRuns",
            json={},
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        if server.auth:
            assert answer.status_code == 401, answer.text[:300]
            assert deployment.auth_kind not in (None, "None"), "auth is on: the deployment must send some"
        else:
            assert answer.status_code == 200, answer.text[:300]
            assert deployment.auth_kind in (None, "None")

    def test_credentials_stay_out_of_reprs(self, configured: Any, deployment: Deployment) -> None:
        from union.remote import _client

        secrets = [deployment.settings.get(k) for k in ("api_key", "token")]
        secrets += [v for k, v in deployment.env.items() if "CLIENT_SECRET" in k or k.endswith("API_KEY")]
        shown = repr(configured) + repr(_client.transport(configured))
        for secret in filter(None, secrets):
            assert str(secret) not in shown

    # -- data ----------------------------------------------------------------------------------------

    def test_uploads_take_the_variants_route(self, configured: Any, deployment: Deployment) -> None:
        from union.storage.destination import upload_destination
        from union.storage.signed import PROTOCOL_NAME

        dest = upload_destination(configured)
        if deployment.storage == "signed":
            assert dest.protocol.name == PROTOCOL_NAME
        else:
            assert dest.protocol.name != PROTOCOL_NAME
            if deployment.data_root:
                assert dest.uri(dest.root).startswith(deployment.data_root.rstrip("/"))

    def test_upload_file_round_trip(self, configured: Any, deployment: Deployment, tmp_path: Path) -> None:
        from union.remote import upload_file

        data = os.urandom(70_000) + b"contract"
        path = tmp_path / "model.bin"
        path.write_bytes(data)
        md5, uri = upload_file(path)
        assert md5 == hashlib.md5(data).hexdigest()
        assert uri.endswith(f"/{md5}/model.bin")
        if deployment.data_root:
            assert uri.startswith(deployment.data_root.rstrip("/") + "/"), (uri, deployment.data_root)
        assert deployment.read(uri) == data
        assert upload_file(path) == (md5, uri), "unchanged content: same location"

    def test_upload_dir_round_trip(self, configured: Any, deployment: Deployment, tmp_path: Path) -> None:
        from union.remote import upload_dir

        tree = tmp_path / "dataset"
        files = {
            "a.txt": b"alpha\n",
            "sub/b.bin": os.urandom(4096),
            "sub/deeper/c.csv": b"x,y\n1,2\n",
            "empty.txt": b"",
        }
        for rel, content in files.items():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_bytes(content)
        digest, uri = upload_dir(tree)
        assert len(digest) == 64
        if deployment.data_root:
            assert uri.startswith(deployment.data_root.rstrip("/") + "/"), (uri, deployment.data_root)
        for rel, content in files.items():
            assert deployment.read(f"{uri.rstrip('/')}/{rel}") == content, rel
        assert upload_dir(tree) == (digest, uri)

    # -- runs and tasks --------------------------------------------------------------------------------

    def test_runs_and_tasks(self, configured: Any, deployment: Deployment) -> None:
        if not deployment.runs:
            pytest.skip(deployment.runs_skip_reason or "this deployment does not run tasks")
        import union
        from union.errors import RunNotFoundError
        from union.remote import Run, Task

        task = _sample_task()
        run = union.run(task, name="contract", limit=12)
        run.wait(timeout=RUN_TIMEOUT)
        assert run.phase == "SUCCEEDED", run.error
        assert "Hello, contract!" in str(run.outputs)
        again = Run.get(name=run.name)
        assert again.phase == "SUCCEEDED" and again.task_name == task.name
        assert any(t.name == task.name for t in Task.search(limit=20))
        with pytest.raises(RunNotFoundError):
            Run.get(name="no-such-run-" + run.name)


def _sample_task() -> Any:
    """The sample task ``union demo`` runs (its own code bundle, shipped with the core)."""
    from union.cli import _remote

    sample = Path(__file__).resolve().parents[1] / "_demo" / "union_demo.py"
    return _remote.load_task(f"{sample}:hello")


def _close_cached_transport() -> None:
    """End what the test's transport started (the embedded engine's workers, a Connect session)."""
    import contextlib

    from union.remote import _client

    cached = _client._cached
    if cached is None:
        return
    transport = cached[1]
    kill_all = getattr(transport, "kill_all", None)
    if kill_all is not None:
        with contextlib.suppress(Exception):
            kill_all()
    with contextlib.suppress(Exception):
        transport.close()
