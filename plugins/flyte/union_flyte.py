"""union-flyte: the ``flyte`` deployment variant, a self-hosted open-source Flyte 2 control plane.

What it decides: the endpoint is yours (often ``localhost``, often insecure); auth is none or OAuth2 (PKCE,
device flow, client secret, or an external command); uploads go straight to your bucket through fsspec
(S3-compatible stores such as MinIO with an endpoint and keys); project ``flytesnacks``, domain
``development``. It also reads what Flyte users already have: ``$FLYTECTL_CONFIG`` or
``~/.flyte/config.yaml`` (when no Union config file exists) and the ``FLYTE_*`` variables flytekit reads.
Selected by ``variant: flyte`` / ``UNION_VARIANT=flyte``, or inferred for the flytectl sandbox's
``localhost:30080``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from union.plugins import hookimpl
from union.plugins.variants import Variant, endpoint_host, variant_destination

if TYPE_CHECKING:
    from union.config import Config
    from union.storage.destination import UploadDestination
    from union.transport import Transport

NAME = "flyte"

# flytekit's variables are FLYTE_<SECTION>_<OPTION> of its config file's sections.
ENV = {
    "FLYTE_PLATFORM_URL": "endpoint",
    "FLYTE_PLATFORM_INSECURE": "insecure",
    "FLYTE_PLATFORM_INSECURE_SKIP_VERIFY": "insecure_skip_verify",
    "FLYTE_PLATFORM_CA_CERT_FILE_PATH": "ca_cert_path",
    "FLYTE_CREDENTIALS_CLIENT_ID": "client_id",
    "FLYTE_CREDENTIALS_SCOPES": "scopes",
    "FLYTE_CREDENTIALS_COMMAND": "command",
    "FLYTE_AWS_ENDPOINT": "storage_options.client_kwargs.endpoint_url",
    "FLYTE_AWS_ACCESS_KEY_ID": "storage_options.key",
    "FLYTE_AWS_SECRET_ACCESS_KEY": "storage_options.secret",
}
# flytekit's credentials.auth_mode values -> Config.auth_type.
AUTH_MODES = {
    "standard": "Pkce",
    "pkce": "Pkce",
    "basic": "ClientSecret",
    "client_credentials": "ClientSecret",
    "clientsecret": "ClientSecret",
    "device_flow": "DeviceFlow",
    "deviceflow": "DeviceFlow",
    "external_process": "ExternalCommand",
    "externalcommand": "ExternalCommand",
}
CLIENT_SECRET_VAR = "FLYTE_CREDENTIALS_CLIENT_SECRET"

VARIANT = Variant(
    name=NAME,
    description="self-hosted open-source Flyte 2: your endpoint, your bucket (direct fsspec access)",
    extra="flyte",
    endpoints=("localhost:30080", "127.0.0.1:30080"),
    defaults={"project": "flytesnacks", "domain": "development"},
    auth_kinds=("None", "Pkce", "DeviceFlow", "ClientSecret", "ExternalCommand"),
    storage="direct",
    config_files=("$FLYTECTL_CONFIG", "~/.flyte/config.yaml"),
    env=ENV,
    env_prefixes=("UNION_", "FLYTE_"),
)


@hookimpl
def union_variants() -> list[Variant]:
    return [VARIANT]


@hookimpl
def union_config_defaults(config: Config) -> dict[str, object] | None:
    """Only when ``flyte`` is selected: a local endpoint is plain HTTP, and flytekit's auth variables."""
    import os

    if config.variant != NAME:
        return None
    defaults: dict[str, Any] = {}
    if config.endpoint and endpoint_host(config.endpoint)[0] in ("localhost", "127.0.0.1", "[::1]"):
        defaults["insecure"] = True
    mode = os.environ.get("FLYTE_CREDENTIALS_AUTH_MODE", "").strip().lower()
    if mode in AUTH_MODES:
        defaults["auth_type"] = AUTH_MODES[mode]
    if os.environ.get(CLIENT_SECRET_VAR):
        defaults["client_secret_env_var"] = CLIENT_SECRET_VAR
    return defaults


@hookimpl
def union_upload_destination(config: Config, transport: Transport) -> UploadDestination | None:
    """Straight to the configured bucket; with none configured, an error naming the setting."""
    if config.variant != NAME:
        return None
    return variant_destination(VARIANT, config, transport)
