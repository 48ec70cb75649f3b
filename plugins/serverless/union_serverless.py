"""union-serverless: the ``serverless`` deployment variant, Union Serverless.

What it decides: the endpoint is fixed (``dns:///serverless-1.us-east-2.s.union.ai``, the default when you
select the variant by name); auth is an API key only; data goes to Union's store through signed URLs only
(a configured ``raw_data_prefix`` is refused rather than ignored); project ``default``, domain
``development``. Selected by ``variant: serverless`` or inferred from the serverless endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from union.plugins import hookimpl
from union.plugins.variants import Variant, variant_destination

if TYPE_CHECKING:
    import requests

    from union.auth.base import Authenticator, MetadataFn
    from union.config import Config
    from union.storage.destination import UploadDestination
    from union.transport import Transport

NAME = "serverless"
ENDPOINT = "dns:///serverless-1.us-east-2.s.union.ai"

VARIANT = Variant(
    name=NAME,
    description="Union Serverless: fixed endpoint, API key, data in Union's store through signed URLs",
    extra="serverless",
    endpoints=("serverless-1.us-east-2.s.union.ai",),
    defaults={"endpoint": ENDPOINT, "project": "default", "domain": "development"},
    auth_kinds=("ApiKey",),
    storage="signed",
)


@hookimpl
def union_variants() -> list[Variant]:
    return [VARIANT]


@hookimpl
def union_upload_destination(config: Config, transport: Transport) -> UploadDestination | None:
    """Always signed URLs minted by the control plane."""
    if config.variant != NAME:
        return None
    return variant_destination(VARIANT, config, transport)


@hookimpl
def union_authenticator(
    config: Config, metadata: MetadataFn | None, session: requests.Session | None
) -> Authenticator | None:
    """API keys only: say so before a request goes out without one (the built-in then uses the key)."""
    if config.variant != NAME or config.api_key:
        return None
    from union.errors import ConfigError

    raise ConfigError(
        "Union Serverless accepts API keys only, and none is configured. Create one in Union and set "
        "UNION_API_KEY (or union.init(api_key=...))."
    )
