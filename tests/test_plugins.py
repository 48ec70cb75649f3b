from __future__ import annotations

import json
import sys

import pytest

from plugin_dists import install_plugin
from union.cli.main import main
from union.config import resolve
from union.errors import ConfigError, PluginError, UnknownPluginError
from union.plugins import hook, plugin_infos, reset
from union.storage.protocols import lookup

DEFAULTS_PLUGIN = """
from union.plugins import hookimpl

@hookimpl
def union_config_defaults(config):
    return {"project": "plugin-project"}
"""

PROTOCOL_PLUGIN = """
from union.plugins import hookimpl
from union.storage.protocols import StorageProtocol

@hookimpl
def union_storage_protocols():
    return [StorageProtocol(name="demo", class_path="fsspec.implementations.memory.MemoryFileSystem",
                            install_hint="pip install demo")]
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    path = tmp_path / "site"
    yield path
    for mod in [m for m in sys.modules if m.startswith(("good_", "broken_", "crashy_", "invalid_"))]:
        del sys.modules[mod]


def test_builtins_run_last_so_an_installed_plugin_overrides_them(site, monkeypatch):
    assert resolve().project == "default"
    install_plugin(site, monkeypatch, "good_defaults", DEFAULTS_PLUGIN)
    reset()
    assert resolve().project == "plugin-project"
    names = [info.name for info in plugin_infos()]
    assert names[-1] == "union.builtin"
    assert "good_defaults" in names


def test_a_plugin_adds_a_protocol(site, monkeypatch):
    install_plugin(site, monkeypatch, "good_protocol", PROTOCOL_PLUGIN)
    reset()
    assert lookup("demo").class_path.endswith("MemoryFileSystem")


def test_block_and_allow_lists(site, monkeypatch):
    install_plugin(site, monkeypatch, "good_defaults", DEFAULTS_PLUGIN)
    install_plugin(site, monkeypatch, "good_protocol", PROTOCOL_PLUGIN)
    monkeypatch.setenv("UNION_DISABLE_PLUGINS", "good_defaults")
    reset()
    names = {info.name for info in plugin_infos()}
    assert "good_defaults" not in names and "good_protocol" in names
    monkeypatch.delenv("UNION_DISABLE_PLUGINS")
    monkeypatch.setenv("UNION_PLUGINS", "good_defaults")
    reset()
    names = {info.name for info in plugin_infos()}
    assert names == {"good_defaults", "union.builtin"}


@pytest.mark.parametrize("var", ["UNION_PLUGINS", "UNION_DISABLE_PLUGINS"])
def test_a_plugin_switch_naming_no_installed_plugin_is_refused(site, monkeypatch, var):
    install_plugin(site, monkeypatch, "good_defaults", DEFAULTS_PLUGIN)
    monkeypatch.setenv(var, "good_defualts")
    reset()
    with pytest.raises(UnknownPluginError, match=rf"\${var} names 'good_defualts'") as info:
        hook()
    message = str(info.value)
    assert "Did you mean 'good_defaults'?" in message and "Installed plugins: " in message
    assert "union.builtin" in message and isinstance(info.value, ConfigError)
    monkeypatch.setenv(var, "good_defaults,union.builtin")
    reset()
    hook()


def test_a_plugin_that_fails_to_import_is_named(site, monkeypatch):
    install_plugin(site, monkeypatch, "broken_import", "import does_not_exist_anywhere\n")
    reset()
    with pytest.raises(
        PluginError, match=r"plugin 'broken_import' .*failed to import.*UNION_DISABLE_PLUGINS"
    ):
        hook()


def test_a_plugin_that_crashes_in_a_hook_is_named(site, monkeypatch):
    install_plugin(
        site,
        monkeypatch,
        "crashy_defaults",
        """
from union.plugins import hookimpl

@hookimpl
def union_config_defaults(config):
    raise RuntimeError("kaboom")
""",
    )
    reset()
    with pytest.raises(
        PluginError, match=r"plugin 'crashy_defaults' failed in hook union_config_defaults.*kaboom"
    ):
        resolve()


def test_a_plugin_implementing_an_unknown_hook_is_named(site, monkeypatch):
    install_plugin(
        site,
        monkeypatch,
        "invalid_hook",
        """
from union.plugins import hookimpl

@hookimpl
def union_no_such_hook():
    return 1
""",
    )
    reset()
    with pytest.raises(PluginError, match=r"plugin 'invalid_hook' is not a valid union plugin"):
        hook()


def test_cli_lists_plugins_versions_and_hooks(site, monkeypatch, capsys):
    install_plugin(site, monkeypatch, "good_defaults", DEFAULTS_PLUGIN, version="2.5")
    reset()
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert "good_defaults" in table and "2.5" in table and "union_config_defaults" in table
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["good_defaults"] == {
        "name": "good_defaults",
        "distribution": "good-defaults",
        "version": "2.5",
        "hooks": ["union_config_defaults"],
        "variants": [],
    }
    assert set(rows["union.builtin"]["hooks"]) == {
        "union_authenticator",
        "union_config_defaults",
        "union_storage_protocols",
        "union_transport",
        "union_upload_destination",
        "union_variants",
    }


DESTINATION_PLUGIN = """
import fsspec
from union.plugins import hookimpl
from union.storage.destination import UploadDestination
from union.storage.protocols import lookup

@hookimpl
def union_upload_destination(config):
    return UploadDestination(fs=fsspec.filesystem("memory"), root="/plugin-dest/" + config.project,
                             protocol=lookup("memory"))
"""


def test_a_plugin_supplies_the_whole_upload_destination(site, monkeypatch, tmp_path):
    import fsspec

    from union.remote import upload_file

    install_plugin(site, monkeypatch, "good_destination", DESTINATION_PLUGIN)
    reset()
    src = tmp_path / "f.txt"
    src.write_text("routed by a plugin")
    md5, uri = upload_file(src)
    assert uri == f"memory:///plugin-dest/default/{md5}/f.txt"
    assert fsspec.filesystem("memory").cat_file(f"/plugin-dest/default/{md5}/f.txt") == b"routed by a plugin"


TRANSPORT_PLUGIN = """
from union.plugins import hookimpl

class RecordingTransport:
    def __init__(self, endpoint):
        self.endpoint = endpoint

    def close(self):
        pass

@hookimpl
def union_transport(config):
    if config.endpoint == "dns:///plugin.example.com":
        return RecordingTransport(config.endpoint)
    return None
"""


def test_a_plugin_supplies_the_transport(site, monkeypatch):
    from union.transport import transport_for

    install_plugin(site, monkeypatch, "good_transport", TRANSPORT_PLUGIN)
    reset()
    found = transport_for(resolve(endpoint="dns:///plugin.example.com"))
    assert type(found).__name__ == "RecordingTransport"
    assert found.endpoint == "dns:///plugin.example.com"
    # Any other endpoint falls through to the builtin: the Connect client.
    from union.transport.connect import ConnectTransport

    assert isinstance(transport_for(resolve(endpoint="other:81")), ConnectTransport)
