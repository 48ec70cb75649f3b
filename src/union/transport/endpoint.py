"""Turn an endpoint as users write it into the base URL the Connect client posts to.

Flyte and Union configs carry endpoints in several spellings (``dns:///host``, ``host:port``,
``https://host``...), and ``insecure: true`` historically means plaintext. One function normalises them
so every caller agrees on the URL, and a typo fails here with the accepted forms rather than as an
obscure connection error later.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from union.errors import ConfigError
from union.redact import redact_url

if TYPE_CHECKING:
    from union.config import Config

FORMS = "dns:///host, https://host, http://host:port or host:port"
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)(:\d{1,5})?$")


def _fail(endpoint: str, problem: str) -> ConfigError:
    shown = redact_url(endpoint) if "@" in endpoint or "?" in endpoint else endpoint
    return ConfigError(f"endpoint {shown!r}: {problem}. Write it as {FORMS}.")


def _check_host(endpoint: str, hostport: str) -> str:
    if not _HOST.match(hostport):
        raise _fail(endpoint, f"{hostport!r} is not a host or host:port")
    if ":" in hostport.rsplit("]", 1)[-1]:
        port = int(hostport.rsplit(":", 1)[1])
        if not 0 < port < 65536:
            raise _fail(endpoint, f"port {port} is out of range")
    return hostport


def tls_verify(config: Config) -> bool | str | None:
    """What ``requests``' ``verify`` should be for the control plane and its signed URLs: ``False`` when
    ``insecure_skip_verify`` says so, the (checked) ``ca_cert_path``, or None for the default CA bundle.

    One answer for the Connect client, the token endpoints and the signed-URL PUTs, so a CA bundle
    written as ``~/ca.pem`` means the same file to all three."""
    if config.insecure_skip_verify:
        return False
    if config.ca_cert_path:
        from pathlib import Path

        path = Path(config.ca_cert_path).expanduser()
        if not path.exists():
            raise ConfigError(
                f"ca_cert_path {config.ca_cert_path!r} ({config.source_of('ca_cert_path')}) does not "
                "exist: point it at a PEM bundle of the CA that signed the control plane's certificate."
            )
        return str(path)
    return None


def base_url(config: Config | str, *, insecure: bool | None = None) -> str:
    """The ``scheme://host[:port][/prefix]`` (no trailing slash) that Connect paths are appended to.

    ``dns:///host`` (gRPC naming, also ``dns://resolver/host``) and bare ``host[:port]`` become https,
    or http when ``insecure`` is set; ``http://`` and ``https://`` URLs are kept as written, including a
    path prefix for servers mounted below the root; ``grpc://``/``grpcs://`` map to http/https.
    """
    if isinstance(config, str):
        endpoint, plaintext = config, bool(insecure)
    else:
        if config.endpoint is None:
            raise ConfigError(
                "no endpoint is configured, so there is no control plane to connect to. "
                f"Set `endpoint` ({FORMS}) in the config file or UNION_ENDPOINT."
            )
        endpoint = config.endpoint
        plaintext = config.insecure if insecure is None else insecure
    text = endpoint.strip()
    if not text:
        raise _fail(endpoint, "it is empty")
    scheme_default = "http" if plaintext else "https"
    lowered = text.lower()
    if lowered.startswith("dns:"):
        rest = text[4:]
        if rest.startswith("//"):
            # dns://[resolver]/host[:port]: the authority names a DNS server, the target follows it.
            rest = rest[2:].split("/", 1)[1] if "/" in rest[2:] else ""
        hostport = rest.strip("/")
        return f"{scheme_default}://{_check_host(endpoint, hostport)}"
    if "://" in text:
        scheme, _, remainder = text.partition("://")
        scheme = scheme.lower()
        mapped = {"http": "http", "https": "https", "grpc": "http", "grpcs": "https"}.get(scheme)
        if mapped is None:
            raise _fail(endpoint, f"the scheme {scheme!r} is not supported")
        hostport, slash, path = remainder.partition("/")
        if "@" in hostport or "?" in remainder or "#" in remainder:
            raise _fail(endpoint, "credentials, queries and fragments do not belong in an endpoint")
        prefix = ("/" + path).rstrip("/") if slash else ""
        return f"{mapped}://{_check_host(endpoint, hostport)}{prefix}"
    hostport, slash, path = text.partition("/")
    prefix = ("/" + path).rstrip("/") if slash else ""
    return f"{scheme_default}://{_check_host(endpoint, hostport)}{prefix}"
