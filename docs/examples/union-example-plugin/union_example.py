"""union-example-plugin: the ``example`` variant, a deployment at ``<team>.example.internal``.

Its users set only an endpoint and an API key. Uploads go through the control plane's signed URLs, the
default project is ``examples``, and the team named by the host becomes the org.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from union.plugins import hookimpl
from union.plugins.variants import Variant, endpoint_host, variant_destination

if TYPE_CHECKING:
    from union.config import Config
    from union.storage.destination import UploadDestination
    from union.transport import Transport

NAME = "example"

VARIANT = Variant(
    name=NAME,
    description="Example Corp's deployment: <team>.example.internal, API keys, signed URLs",
    endpoints=("*.example.internal",),
    defaults={"project": "examples", "domain": "development"},
    auth_kinds=("ApiKey",),
    storage="signed",
)


@hookimpl
def union_variants() -> list[Variant]:
    return [VARIANT]


@hookimpl
def union_config_defaults(config: Config) -> dict[str, object] | None:
    # Every hook but union_variants answers only when this variant is selected: installing the plugin
    # must change nothing for anyone else.
    if config.variant != NAME or config.endpoint is None:
        return None
    host = endpoint_host(config.endpoint)[0]
    return {"org": host.split(".")[0]} if host.endswith(".example.internal") else None


@hookimpl
def union_upload_destination(config: Config, transport: Transport) -> UploadDestination | None:
    if config.variant != NAME:
        return None
    return variant_destination(VARIANT, config, transport)
