"""Client authentication: which credential a configuration means, and the ``requests`` auth that sends it.

``authenticator_for(config, metadata=...)`` asks the ``union_authenticator`` hook (first answer wins; the
built-in answers last) and returns a :class:`~union.auth.base.Authenticator`, or None for no auth. The
built-in picks by ``auth_type``, else infers it: ``api_key`` -> ApiKey, ``token`` -> Token, ``command`` ->
ExternalCommand, ``client_id`` plus a client secret -> ClientSecret, else none. This module is imported
by the Connect client on its first call only; ``requests`` and ``keyring`` stay out of ``import union``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from union.errors import ConfigError

if TYPE_CHECKING:
    import requests

    from union.auth.base import Authenticator, MetadataFn
    from union.auth.cache import TokenCache
    from union.config import Config

log = logging.getLogger("union.auth")

__all__ = ["authenticator_for", "builtin_authenticator", "client_secret", "infer_auth_type"]


def authenticator_for(
    config: Config, *, metadata: MetadataFn | None = None, session: requests.Session | None = None
) -> Authenticator | None:
    """The authenticator for ``config`` from the ``union_authenticator`` hook; None means send no credentials.

    ``metadata`` returns the server's (GetOAuth2MetadataResponse, GetPublicClientConfigResponse), fetched
    without credentials, and is called only if needed. ``session`` is shared for token-endpoint calls.
    """
    from union.plugins import hook

    result: Authenticator | None = hook().union_authenticator(
        config=config, metadata=metadata, session=session
    )
    return result


def infer_auth_type(config: Config) -> str:
    """``auth_type`` when set, else what the other settings imply (one of ``AUTH_TYPES``)."""
    if config.auth_type:
        return config.auth_type
    if config.api_key:
        return "ApiKey"
    if config.token:
        return "Token"
    if config.command:
        return "ExternalCommand"
    if config.client_id and (config.client_secret_env_var or config.client_secret_location):
        return "ClientSecret"
    return "None"


def _where(config: Config, key: str, env: str) -> str:
    source = config.source_of(key)
    if source == "environment":
        return f"${env}"
    if source in ("argument", "defaults"):
        return key
    return f"{key} in {source}"


def client_secret(config: Config) -> str:
    """The client secret from ``client_secret_env_var`` (a variable's name) or ``client_secret_location``."""
    if config.client_secret_env_var:
        value = os.environ.get(config.client_secret_env_var, "").strip()
        if not value:
            raise ConfigError(
                f"client_secret_env_var names ${config.client_secret_env_var}, which is unset or empty. "
                "Export the client secret in that variable."
            )
        return value
    if config.client_secret_location:
        path = Path(config.client_secret_location).expanduser()
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"client_secret_location {str(path)!r} cannot be read ({type(exc).__name__}). "
                "Point it at a file holding the client secret."
            ) from None
        if not value:
            raise ConfigError(f"client_secret_location {str(path)!r} is empty. Put the client secret in it.")
        return value
    raise ConfigError(
        "auth_type ClientSecret needs a client secret. Set client_secret_env_var (UNION_CLIENT_SECRET_ENV_VAR) "
        "to the name of a variable holding it, or client_secret_location to a file holding it."
    )


def builtin_authenticator(
    config: Config,
    metadata: MetadataFn | None = None,
    session: requests.Session | None = None,
    *,
    cache: TokenCache | None = None,
) -> Authenticator | None:
    """The built-in choice (see the module docstring). ``cache`` defaults to keyring-or-file."""
    kind = infer_auth_type(config)
    if kind == "None":
        return None
    common: dict[str, Any] = {"metadata": metadata, "session": session}
    if kind == "Token":
        from union.auth.static import StaticTokenAuthenticator

        return StaticTokenAuthenticator(config, **common)
    if kind == "ExternalCommand":
        from union.auth.command import CommandAuthenticator

        return CommandAuthenticator(config, **common)

    from union.auth.cache import default_cache

    common["cache"] = cache if cache is not None else default_cache()
    if kind == "ApiKey":
        from union.auth.apikey import decode_api_key
        from union.auth.oauth import ApiKeyAuthenticator

        if not config.api_key:
            raise ConfigError("auth_type is ApiKey but no API key is set. Set UNION_API_KEY.")
        key = decode_api_key(config.api_key, _where(config, "api_key", "UNION_API_KEY"))
        return ApiKeyAuthenticator(config, client_id=key.client_id, client_secret=key.client_secret, **common)
    if kind == "ClientSecret":
        from union.auth.oauth import ClientCredentialsAuthenticator

        if not config.client_id:
            raise ConfigError(
                "auth_type ClientSecret needs client_id. Set UNION_CLIENT_ID (or admin.clientId)."
            )
        return ClientCredentialsAuthenticator(
            config, client_id=config.client_id, client_secret=client_secret(config), **common
        )
    from union.auth.oauth import DeviceFlowAuthenticator, pkce_message

    if kind == "Pkce":
        log.info(pkce_message())
    return DeviceFlowAuthenticator(config, **common)
