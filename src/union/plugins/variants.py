"""Deployment variants: which kind of deployment a configuration talks to, and what that decides.

A *variant* (the embedded default, self-hosted Flyte, Union BYOC, BYOK, serverless) fixes the defaults
(project, domain, endpoint), which auth kinds make sense, where uploaded data goes (signed URLs through the
control plane, or direct access to a bucket) and which extra config files and environment variables apply.
Plugins declare theirs with the ``union_variants`` hook; the embedded default is declared by the built-ins.

Selection, in order: ``variant`` from ``union.init(variant=...)``, ``UNION_VARIANT`` or the config file's
``variant:`` key; otherwise the installed variant whose endpoint patterns claim the configured endpoint;
with no endpoint, the embedded default. A named variant whose plugin is missing, or an endpoint claimed by
two plugins, is a :class:`~union.errors.ConfigError` naming the fix. An endpoint nobody claims selects no
variant: the core's own behaviour applies (the Connect transport, signed URLs unless a bucket is set).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from union.errors import ConfigError

if TYPE_CHECKING:
    from union.config import Config
    from union.storage.destination import UploadDestination

StorageMode = Literal["local", "signed", "direct", "signed-or-direct"]
STORAGE_MODES: tuple[str, ...] = ("local", "signed", "direct", "signed-or-direct")
EMBEDDED = "embedded"
UNION_HOSTED_SUFFIX = ".hosted.unionai.cloud"
UNION_HOSTED_AUTH_KINDS: tuple[str, ...] = ("ApiKey", "ClientSecret", "DeviceFlow", "Pkce")

# The variants this repository ships as plugins, and the core extra that installs each. A variant named
# here but not installed is reported with its install command instead of "unknown variant".
KNOWN_EXTRAS: Mapping[str, str] = {
    "flyte": "flyte",
    "byoc": "byoc",
    "byok": "byok",
    "serverless": "serverless",
}


@dataclass(frozen=True)
class Variant:
    """One kind of deployment, as declared by the plugin that supports it.

    ``endpoints`` are host patterns (shell globs such as ``*.hosted.unionai.cloud``, matched against the
    endpoint's ``host`` and ``host:port``); a variant with none is only ever selected by name.
    ``auth_kinds`` are ``Config.auth_type`` values this deployment accepts (empty: any). ``storage`` says
    where uploads go: ``signed`` (signed URLs minted by the control plane), ``direct`` (the configured
    ``raw_data_prefix``, through fsspec), ``signed-or-direct`` (direct when the user configured a prefix,
    else signed) or ``local`` (the embedded default's local store). ``config_files`` are extra config-file
    locations read (first existing) when no Union config file was found; ``$VAR`` entries name a variable
    holding a path. ``env`` maps extra environment variables (e.g. ``FLYTE_PLATFORM_URL``) to settings,
    where a dotted target (``storage_options.client_kwargs.endpoint_url``) sets one nested fsspec option;
    ``env_prefixes`` only documents which families of variables the variant reads. ``requires_endpoint``:
    selecting the variant with no endpoint at all is an error (instead of silently running locally).
    """

    name: str
    description: str
    extra: str | None = None
    endpoints: tuple[str, ...] = ()
    defaults: Mapping[str, object] = field(default_factory=dict)
    auth_kinds: tuple[str, ...] = ()
    storage: StorageMode = "signed-or-direct"
    config_files: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    env_prefixes: tuple[str, ...] = ("UNION_",)
    requires_endpoint: bool = True
    matcher: Callable[[str], bool] | None = field(default=None, compare=False)
    plugin: str = field(default="", compare=False)
    """The plugin that declared it (filled in by :func:`installed_variants`)."""

    def __post_init__(self) -> None:
        if self.storage not in STORAGE_MODES:
            raise ConfigError(
                f"variant {self.name!r}: storage mode {self.storage!r} is not one of "
                f"{', '.join(STORAGE_MODES)}. Fix the plugin's union_variants."
            )

    def claims(self, endpoint: str) -> bool:
        """Whether this variant serves ``endpoint`` (in any form users write it)."""
        if self.matcher is not None and self.matcher(endpoint):
            return True
        host, hostport = endpoint_host(endpoint)
        return any(fnmatch.fnmatch(h, pattern) for pattern in self.endpoints for h in (host, hostport))

    @property
    def install_hint(self) -> str:
        return install_command(self.extra) if self.extra else f"install the plugin for {self.name}"

    def provides(self) -> dict[str, str]:
        """What ``union plugins`` shows: transport, auth and storage in a few words."""
        return {
            "transport": "embedded engine" if self.name == EMBEDDED else "Connect",
            "auth": ", ".join(self.auth_kinds) if self.auth_kinds else "any",
            "storage": self.storage,
            "defaults": ", ".join(f"{k}={v}" for k, v in self.defaults.items()),
        }


_HOST = re.compile(r"^(?:dns:///|[a-z][a-z0-9+.-]*://)?([^/]+)")


def endpoint_host(endpoint: str) -> tuple[str, str]:
    """``(host, host:port)`` of an endpoint written as ``dns:///h``, ``https://h:p/x`` or ``h:p``."""
    match = _HOST.match(endpoint.strip().lower())
    hostport = match.group(1) if match else endpoint.lower()
    hostport = hostport.rsplit("@", 1)[-1]
    ipv6 = hostport.startswith("[")  # [::1]:8080
    host = hostport.split("]", 1)[0] + "]" if ipv6 else hostport.split(":", 1)[0]
    return host, hostport


def installed_variants() -> list[Variant]:
    """Every variant the loaded plugins declare, each tagged with its plugin's name."""
    from union.plugins import get_plugin_manager

    pm = get_plugin_manager()
    found: list[Variant] = []
    for impl in pm.hook.union_variants.get_hookimpls():
        declared: list[Any] = list(impl.function() or [])  # type: ignore[call-overload]
        for variant in declared:
            if not isinstance(variant, Variant):
                from union.errors import PluginError

                raise PluginError(
                    f"plugin {impl.plugin_name!r}: union_variants returned {type(variant).__name__}, "
                    "not a union.plugins.variants.Variant. Fix the plugin."
                )
            found.append(_tagged(variant, impl.plugin_name))
    seen: dict[str, Variant] = {}
    for variant in found:
        first = seen.setdefault(variant.name, variant)
        if first is not variant:
            raise ConfigError(
                f"variant {variant.name!r} is declared by two plugins: {first.plugin!r} and "
                f"{variant.plugin!r}. Uninstall one, or switch it off with UNION_DISABLE_PLUGINS."
            )
    return found


def _tagged(variant: Variant, plugin: str) -> Variant:
    import dataclasses

    return dataclasses.replace(variant, plugin=plugin) if not variant.plugin else variant


def get_variant(name: str) -> Variant:
    """The installed variant called ``name``; a missing plugin names the extra that installs it."""
    variants = installed_variants()
    for variant in variants:
        if variant.name == name:
            return variant
    names = ", ".join(sorted(v.name for v in variants))
    switched_off = _switched_off(name)
    if switched_off:
        raise ConfigError(
            f"variant {name!r} is installed but its plugin is switched off by {switched_off}. "
            f"Remove {name!r} from it, or choose another variant (installed: {names})."
        )
    if name in KNOWN_EXTRAS:
        raise ConfigError(
            f"variant {name!r} is not installed. Install its plugin: {install_command(KNOWN_EXTRAS[name])} "
            f"(installed variants: {names})."
        )
    import difflib

    close = difflib.get_close_matches(name, [v.name for v in variants] + list(KNOWN_EXTRAS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(
        f"unknown variant {name!r}.{hint} Installed variants: {names}; "
        f"installable: {', '.join(KNOWN_EXTRAS)}."
    )


def install_command(extra: str) -> str:
    """How to install the core's ``extra`` from union's repository, never by name from PyPI.

    The ``union`` on PyPI is an unrelated SDK, so ``pip install 'union[byoc]'`` would install the wrong
    project. Where the core runs from a checkout (an editable install) the command names that checkout.
    """
    root = Path(__file__).resolve().parents[3]
    if (root / "plugins" / extra / "pyproject.toml").is_file():
        return f"pip install -e '{root}[{extra}]'"
    return f"pip install -e '.[{extra}]' in a checkout of union's repository"


def _switched_off(name: str) -> str | None:
    """The variable that keeps the entry point ``name`` (a plugin named like its variant) from loading."""
    import importlib.metadata

    from union.plugins.manager import ALLOW_ENV, DISABLE_ENV, ENTRY_POINT_GROUP, _names_from_env

    if not any(ep.name == name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)):
        return None
    if name in (_names_from_env(DISABLE_ENV) or set()):
        return DISABLE_ENV
    allowed = _names_from_env(ALLOW_ENV)
    if allowed is not None and name not in allowed:
        return ALLOW_ENV
    return None


def select_variant(config: Config) -> Variant | None:
    """The variant ``config`` selects (see the module docstring); None for an endpoint nobody claims."""
    if config.variant:
        return get_variant(config.variant)
    variants = installed_variants()
    if config.endpoint is None:
        for variant in variants:
            if variant.name == EMBEDDED:
                return variant
        return None
    claiming = [v for v in variants if v.name != EMBEDDED and v.claims(config.endpoint)]
    if len(claiming) > 1:
        listed = " and ".join(f"{v.name!r} (plugin {v.plugin!r})" for v in claiming)
        raise ConfigError(
            f"endpoint {config.endpoint!r} is claimed by two variants: {listed}. Choose one with "
            f"`variant:` in the config file, UNION_VARIANT or union.init(variant=...), or uninstall a plugin."
        )
    return claiming[0] if claiming else None


def effective_auth_kind(config: Config) -> str | None:
    """The auth kind ``config`` asks for: ``auth_type``, else implied by the credentials given; None: unsaid."""
    from union.auth import infer_auth_type

    kind = infer_auth_type(config)
    return kind if config.auth_type or kind != "None" else None


def check_auth(variant: Variant, config: Config) -> None:
    """Refuse an auth kind the variant's deployments do not accept."""
    kind = effective_auth_kind(config)
    if kind is None or not variant.auth_kinds or kind in variant.auth_kinds:
        return
    raise ConfigError(
        f"auth kind {kind!r} (from {config.source_of('auth_type' if config.auth_type else 'api_key')}) "
        f"does not work with the {variant.name} variant, which accepts {', '.join(variant.auth_kinds)}. "
        f"Set admin.authType / UNION_AUTH_TYPE to one of those."
    )


def variant_config_file(variant: Variant) -> Path | None:
    """The first existing file among the variant's extra config-file locations."""
    for entry in variant.config_files:
        if entry.startswith("$"):
            value = os.environ.get(entry[1:])
            if not value:
                continue
            path = Path(value).expanduser()
            if not path.is_file():
                raise ConfigError(
                    f"${entry[1:]} names {value!r}, which is not a file. Fix the variable or unset it."
                )
            return path
        path = Path(entry).expanduser()
        if path.is_file():
            return path
    return None


def variant_env(variant: Variant) -> dict[str, Any]:
    """Settings from the variant's extra environment variables (``FLYTE_PLATFORM_URL`` -> endpoint)."""
    from union.config.settings import validate

    values: dict[str, Any] = {}
    for var, setting in variant.env.items():
        raw = os.environ.get(var)
        if not raw:
            continue
        key, _, nested = setting.partition(".")
        if not nested:
            values[key] = validate(key, raw, f"${var}")
            continue
        target = values.setdefault(key, {})
        *parents, leaf = nested.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = raw
    return values


def merge_layer(values: dict[str, Any], layer: Mapping[str, Any]) -> list[str]:
    """Fill unset keys of ``values`` from ``layer``; mappings (storage options) merge key by key.

    Returns the keys that took a value from ``layer``.
    """
    taken: list[str] = []
    for key, value in layer.items():
        current = values.get(key)
        if current is None or current == {}:
            values[key] = value
            taken.append(key)
        elif isinstance(current, Mapping) and isinstance(value, Mapping):
            values[key] = _deep_merge(value, current)
    return taken


def _deep_merge(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def check_endpoint(variant: Variant | None, config: Config) -> None:
    """A remote variant with no endpoint would quietly run on this machine: refuse it."""
    if variant is None or not variant.requires_endpoint or config.endpoint is not None:
        return
    raise ConfigError(
        f"the {variant.name} variant is selected ({config.source_of('variant')}) but no endpoint is "
        "configured. Set admin.endpoint in the config file, UNION_ENDPOINT, or union.init(endpoint=...)."
    )


def hosted_defaults(config: Config, suffix: str = UNION_HOSTED_SUFFIX) -> dict[str, Any]:
    """For Union-hosted variants: the org from a ``<org><suffix>`` host; endpoint and org from an API key.

    An API key carries its endpoint, so ``UNION_API_KEY`` alone is enough to reach a hosted deployment.
    A key that does not decode adds nothing here: authentication reports it, naming the setting.
    """
    from union.auth.apikey import decode_api_key

    defaults: dict[str, Any] = {}
    endpoint = config.endpoint
    if endpoint is None and config.api_key:
        try:
            key = decode_api_key(config.api_key)
        except ConfigError:
            key = None
        if key is not None:
            endpoint = defaults["endpoint"] = key.endpoint
            if key.org:
                defaults["org"] = key.org
    if endpoint is not None:
        host = endpoint_host(endpoint)[0]
        if host.endswith(suffix) and len(host) > len(suffix):
            defaults.setdefault("org", host[: -len(suffix)].split(".")[-1])
    return defaults


def interactive_default(config: Config, kind: str = "DeviceFlow") -> dict[str, Any]:
    """``{"auth_type": kind}`` when ``config`` carries no credentials at all, else nothing.

    For hosted variants whose users log in: with no API key, token, command or client secret configured,
    the device flow (which works over SSH and in notebooks) is the way in, not an unauthenticated call.
    """
    return {"auth_type": kind} if effective_auth_kind(config) is None else {}


def union_hosted_variant(name: str, description: str, *, storage: StorageMode, claims_hosts: bool) -> Variant:
    """A variant whose control plane Union hosts at ``dns:///<org>.hosted.unionai.cloud`` (BYOC, BYOK).

    They share the endpoint form, the auth kinds (API key, client credentials, device flow, and PKCE,
    which existing configs name), the defaults (project ``flytesnacks``, domain ``development``) and
    :func:`union_hosted_defaults`; they differ in where data goes. Only one of them may claim the hosted
    hosts (``claims_hosts``): the others are selected by name.
    """
    return Variant(
        name=name,
        description=description,
        extra=name,
        endpoints=("*" + UNION_HOSTED_SUFFIX,) if claims_hosts else (),
        defaults={"project": "flytesnacks", "domain": "development"},
        auth_kinds=UNION_HOSTED_AUTH_KINDS,
        storage=storage,
    )


def union_hosted_defaults(config: Config) -> dict[str, Any]:
    """A Union-hosted variant's computed defaults: :func:`hosted_defaults`, and the device flow when no
    credentials are configured (rather than an unauthenticated call)."""
    return {**hosted_defaults(config), **interactive_default(config)}


def variant_destination(variant: Variant, config: Config, transport: Any = None) -> UploadDestination:
    """Where uploads go for ``variant``: its storage mode applied to ``config``.

    ``signed`` always goes through the control plane's signed URLs; ``direct`` needs a ``raw_data_prefix``;
    ``signed-or-direct`` is direct when the user configured a prefix, else signed.
    """
    from union.storage.destination import destination_from_config

    mode = variant.storage
    if mode == "signed-or-direct":
        mode = "direct" if config.set_by_user("raw_data_prefix") else "signed"
    if mode == "signed" and variant.storage == "signed" and config.set_by_user("raw_data_prefix"):
        raise ConfigError(
            f"the {variant.name} variant stores data only through the control plane's signed URLs, but a "
            f"raw-data prefix is configured ({config.source_of('raw_data_prefix')}). Remove "
            "storage.raw_data_prefix / UNION_RAW_DATA_PREFIX for this deployment."
        )
    if mode in ("direct", "local"):
        if mode == "direct" and not config.set_by_user("raw_data_prefix"):
            raise ConfigError(
                f"the {variant.name} variant uploads straight to your bucket, and no raw-data prefix is "
                "configured. Set storage.raw_data_prefix (e.g. s3://my-bucket/data) in the config file "
                "or UNION_RAW_DATA_PREFIX."
            )
        return destination_from_config(config)
    return signed_destination(config, transport)


def signed_destination(config: Config, transport: Any = None) -> UploadDestination:
    """Uploads through the control plane's signed URLs (:mod:`union.storage.signed`)."""
    from union.storage import signed

    if transport is None:
        from union.storage.destination import LazyTransport

        transport = LazyTransport(config)
    return signed.signed_destination(config, transport)


def builtin_variants() -> list[Variant]:
    """The embedded default: no endpoint, the engine on this machine, the local store."""
    return [
        Variant(
            name=EMBEDDED,
            description="the embedded local control plane and store on this machine (no server)",
            extra=None,
            defaults={"project": "default", "domain": "development"},
            storage="local",
            requires_endpoint=False,
        )
    ]


__all__ = [
    "EMBEDDED",
    "KNOWN_EXTRAS",
    "STORAGE_MODES",
    "UNION_HOSTED_AUTH_KINDS",
    "UNION_HOSTED_SUFFIX",
    "StorageMode",
    "Variant",
    "check_auth",
    "check_endpoint",
    "effective_auth_kind",
    "endpoint_host",
    "get_variant",
    "hosted_defaults",
    "install_command",
    "installed_variants",
    "interactive_default",
    "merge_layer",
    "select_variant",
    "signed_destination",
    "union_hosted_defaults",
    "union_hosted_variant",
    "variant_config_file",
    "variant_destination",
    "variant_env",
]
