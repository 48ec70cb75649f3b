"""Deployment variants: the union_variants hook, selection, layering of a variant's sources, auth checks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from plugin_dists import install_plugin
from union.config import resolve
from union.errors import ConfigError
from union.plugins import reset
from union.plugins.variants import (
    EMBEDDED,
    Variant,
    endpoint_host,
    install_command,
    installed_variants,
    select_variant,
)

ACME = """
from union.plugins import hookimpl
from union.plugins.variants import Variant

@hookimpl
def union_variants():
    return [Variant(name="acme", description="Acme cloud", extra="acme",
                    endpoints=("*.acme.example",), defaults={"project": "acme-proj", "domain": "prod"},
                    auth_kinds=("ApiKey", "DeviceFlow"), storage="signed",
                    env={"ACME_URL": "endpoint"}, config_files=("$ACME_CONFIG", "~/.acme/config.yaml"))]

@hookimpl
def union_config_defaults(config):
    if config.variant != "acme":
        return None
    from union.plugins.variants import endpoint_host

    return {"org": endpoint_host(config.endpoint)[0].split(".")[0]} if config.endpoint else None
"""

RIVAL = """
from union.plugins import hookimpl
from union.plugins.variants import Variant

@hookimpl
def union_variants():
    return [Variant(name="rival", description="claims Acme hosts too", endpoints=("*.acme.example",))]
"""


@pytest.fixture(autouse=True)
def no_repo_plugins(isolated_user, monkeypatch):
    """These tests install their own variants; the repository's four (when installed) stay out of them."""
    monkeypatch.setenv("UNION_DISABLE_PLUGINS", "flyte,byoc,byok,serverless")
    reset()


@pytest.fixture
def site(tmp_path, monkeypatch):
    path = tmp_path / "site"
    yield path
    for mod in [m for m in sys.modules if m.startswith("variant_")]:
        del sys.modules[mod]


@pytest.fixture
def acme(site, monkeypatch):
    install_plugin(site, monkeypatch, "variant_acme", ACME)
    reset()


def test_union_variants_builtin_declares_the_embedded_default():
    variants = installed_variants()
    assert [v.name for v in variants] == [EMBEDDED]
    assert variants[0].plugin == "union.builtin"
    assert select_variant(resolve()).name == EMBEDDED
    assert resolve().variant is None  # nothing configured: nothing recorded


def test_installing_a_variant_plugin_changes_nothing_without_configuration(acme):
    config = resolve()
    assert (config.project, config.domain, config.endpoint, config.variant, config.org) == (
        "default",
        "development",
        None,
        None,
        None,
    )
    assert select_variant(config).name == EMBEDDED


def test_inferred_from_the_endpoint_with_its_defaults_and_scoped_hook_defaults(acme):
    config = resolve(endpoint="dns:///tenant.acme.example")
    assert config.variant == "acme"
    assert config.source_of("variant") == "endpoint dns:///tenant.acme.example"
    assert (config.project, config.domain, config.org) == ("acme-proj", "prod", "tenant")
    # The user's own settings still win over the variant's defaults.
    assert resolve(endpoint="dns:///tenant.acme.example", project="mine").project == "mine"


def test_an_unclaimed_endpoint_selects_no_variant(acme):
    config = resolve(endpoint="https://elsewhere.example.com")
    assert config.variant is None and select_variant(config) is None
    assert config.project == "default"


@pytest.mark.parametrize("how", ["argument", "union.init", "env", "file", "UNION_CONFIG"])
def test_chosen_by_name_from_every_source(acme, monkeypatch, tmp_path, how):
    import union

    kwargs = {"endpoint": "localhost:8080"}  # a name beats the endpoint patterns
    if how in ("argument", "union.init"):
        kwargs["variant"] = "acme"
    elif how == "env":
        monkeypatch.setenv("UNION_VARIANT", "acme")
    else:
        path = tmp_path / "c.yaml"
        path.write_text("variant: acme\n")
        if how == "file":
            kwargs["config_file"] = str(path)
        else:
            monkeypatch.setenv("UNION_CONFIG", str(path))
    config = union.init(**kwargs) if how == "union.init" else resolve(**kwargs)
    assert config.variant == "acme" and config.project == "acme-proj"
    assert config.source_of("variant") != "defaults"


