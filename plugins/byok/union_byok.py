"""union-byok: the ``byok`` deployment variant, Union's hosted control plane with your own object store.

What it decides: the control plane is hosted by Union as for BYOC (``dns:///<org>.hosted.unionai.cloud``,
the org from the host; API key, client credentials, device flow or PKCE); uploads go straight to your own
object store through fsspec, typically at a custom endpoint (``storage.options.client_kwargs.endpoint_url``
for an S3-compatible store); project ``flytesnacks``, domain ``development``. BYOK shares BYOC's
endpoints, so it is never inferred from one: select it with ``variant: byok`` / ``UNION_VARIANT=byok``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from union.plugins import hookimpl
from union.plugins.variants import union_hosted_defaults, union_hosted_variant, variant_destination

if TYPE_CHECKING:
    from union.config import Config
    from union.plugins.variants import Variant
    from union.storage.destination import UploadDestination
    from union.transport import Transport

NAME = "byok"

# Endpoint form, auth kinds and defaults are those of every Union-hosted variant (shared with byoc); byok
# claims no endpoint, as its hosts are byoc's: it is chosen by name only.
VARIANT = union_hosted_variant(
    NAME,
    "Union BYOK: control plane hosted by Union, data in your own object store (direct fsspec)",
    storage="direct",
    claims_hosts=False,
)


@hookimpl
def union_variants() -> list[Variant]:
    return [VARIANT]


@hookimpl
def union_config_defaults(config: Config) -> dict[str, object] | None:
    """The org from the hosted endpoint (or endpoint and org from the API key), as for BYOC."""
    if config.variant != NAME:
        return None
    return union_hosted_defaults(config)


@hookimpl
def union_upload_destination(config: Config, transport: Transport) -> UploadDestination | None:
    """Your object store, straight through fsspec; with no prefix configured, an error naming it."""
    if config.variant != NAME:
        return None
    return variant_destination(VARIANT, config, transport)
