"""URI protocols -> fsspec filesystems, declared by plugins and imported only when first used.

Like fsspec's own registry, each protocol names a dotted class path and an install hint, so a missing
package is an error that says exactly which extra to install.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from union.config.settings import suggest
from union.errors import MissingExtraError, StorageOptionsError, UnknownProtocolError
from union.redact import redact_mapping, redact_text


@dataclass(frozen=True)
class StorageProtocol:
    """One URI protocol a plugin provides.

    ``checksum_kwargs(md5)`` returns extra keyword arguments for ``pipe_file`` that make the backend
    verify the bytes it received; ``remote_md5(info)`` reads the MD5 a backend reports for an object
    (None where it reports none, e.g. S3 multipart ETags).
    """

    name: str
    class_path: str
    install_hint: str
    aliases: tuple[str, ...] = ()
    default_options: Mapping[str, Any] = field(default_factory=dict)
    checksum_kwargs: Callable[[bytes], dict[str, Any]] | None = None
    remote_md5: Callable[[Mapping[str, Any]], bytes | None] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def load_class(self) -> type:
        module_name, _, class_name = self.class_path.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise MissingExtraError(
                f"the {self.name}:// protocol needs the package {module_name.split('.')[0]!r}, which is not "
                f"installed ({exc}). Install it with: {self.install_hint}"
            ) from exc
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise MissingExtraError(
                f"{self.class_path} is not a class; the plugin providing "
                f"{self.name}:// is broken. Reinstall it: {self.install_hint}"
            )
        return cls

    def filesystem(self, options: Mapping[str, Any] | None = None) -> Any:
        """Instantiate the filesystem; unknown or rejected options are a typed error naming them."""
        cls = self.load_class()
        merged = {**self.default_options, **(options or {})}
        accepted = accepted_options(cls)
        unknown = sorted(set(merged) - accepted)
        if unknown:
            hint = suggest(unknown[0], sorted(accepted))
            raise StorageOptionsError(
                f"{self.name}:// does not take the storage option(s) {', '.join(unknown)}.{hint} "
                f"It accepts: {', '.join(sorted(accepted))}. Fix storage.options in your config "
                "or UNION_STORAGE_OPTIONS."
            )
        try:
            return cls(**merged)
        except (TypeError, ValueError, KeyError) as exc:
            raise StorageOptionsError(
                f"{self.name}:// rejected its storage options {redact_mapping(merged)}: "
                f"{redact_text(str(exc))}. Fix storage.options in your config or UNION_STORAGE_OPTIONS."
            ) from exc


# Options every fsspec filesystem understands through AbstractFileSystem and its instance cache.
_FSSPEC_COMMON = {
    "use_listings_cache",
    "listings_expiry_time",
    "max_paths",
    "skip_instance_cache",
    "asynchronous",
    "loop",
    "batch_size",
}


def accepted_options(cls: type) -> set[str]:
    """Keyword names a filesystem class declares anywhere in its ``__init__`` chain."""
    accepted = set(_FSSPEC_COMMON)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        accepted |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    accepted.discard("self")
    return accepted


def split_protocol(uri: str) -> tuple[str, str]:
    """``("s3", "bucket/key")`` for ``s3://bucket/key``; a bare path is the ``file`` protocol."""
    if "://" in uri:
        protocol, _, rest = uri.partition("://")
        return protocol.lower(), rest
    return "file", uri


def registry() -> dict[str, StorageProtocol]:
    """Every protocol name (and alias) -> its declaration; plugins called first win."""
    from union.plugins import hook

    table: dict[str, StorageProtocol] = {}
    for declared in hook().union_storage_protocols():
        for proto in declared or []:
            for name in proto.names:
                table.setdefault(name, proto)
    return table


def lookup(protocol: str) -> StorageProtocol:
    table = registry()
    found = table.get(protocol)
    if found is None:
        raise UnknownProtocolError(
            f"no storage backend for {protocol}://. Known protocols: {', '.join(sorted(table))}. "
            "Use one of those, or install a plugin that provides it."
        )
    return found


def filesystem_for(uri: str, options: Mapping[str, Any] | None = None) -> tuple[Any, StorageProtocol, str]:
    """The fsspec filesystem for ``uri``, its protocol declaration, and the path within it."""
    protocol, _ = split_protocol(uri)
    proto = lookup(protocol)
    fs = proto.filesystem(options)
    return fs, proto, fs._strip_protocol(uri)
