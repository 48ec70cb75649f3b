from __future__ import annotations

from pathlib import Path

import pytest

import union
from union.config import current, resolve
from union.errors import ConfigError

FLYTE_CONFIG = """
admin:
  endpoint: dns:///acme.hosted.unionai.cloud
  insecure: false
  authType: Pkce
  clientId: my-client
  clientSecretEnvVar: MY_SECRET
  scopes: [all]
logger:
  level: 4
task:
  org: acme
  project: flytesnacks
  domain: development
storage:
  raw_data_prefix: s3://bucket/data
  options:
    anon: false
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_reads_the_keys_flyte_and_union_users_already_have(tmp_path):
    cfg = resolve(write(tmp_path / "c.yaml", FLYTE_CONFIG))
    assert cfg.endpoint == "dns:///acme.hosted.unionai.cloud"
    assert cfg.insecure is False
    assert cfg.auth_type == "Pkce"
    assert cfg.client_id == "my-client"
    assert cfg.client_secret_env_var == "MY_SECRET"
    assert (cfg.org, cfg.project, cfg.domain) == ("acme", "flytesnacks", "development")
    assert cfg.raw_data_prefix == "s3://bucket/data"
    assert dict(cfg.storage_options) == {"anon": False}
    assert cfg.source_of("project").endswith("c.yaml")


def test_precedence_arguments_then_env_then_file_then_defaults(tmp_path, monkeypatch):
    path = write(tmp_path / "c.yaml", "task:\n  project: from-file\n  domain: file-domain\n")
    monkeypatch.setenv("UNION_CONFIG", str(path))
    monkeypatch.setenv("UNION_PROJECT", "from-env")
    monkeypatch.setenv("UNION_DOMAIN", "env-domain")
    cfg = resolve(project="from-arg")
    assert cfg.project == "from-arg"
    assert cfg.domain == "env-domain"
    monkeypatch.delenv("UNION_DOMAIN")
    assert resolve().domain == "file-domain"
    monkeypatch.delenv("UNION_CONFIG")
    monkeypatch.delenv("UNION_PROJECT")
    defaults = resolve()
    assert (defaults.project, defaults.domain) == ("default", "development")
    assert defaults.source_of("project") == "defaults"
    assert defaults.raw_data_prefix is not None and defaults.raw_data_prefix.startswith("file://")


def test_config_file_discovery_order(isolated_user, tmp_path, monkeypatch):
    write(isolated_user / ".union" / "config.yaml", "task:\n  project: home\n")
    assert resolve().project == "home"
    write(Path.cwd() / ".union" / "config.yaml", "task:\n  project: cwd\n")
    assert resolve().project == "cwd"
    monkeypatch.setenv("UNION_CONFIG", str(write(tmp_path / "env.yaml", "task:\n  project: envfile\n")))
    assert resolve().project == "envfile"
    assert resolve(write(tmp_path / "arg.yaml", "task:\n  project: argfile\n")).project == "argfile"


def test_init_sets_the_process_configuration():
    cfg = union.init(project="p1", domain="d1", upload_concurrency=3)
    assert current() is cfg
    assert (cfg.project, cfg.domain, cfg.upload_concurrency) == ("p1", "d1", 3)


def test_flyte_storage_connection_becomes_fsspec_options(tmp_path):
    cfg = resolve(
        write(
            tmp_path / "c.yaml",
            """
storage:
  type: minio
  container: my-bucket
  connection:
    endpoint: http://localhost:30002
    access-key: minio
    secret-key: miniostorage
    region: us-east-1
""",
        )
    )
    assert cfg.raw_data_prefix == "s3://my-bucket/data"
    assert cfg.storage_options == {
        "client_kwargs": {"endpoint_url": "http://localhost:30002", "region_name": "us-east-1"},
        "key": "minio",
        "secret": "miniostorage",
    }
    assert "miniostorage" not in repr(cfg)


def test_env_storage_options_json(monkeypatch):
    monkeypatch.setenv("UNION_STORAGE_OPTIONS", '{"anon": true}')
    assert resolve().storage_options == {"anon": True}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("admin: [oops", "not valid YAML at line 1"),
        ("- a\n- b\n", "expected a mapping of sections"),
        ("admin: 3\n", "section 'admin' must be a mapping"),
        ("admin:\n  endpiont: x\n", "unknown key admin.endpiont. Did you mean 'endpoint'?"),
        ("varient: byoc\n", "unknown top-level key 'varient'. Did you mean 'variant'?"),
        ("admn:\n  endpoint: x\n", "unknown top-level key 'admn'. Did you mean 'admin'?"),
        ("whatever: 1\n", "unknown top-level key 'whatever'. Known here: variant, admin"),
        ("admin:\n  insecure: maybe\n", "admin.insecure: 'maybe' is not a boolean"),
        ("admin:\n  authType: Magic\n", "unknown auth type 'Magic'"),
        ("admin:\n  endpoint: 'has spaces here'\n", "is not an endpoint"),
        ("task:\n  project: 'bad name!'\n", "task.project: 'bad name!' is not a valid project name"),
        ("storage:\n  options: [1, 2]\n", "storage.options: expected a mapping"),
        ("storage:\n  upload_concurrency: -4\n", "is not a whole number from 1 to 1024"),
        ("storage:\n  connection: nope\n", "storage.connection must be a mapping"),
    ],
)
def test_bad_config_file_names_the_file_key_and_fix(tmp_path, text, fragment):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as info:
        resolve(path)
    message = str(info.value)
    assert str(path) in message
    assert fragment in message


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        resolve(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("UNION_INSECURE", "perhaps", "$UNION_INSECURE: 'perhaps' is not a boolean"),
        ("UNION_STORAGE_OPTIONS", "{not json", "$UNION_STORAGE_OPTIONS: not valid JSON"),
        ("UNION_UPLOAD_CONCURRENCY", "many", "$UNION_UPLOAD_CONCURRENCY: 'many' is not a whole number"),
    ],
)
def test_bad_environment_values_name_the_variable(monkeypatch, var, value, fragment):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=fragment.replace("$", r"\$").replace("{", r"\{")):
        resolve()


def test_unknown_argument_suggests_the_right_one():
    with pytest.raises(ConfigError, match="Did you mean 'project'"):
        resolve(projet="x")


def test_repr_hides_secret_storage_options():
    cfg = resolve(storage_options={"secret": "s3cr3t-value", "account_key": "k3y", "anon": False})
    text = repr(cfg)
    assert "s3cr3t-value" not in text and "k3y" not in text
    assert "anon" in text


def test_other_tools_sections_are_left_alone(tmp_path):
    text = "console:\n  endpoint: x\nimages:\n  default: y\nlogger:\n  level: 4\nvariant: embedded\n"
    assert resolve(write(tmp_path / "c.yaml", text)).variant == "embedded"
