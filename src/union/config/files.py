"""Reading the ``config.yaml`` files Union and Flyte users already have.

Known keys map onto :class:`~union.config.settings.Config` fields; other sections of those files
(``logger``, ``console``, ``images``...) belong to other tools and are left alone. Any other top-level
key, and an unknown key inside a section this library reads, is an error (with a did-you-mean), so a typo
never silently falls back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from union.config.settings import suggest, validate
from union.errors import ConfigError

# section -> {yaml key -> Config field}; a None field means "known to Flyte, not used here".
_ADMIN: dict[str, str | None] = {
    "endpoint": "endpoint",
    "insecure": "insecure",
    "authType": "auth_type",
    "clientId": "client_id",
    "clientSecretEnvVar": "client_secret_env_var",
    "clientSecretLocation": "client_secret_location",
    "insecureSkipVerify": "insecure_skip_verify",
    "caCertFilePath": "ca_cert_path",
    "scopes": "scopes",
    "authorizationHeader": "authorization_header",
    "command": "command",
    **dict.fromkeys(
        [
            "maxBackoffDelay",
            "perRetryTimeout",
            "maxRetries",
            "maxMessageSizeBytes",
            "tokenRefreshWindow",
            "useAuth",
            "useAudienceFromAdmin",
            "audience",
            "authorizationServerUrl",
            "tokenUrl",
            "pkceConfig",
            "deviceFlowConfig",
            "proxyCommand",
            "defaultServiceConfig",
            "httpProxyURL",
            "maxMessageSize",
        ]
    ),
}
_TASK: dict[str, str | None] = {"org": "org", "project": "project", "domain": "domain"}
_STORAGE: dict[str, str | None] = {
    "raw_data_prefix": "raw_data_prefix",
    "rawDataPrefix": "raw_data_prefix",
    "options": "storage_options",
    "upload_concurrency": "upload_concurrency",
    # Flyte's own storage section (flytectl / flytepropeller): mapped onto fsspec options below.
    **dict.fromkeys(
        [
            "type",
            "container",
            "connection",
            "stow",
            "cache",
            "limits",
            "enable-multicontainer",
            "defaultHttpClient",
            "signedUrl",
        ]
    ),
}
_SECTIONS: dict[str, dict[str, str | None]] = {"admin": _ADMIN, "task": _TASK, "storage": _STORAGE}
_TOP_LEVEL = {"variant": "variant"}
# Top-level sections of the same files that other tools read (flytectl, flytekit, uctl, flytepropeller,
# flyteadmin): left alone. Any other top-level key is refused, so a typo such as ``varient:`` is caught.
_OTHER_TOOLS = frozenset(
    {
        "auth",
        "catalog-cache",
        "cluster_resources",
        "console",
        "database",
        "event",
        "externalEvents",
        "flyteadmin",
        "images",
        "k8s",
        "local",
        "logger",
        "notifications",
        "otel",
        "platform",
        "plugins",
        "propeller",
        "qualityOfService",
        "queues",
        "registration",
        "remoteData",
        "scheduler",
        "secrets",
        "server",
        "sharedService",
        "tasks",
        "union",
        "webhook",
    }
)


def _flyte_storage(section: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Translate Flyte's ``storage.connection`` (MinIO/S3 style) into s3fs options and a prefix."""
    out: dict[str, Any] = {}
    conn = section.get("connection")
    if isinstance(conn, Mapping):
        options: dict[str, Any] = {}
        if conn.get("endpoint"):
            options.setdefault("client_kwargs", {})["endpoint_url"] = str(conn["endpoint"])
        if conn.get("region"):
            options.setdefault("client_kwargs", {})["region_name"] = str(conn["region"])
        if conn.get("access-key"):
            options["key"] = str(conn["access-key"])
        if conn.get("secret-key"):
            options["secret"] = str(conn["secret-key"])
        if options:
            out["storage_options"] = options
    elif conn is not None:
        raise ConfigError(f"{where}: storage.connection must be a mapping. Write it as key: value pairs.")
    container, kind = section.get("container"), str(section.get("type") or "s3").lower()
    if container and "raw_data_prefix" not in section and "rawDataPrefix" not in section:
        scheme = {"s3": "s3", "minio": "s3", "gcs": "gs", "azure": "abfs", "local": "file"}.get(kind, "s3")
        out["raw_data_prefix"] = f"{scheme}://{container}/data"
    return out


def _check_top_level(data: Mapping[Any, Any], where: str) -> None:
    """Refuse a top-level key that is neither this library's nor a known section of another tool's."""
    ours = [*_TOP_LEVEL, *_SECTIONS]
    for key in data:
        if key not in ours and key not in _OTHER_TOOLS:
            raise ConfigError(
                f"{where}: unknown top-level key {key!r}.{suggest(str(key), ours)} Known here: "
                f"{', '.join(ours)} (and other tools' sections such as logger or console). "
                "Remove it or correct the spelling."
            )


def load_file(path: Path) -> dict[str, Any]:
    """Parse one config file into Config field values; every problem names the file and key."""
    import yaml

    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: config file not found. Check the path, or unset UNION_CONFIG.") from None
    except OSError as exc:
        raise ConfigError(
            f"{where}: cannot read the config file ({exc.strerror}). Check its permissions."
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(
            f"{where}: not valid YAML{at}: {getattr(exc, 'problem', exc)}. Fix the syntax."
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping of sections (admin, task, storage), "
            f"got {type(data).__name__}. See docs/configuration.md."
        )
    _check_top_level(data, where)
    values: dict[str, Any] = {}
    for key, field_name in _TOP_LEVEL.items():
        if key in data:
            values[field_name] = validate(field_name, data[key], f"{where}: {key}")
    for section_name, known in _SECTIONS.items():
        section = data.get(section_name)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise ConfigError(
                f"{where}: section {section_name!r} must be a mapping, got "
                f"{type(section).__name__}. Write it as key: value pairs."
            )
        for key, value in section.items():
            if key not in known:
                raise ConfigError(
                    f"{where}: unknown key {section_name}.{key}.{suggest(str(key), list(known))} "
                    "Remove it or correct the spelling."
                )
            target = known[key]
            if target is not None:
                values[target] = validate(target, value, f"{where}: {section_name}.{key}")
        if section_name == "storage":
            for name, value in _flyte_storage(section, where).items():
                values.setdefault(name, value)
    return values
