"""The settings model: one immutable ``Config`` plus the validation shared by every source."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from union.errors import ConfigError
from union.redact import REDACTED, redact_mapping

AUTH_TYPES = ("ClientSecret", "Pkce", "DeviceFlow", "ExternalCommand", "ApiKey", "Token", "None")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ENDPOINT = re.compile(r"^(dns:///|https?://)?[A-Za-z0-9.\-_\[\]:]+(/.*)?$")


@dataclass(frozen=True)
class Config:
    """Resolved settings. ``sources`` records where each one came from, for error messages."""

    endpoint: str | None = None
    insecure: bool = False
    auth_type: str | None = None
    client_id: str | None = None
    client_secret_env_var: str | None = None
    client_secret_location: str | None = None
    api_key: str | None = None
    token: str | None = None
    command: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    authorization_header: str | None = None
    ca_cert_path: str | None = None
    insecure_skip_verify: bool = False
    org: str | None = None
    project: str | None = None
    domain: str | None = None
    variant: str | None = None
    raw_data_prefix: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    upload_concurrency: int = 16
    config_file: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "sources"}
        shown["storage_options"] = redact_mapping(self.storage_options)
        for secret in SECRET_FIELDS:
            if shown[secret] is not None:
                shown[secret] = REDACTED
        body = ", ".join(f"{k}={v!r}" for k, v in shown.items() if v not in (None, {}, False))
        return f"Config({body})"

    def source_of(self, key: str) -> str:
        return self.sources.get(key, "defaults")

    def set_by_user(self, key: str) -> bool:
        """Whether ``key`` has a value the user gave (an argument, a variable or a file), not a default."""
        return getattr(self, key) is not None and self.source_of(key) != "defaults"


SECRET_FIELDS = ("api_key", "token")
FIELDS = tuple(f.name for f in dataclasses.fields(Config) if f.name != "sources")


def suggest(name: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def validate(key: str, value: Any, where: str) -> Any:
    """Coerce and check one setting; ``where`` names its source (a file and key, or a variable)."""

    def fail(problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{where}: {problem}. {fix}")

    if value is None:
        return None
    if key in ("insecure", "insecure_skip_verify"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise fail(f"{value!r} is not a boolean", "Use true or false.")
    if key == "upload_concurrency":
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if isinstance(value, bool) or number < 1 or number > 1024 or str(number) != str(value).strip():
            raise fail(
                f"{value!r} is not a whole number from 1 to 1024", "Set a positive whole number such as 16."
            )
        return number
    if key == "storage_options":
        if not isinstance(value, Mapping):
            raise fail(
                f"expected a mapping of fsspec options, got {type(value).__name__}",
                "Write it as key: value pairs (in YAML) or a JSON object (in UNION_STORAGE_OPTIONS).",
            )
        return dict(value)
    if key in ("command", "scopes"):
        if isinstance(value, str):
            import shlex

            items = shlex.split(value) if key == "command" else value.replace(",", " ").split()
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            items = list(value)
        else:
            raise fail(f"expected a list of strings, got {type(value).__name__}", "Write it as a YAML list.")
        if not items:
            raise fail("the list is empty", "Give at least one item, or remove the key.")
        return tuple(items)
    if not isinstance(value, str):
        raise fail(f"expected text, got {type(value).__name__} {value!r}", "Quote the value as a string.")
    value = value.strip()
    if key == "auth_type":
        for known in AUTH_TYPES:
            if known.lower() == value.lower():
                return known
        raise fail(
            f"unknown auth type {value!r}", f"Use one of {', '.join(AUTH_TYPES)}.{suggest(value, AUTH_TYPES)}"
        )
    if key == "endpoint":
        if not value or not _ENDPOINT.match(value):
            raise fail(
                f"{value!r} is not an endpoint",
                "Write it as dns:///host, https://host, http://host:port or host:port.",
            )
        return value
    if key in ("project", "domain", "org", "variant"):
        if not _NAME.match(value):
            raise fail(
                f"{value!r} is not a valid {key} name",
                "Use letters, digits, '-', '_' and '.', starting with a letter or digit.",
            )
        return value
    if key in ("api_key", "token", "client_secret_location", "ca_cert_path", "authorization_header"):
        if not value:
            raise fail(f"{key} is empty", "Set a value, or remove the setting.")
        return value
    if key == "raw_data_prefix":
        if not value:
            raise fail(
                "the raw-data prefix is empty", "Set a URI such as s3://bucket/prefix or a local path."
            )
        return value
    return value
