"""Settings discovery: explicit arguments, then ``UNION_*`` variables, then a config file, then defaults.

The config file is the first of: the ``config_file`` argument (``--config``), ``$UNION_CONFIG``,
``./.union/config.yaml``, ``~/.union/config.yaml``. Defaults come from the ``union_config_defaults`` hook,
so a deployment variant can supply its own.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from union.config import paths
from union.config.files import load_file
from union.config.settings import FIELDS, Config, suggest, validate
from union.errors import ConfigError

ENV_VARS = {
    "endpoint": "UNION_ENDPOINT",
    "insecure": "UNION_INSECURE",
    "auth_type": "UNION_AUTH_TYPE",
    "client_id": "UNION_CLIENT_ID",
    "client_secret_env_var": "UNION_CLIENT_SECRET_ENV_VAR",
    "client_secret_location": "UNION_CLIENT_SECRET_LOCATION",
    "api_key": "UNION_API_KEY",
    "token": "UNION_TOKEN",
    "command": "UNION_AUTH_COMMAND",
    "scopes": "UNION_SCOPES",
    "authorization_header": "UNION_AUTHORIZATION_HEADER",
    "ca_cert_path": "UNION_CA_CERT",
    "insecure_skip_verify": "UNION_INSECURE_SKIP_VERIFY",
    "org": "UNION_ORG",
    "project": "UNION_PROJECT",
    "domain": "UNION_DOMAIN",
    "variant": "UNION_VARIANT",
    "raw_data_prefix": "UNION_RAW_DATA_PREFIX",
    "storage_options": "UNION_STORAGE_OPTIONS",
    "upload_concurrency": "UNION_UPLOAD_CONCURRENCY",
}
CONFIG_ENV = "UNION_CONFIG"

_lock = threading.Lock()
_current: Config | None = None


def _from_env() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field_name, var in ENV_VARS.items():
        raw = os.environ.get(var)
        if raw is None or raw == "":
            continue
        value: Any = raw
        if field_name == "storage_options":
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"${var}: not valid JSON ({exc.msg}). Set it to a JSON object, "
                    'for example {"anon": false}.'
                ) from exc
        values[field_name] = validate(field_name, value, f"${var}")
    return values


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file that applies, or None; an explicitly named file must exist."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    for candidate in (paths.project_config_file(), paths.user_config_file()):
        if candidate.is_file():
            return candidate
    return None


def resolve(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Config:
    """Build a Config from every source; ``overrides`` are explicit arguments (None means unset)."""
    unknown = [name for name in overrides if name not in FIELDS]
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r}.{suggest(unknown[0], FIELDS)} "
            f"Known settings: {', '.join(FIELDS)}."
        )
    explicit = {k: validate(k, v, f"argument {k}") for k, v in overrides.items() if v is not None}
    env = _from_env()
    file_path = find_config_file(config_file)
    from_file = load_file(file_path) if file_path is not None else {}

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer, label in ((explicit, "argument"), (env, "environment"), (from_file, str(file_path))):
        for key, value in layer.items():
            if key not in values:
                values[key] = value
                sources[key] = label
    if file_path is not None:
        values["config_file"] = str(file_path)

    from union.plugins import hook

    partial = Config(**values, sources=sources)
    partial = _apply_variant(partial, values, sources, file_path)
    for defaults in hook().union_config_defaults(config=partial):
        for key, value in (defaults or {}).items():
            if key not in FIELDS:
                raise ConfigError(f"a plugin's union_config_defaults returned unknown setting {key!r}.")
            if values.get(key) is None:
                values[key] = validate(key, value, f"defaults for {key}")
                sources.setdefault(key, "defaults")
    config = Config(**values, sources=sources)
    if config.variant is not None:
        from union.plugins.variants import check_endpoint, get_variant

        check_endpoint(get_variant(config.variant), config)
    return config


def _apply_variant(
    partial: Config, values: dict[str, Any], sources: dict[str, str], file_path: Path | None
) -> Config:
    """Select the deployment variant and add its layers: its variables, its config file, its defaults.

    Precedence below the user's own sources: the variant's environment variables (``FLYTE_*``), then its
    config file (read only when no Union config file was found), then its defaults.
    """
    from union.plugins.variants import (
        EMBEDDED,
        check_auth,
        merge_layer,
        select_variant,
        variant_config_file,
        variant_env,
    )

    variant = select_variant(partial)
    if variant is None:
        return partial
    layers: list[tuple[dict[str, Any], str]] = [(variant_env(variant), f"{variant.name} environment")]
    extra_file = variant_config_file(variant) if file_path is None else None
    if extra_file is not None:
        layers.append((load_file(extra_file), str(extra_file)))
        values["config_file"] = str(extra_file)
    if (
        variant.name != EMBEDDED
    ):  # the embedded default's defaults are the built-in hook's, which plugins override
        defaults = variant.defaults.items()
        layers.append(
            ({k: validate(k, v, f"variant {variant.name} default {k}") for k, v in defaults}, "defaults")
        )
    for layer, label in layers:
        for key in merge_layer(values, layer):
            sources[key] = label
    if values.get("variant") is None and partial.endpoint is not None:
        values["variant"] = variant.name
        sources["variant"] = f"endpoint {partial.endpoint}"
    config = Config(**values, sources=sources)
    check_auth(variant, config)
    return config


def init(config_file: str | os.PathLike[str] | None = None, **settings: Any) -> Config:
    """Set the process-wide configuration. Arguments win over ``UNION_*`` variables and config files."""
    global _current
    config = resolve(config_file, **settings)
    with _lock:
        _current = config
    return config


def current() -> Config:
    """The process-wide configuration, discovered on first use when ``init`` was never called."""
    global _current
    if _current is None:
        config = resolve()
        with _lock:
            if _current is None:
                _current = config
    assert _current is not None
    return _current


def reset() -> None:
    """Forget the process-wide configuration (the next use discovers it again)."""
    global _current
    with _lock:
        _current = None


__all__ = ["Config", "current", "find_config_file", "init", "reset", "resolve"]
