"""union-byoc: the ``byoc`` deployment variant, Union's hosted control plane over your own cloud account.

What it decides: the endpoint is ``dns:///<org>.hosted.unionai.cloud`` (the org is taken from the host);
auth is an API key, OAuth2 client credentials or the device flow (and PKCE, which existing configs name);
uploads go through the control plane's signed URLs into your cloud bucket, or straight to it (s3/gs/abfs)
when you configure ``storage.raw_data_prefix``; project ``flytesnacks``, domain ``development``. Selected by ``variant: byoc``
or inferred from any ``*.hosted.unionai.cloud`` endpoint.
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

NAME = "byoc"

# Endpoint form, auth kinds and defaults are those of every Union-hosted variant (shared with byok).
VARIANT = union_hosted_variant(
    NAME,
    "Union BYOC: control plane hosted by Union, data in your cloud bucket (signed URLs or direct)",
    storage="signed-or-direct",
    claims_hosts=True,
)


@hookimpl
def union_variants() -> list[Variant]:
    return [VARIANT]


@hookimpl
def union_config_defaults(config: Config) -> dict[str, object] | None:
    """The org from the hosted endpoint (or endpoint and org from the API key); no credentials: device flow."""
    if config.variant != NAME:
        return None
    return union_hosted_defaults(config)


@hookimpl
def union_upload_destination(config: Config, transport: Transport) -> UploadDestination | None:
    """Signed URLs through the control plane, or your bucket when ``raw_data_prefix`` is configured."""
    if config.variant != NAME:
        return None
    return variant_destination(VARIANT, config, transport)
