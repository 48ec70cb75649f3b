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

from union.errors import MissingExtraError, StorageOptionsError, UnknownProtocolError
from union.redact import redact_mapping


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
            raise MissingExtraError(f"{self.class_path} is not a class; the plugin providing "
                                    f"{self.name}:// is broken. Reinstall it: {self.install_hint}")
        return cls

    def filesystem(self, options: Mapping[str, Any] | None = None) -> Any:
        """Instantiate the filesystem; unknown or rejected options are a typed error naming them."""
        cls = self.load_class()
        merged = {**self.default_options, **(options or {})}
        try:
            return cls(**merged)
        except TypeError as exc:
            raise StorageOptionsError(self._options_problem(cls, merged, exc)) from exc
        except (ValueError, KeyError) as exc:
            raise StorageOptionsError(
                f"{self.name}:// rejected its storage options {redact_mapping(merged)}: {exc}. "
                "Fix the storage options in your config (storage.options) or UNION_STORAGE_OPTIONS."
            ) from exc

    def _options_problem(self, cls: type, merged: Mapping[str, Any], exc: Exception) -> str:
        accepted: set[str] = set()
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            try:
                params = inspect.signature(init).parameters.values()
            except (TypeError, ValueError):
                continue
            accepted |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        bad = sorted(set(merged) - accepted - {"self"}) if accepted else []
        what = f"unknown option(s) {', '.join(bad)}" if bad else str(exc)
        return (f"{self.name}:// rejected its storage options: {what}. "
                f"Accepted options include: {', '.join(sorted(accepted - {'self'})[:25])}. "
                "Fix storage.options in your config or UNION_STORAGE_OPTIONS.")


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