def test_a_variant_whose_plugin_is_missing_names_the_extra(monkeypatch):
    import importlib.metadata

    # Where union-byoc is installed (tox), hide its entry point: this is about a machine without it.
    real = importlib.metadata.entry_points

    def without_byoc(**kwargs):
        return [ep for ep in real(**kwargs) if ep.name != "byoc"]

    monkeypatch.setattr(importlib.metadata, "entry_points", without_byoc)
    monkeypatch.setenv("UNION_DISABLE_PLUGINS", "flyte,byok,serverless")  # naming byoc would be refused
    with pytest.raises(ConfigError, match=r"variant 'byoc' is not installed") as info:
        resolve(variant="byoc")
    # The extra, installed from where union runs: 'union[byoc]' from PyPI would be another project.
    message = str(info.value)
    assert install_command("byoc") in message
    assert "'union[" not in message
    with pytest.raises(ConfigError, match=r"unknown variant 'byok2'. Did you mean 'byok'\?"):
        resolve(variant="byok2")


def _union_at(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Make union.plugins.variants believe it runs from ``root``/src/union/plugins/variants.py."""
    import union.plugins.variants as variants_module

    module = root / "src" / "union" / "plugins" / "variants.py"
    monkeypatch.setattr(variants_module, "__file__", str(module))


def test_install_command_names_the_checkout_union_runs_from(tmp_path, monkeypatch):
    checkout = tmp_path / "checkout"
    (checkout / "plugins" / "byoc").mkdir(parents=True)
    (checkout / "plugins" / "byoc" / "pyproject.toml").write_text("[project]\nname = 'union-byoc'\n")
    _union_at(monkeypatch, checkout)
    assert install_command("byoc") == f"pip install -e '{checkout.resolve()}[byoc]'"


def test_install_command_outside_a_checkout_says_to_use_one(tmp_path, monkeypatch):
    _union_at(monkeypatch, tmp_path / "site-packages-like")  # an installed wheel: no plugins/ beside it
    assert install_command("byoc") == "pip install -e '.[byoc]' in a checkout of union's repository"


def test_two_plugins_claiming_one_endpoint_name_both(acme, site, monkeypatch):
    install_plugin(site, monkeypatch, "variant_rival", RIVAL)
    reset()
    with pytest.raises(
        ConfigError, match=r"'acme' \(plugin 'variant_acme'\) and 'rival' \(plugin 'variant_rival'\)"
    ):
        resolve(endpoint="dns:///x.acme.example")
    # Naming one settles it.
    assert resolve(endpoint="dns:///x.acme.example", variant="rival").variant == "rival"


def test_the_variants_env_and_config_file_sit_below_the_users_own(acme, monkeypatch, tmp_path):
    monkeypatch.setenv("ACME_URL", "dns:///from-env.acme.example")
    config = resolve(variant="acme")
    assert config.endpoint == "dns:///from-env.acme.example"
    assert config.source_of("endpoint") == "acme environment"
    monkeypatch.setenv("UNION_ENDPOINT", "dns:///from-union.acme.example")
    assert resolve(variant="acme").endpoint == "dns:///from-union.acme.example"
    monkeypatch.delenv("UNION_ENDPOINT")
    monkeypatch.delenv("ACME_URL")
    home_file = tmp_path / "home-acme.yaml"
    home_file.write_text("admin:\n  endpoint: dns:///from-file.acme.example\ntask:\n  project: filed\n")
    monkeypatch.setenv("ACME_CONFIG", str(home_file))
    config = resolve(variant="acme")
    assert (config.endpoint, config.project, config.config_file) == (
        "dns:///from-file.acme.example",
        "filed",
        str(home_file),
    )
    monkeypatch.setenv("ACME_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match=r"\$ACME_CONFIG names .*missing.yaml.*not a file"):
        resolve(variant="acme")


def test_an_auth_kind_the_variant_refuses_is_a_config_error(acme):
    at = "dns:///t.acme.example"
    assert resolve(endpoint=at, auth_type="DeviceFlow").auth_type == "DeviceFlow"
    with pytest.raises(
        ConfigError, match=r"auth kind 'Pkce' .*acme variant, which accepts ApiKey, DeviceFlow"
    ):
        resolve(endpoint=at, auth_type="Pkce")
    with pytest.raises(ConfigError, match=r"auth kind 'Token'") as info:
        resolve(endpoint=at, token="t0k3n-secret")
    assert "t0k3n-secret" not in str(info.value)


def test_a_remote_variant_without_an_endpoint_is_refused(acme):
    with pytest.raises(ConfigError, match=r"acme variant is selected \(argument\) but no endpoint"):
        resolve(variant="acme")


def test_a_bad_storage_mode_or_return_value_is_refused(site, monkeypatch):
    with pytest.raises(ConfigError, match="storage mode 'cloud'"):
        Variant(name="x", description="x", storage="cloud")  # type: ignore[arg-type]
    install_plugin(
        site,
        monkeypatch,
        "variant_bad",
        "from union.plugins import hookimpl\n\n@hookimpl\ndef union_variants():\n    return ['byoc']\n",
    )
    reset()
    from union.errors import PluginError

    with pytest.raises(PluginError, match="plugin 'variant_bad': union_variants returned str"):
        installed_variants()


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("dns:///acme.hosted.unionai.cloud", ("acme.hosted.unionai.cloud", "acme.hosted.unionai.cloud")),
        ("https://Host.Example:8443/api", ("host.example", "host.example:8443")),
        ("localhost:30080", ("localhost", "localhost:30080")),
        ("http://[::1]:8080", ("[::1]", "[::1]:8080")),
    ],
)
def test_endpoint_host(endpoint, expected):
    assert endpoint_host(endpoint) == expected


def test_cli_plugins_lists_variants(acme, capsys):
    import json

    from union.cli.main import main

    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "acme" in out and "embedded" in out and "*.acme.example" in out
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert [v["name"] for v in rows["union.builtin"]["variants"]] == ["embedded"]
    variants = {v["name"]: v for v in rows["variant_acme"]["variants"]}
    assert variants["acme"]["storage"] == "signed"
    assert variants["acme"]["auth"] == "ApiKey, DeviceFlow"
    assert variants["acme"]["transport"] == "Connect"
    assert rows["union.builtin"]["variants"][0]["transport"] == "embedded engine"
    # The table shows what each variant provides: transport, auth, storage.
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out.splitlines()
    header = next(line for line in table if line.startswith("VARIANT"))
    assert header.split()[:7] == [
        "VARIANT",
        "PLUGIN",
        "ENDPOINTS",
        "TRANSPORT",
        "AUTH",
        "STORAGE",
        "DEFAULTS",
    ]
    acme_row = next(line for line in table if line.startswith("acme "))
    assert "Connect" in acme_row and "ApiKey, DeviceFlow" in acme_row and "signed" in acme_row


@pytest.mark.skipif(
    "TOX_ENV_NAME" not in os.environ, reason="tox installs the four plugins; a dev venv may not"
)
def test_tox_installs_the_four_variant_plugins(monkeypatch):
    import importlib.metadata

    monkeypatch.delenv("UNION_DISABLE_PLUGINS")
    reset()
    for name in ("flyte", "byoc", "byok", "serverless"):
        assert importlib.metadata.distribution(f"union-{name}").version
    assert {"flyte", "byoc", "byok", "serverless"} <= {v.name for v in installed_variants()}


def test_a_switched_off_variant_plugin_says_so_not_install_it(site, monkeypatch):
    install_plugin(
        site,
        monkeypatch,
        "variant_beta",
        "from union.plugins import hookimpl\nfrom union.plugins.variants import Variant\n\n"
        "@hookimpl\ndef union_variants():\n    return [Variant(name='variant_beta', description='b')]\n",
    )
    monkeypatch.setenv("UNION_DISABLE_PLUGINS", "variant_beta")
    reset()
    with pytest.raises(
        ConfigError, match=r"'variant_beta' is installed but .*switched off by UNION_DISABLE_PLUGINS"
    ):
        resolve(variant="variant_beta", endpoint="h:1")
    monkeypatch.delenv("UNION_DISABLE_PLUGINS")
    monkeypatch.setenv("UNION_PLUGINS", "flyte")
    reset()
    with pytest.raises(ConfigError, match="switched off by UNION_PLUGINS"):
        resolve(variant="variant_beta", endpoint="h:1")
    monkeypatch.delenv("UNION_PLUGINS")
    reset()
    assert resolve(variant="variant_beta", endpoint="h:1").variant == "variant_beta"


def test_a_matcher_claims_what_globs_cannot(site, monkeypatch):
    install_plugin(
        site,
        monkeypatch,
        "variant_port",
        "from union.plugins import hookimpl\nfrom union.plugins.variants import Variant\n\n"
        "@hookimpl\ndef union_variants():\n"
        "    return [Variant(name='port', description='p', matcher=lambda e: e.endswith(':4443'))]\n",
    )
    reset()
    assert resolve(endpoint="anything.example:4443").variant == "port"
    assert resolve(endpoint="anything.example:443").variant is None


def test_one_variant_name_declared_by_two_plugins_names_both(acme, site, monkeypatch):
    install_plugin(site, monkeypatch, "variant_copy", RIVAL.replace('name="rival"', 'name="acme"'))
    reset()
    with pytest.raises(
        ConfigError, match=r"'acme' is declared by two plugins: 'variant_\w+' and 'variant_\w+'"
    ):
        installed_variants()
