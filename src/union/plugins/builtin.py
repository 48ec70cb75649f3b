"""The built-in defaults, registered as an ordinary plugin that runs last.

Every hook here is ``trylast``, so any installed plugin that answers the same hook wins.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from union.plugins.hookspecs import PROJECT_NAME
from union.storage.protocols import StorageProtocol

if TYPE_CHECKING:
    import requests

    from union.auth.base import Authenticator, MetadataFn
    from union.config import Config
    from union.plugins.variants import Variant
    from union.storage.destination import UploadDestination
    from union.transport.base import Transport

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


def _s3_checksum(md5: bytes) -> dict[str, Any]:
    return {"ContentMD5": base64.b64encode(md5).decode()}


def _s3_md5(info: Mapping[str, Any]) -> bytes | None:
    etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
    if len(etag) == 32 and "-" not in etag:
        try:
            return bytes.fromhex(etag)
        except ValueError:
            return None
    return None


def _azure_checksum(md5: bytes) -> dict[str, Any]:
    # x-ms-blob-content-md5 is checked by the service on a single Put Blob; validate_content adds a
    # transport Content-MD5 computed by the SDK as well.
    return {"content_settings": {"content_md5": bytearray(md5)}, "validate_content": True}


def _azure_md5(info: Mapping[str, Any]) -> bytes | None:
    if info.get("content_md5"):  # an upload_blob response
        return bytes(info["content_md5"])
    settings = info.get("content_settings") or {}
    md5 = (
        settings.get("content_md5")
        if isinstance(settings, Mapping)
        else getattr(settings, "content_md5", None)
    )
    return bytes(md5) if md5 else None


def _gcs_checksum(md5: bytes) -> dict[str, Any]:
    # gcsfs compares the md5Hash the server reports for the stored object with the bytes it sent.
    return {"consistency": "md5"}


def _gcs_md5(info: Mapping[str, Any]) -> bytes | None:
    value = info.get("md5Hash")
    return base64.b64decode(value) if value else None


BUILTIN_PROTOCOLS = [
    StorageProtocol(
        name="file",
        aliases=("local",),
        class_path="fsspec.implementations.local.LocalFileSystem",
        install_hint="pip install fsspec",
        default_options={"auto_mkdir": True},
    ),
    StorageProtocol(
        name="memory",
        class_path="fsspec.implementations.memory.MemoryFileSystem",
        install_hint="pip install fsspec",
    ),
    StorageProtocol(
        name="s3",
        aliases=("s3a",),
        class_path="s3fs.S3FileSystem",
        install_hint="pip install 'union[s3]'",
        checksum_kwargs=_s3_checksum,
        remote_md5=_s3_md5,
    ),
    StorageProtocol(
        name="gs",
        aliases=("gcs",),
        class_path="gcsfs.GCSFileSystem",
        install_hint="pip install 'union[gcs]'",
        checksum_kwargs=_gcs_checksum,
        remote_md5=_gcs_md5,
    ),
    StorageProtocol(
        name="abfs",
        aliases=("az", "abfss"),
        class_path="adlfs.AzureBlobFileSystem",
        install_hint="pip install 'union[azure]'",
        checksum_kwargs=_azure_checksum,
        remote_md5=_azure_md5,
    ),
]


@hookimpl(trylast=True)
def union_storage_protocols() -> list[StorageProtocol]:
    return BUILTIN_PROTOCOLS


@hookimpl(trylast=True)
def union_upload_destination(config: Config, transport: Transport) -> UploadDestination | None:
    """Signed URLs through ``transport`` when the deployment gives no direct bucket access, else the
    raw-data prefix (see ``union.storage.signed.storage_mode``)."""
    from union.storage.destination import default_destination

    return default_destination(config, transport)


@hookimpl(trylast=True)
def union_config_defaults(config: Config) -> dict[str, object] | None:
    from union.config import paths

    return {
        "project": "default",
        "domain": "development",
        "raw_data_prefix": (paths.data_dir() / "store").as_uri(),
    }


@hookimpl(trylast=True)
def union_transport(config: Config) -> Transport | None:
    """The embedded local control plane when no endpoint is configured, else the Connect client."""
    if config.endpoint is not None:
        from union.transport.connect import ConnectTransport

        return ConnectTransport(config)
    from union.engine.transport import EmbeddedTransport

    return EmbeddedTransport(config)


@hookimpl(trylast=True)
def union_variants() -> list[Variant]:
    """The embedded default, selected whenever no endpoint and no variant is configured."""
    from union.plugins.variants import builtin_variants

    return builtin_variants()


@hookimpl(trylast=True)
def union_authenticator(
    config: Config, metadata: MetadataFn | None, session: requests.Session | None
) -> Authenticator | None:
    """API key, OAuth2 client credentials, device flow, token or command, by auth_type or inferred."""
    from union.auth import builtin_authenticator

    return builtin_authenticator(config, metadata, session)
