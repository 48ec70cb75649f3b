"""Build hook: the variant-plugin extras point at this checkout's ``plugins/<variant>`` folders.

The extras are computed here, as absolute ``file://`` URLs of this checkout, rather than written in
``pyproject.toml``: installers that read static metadata (uv, tox-uv) do not expand hatchling's
``{root:uri}``, so a static entry would break every install. Declaring the extras dynamic makes every
installer ask hatchling, which runs this hook. They never resolve from PyPI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface

VARIANTS = ("flyte", "byoc", "byok", "serverless")
S3, GCS, AZURE = "s3fs>=2024.6.0", "gcsfs>=2024.6.0", "adlfs>=2024.4.1"


class VariantExtrasHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        root = Path(self.root).resolve()
        plugin = {name: f"union-{name} @ {(root / 'plugins' / name).as_uri()}" for name in VARIANTS}
        extras: dict[str, list[str]] = dict(self.config.get("static-extras", {}))
        extras.update(
            {
                "flyte": [plugin["flyte"], S3],
                "byoc": [plugin["byoc"]],
                "byok": [plugin["byok"]],
                "serverless": [plugin["serverless"]],
                # Extras list packages, never this project's own name: "union" on PyPI is an unrelated SDK.
                "all": [S3, GCS, AZURE, *plugin.values()],
            }
        )
        metadata["optional-dependencies"] = extras
