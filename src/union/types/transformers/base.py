"""What every type family implements, and the shared plumbing for decoding literals.

A transformer knows two encodings of its values: the Flyte literal used at the top of an interface, and the
"plain" msgpack-able form used inside dataclasses and pydantic models (Flyte 2 nests values that way).
"""

from __future__ import annotations

import json
import reprlib
from abc import ABC, abstractmethod
from typing import Any

from union.types import _msgpack
from union.types._pb import Literal, LiteralType, TypeStructure, json_format
from union.types.errors import FileHandlerRequiredError, TypeMismatchError
from union.types.files import FileHandler

__all__ = ["Ctx", "JsonSchema", "Transformer", "describe_literal", "describe_value", "tagged"]

JsonSchema = dict[str, Any]

MSGPACK_TAG = "msgpack"
JSON_TAG = "json"

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def describe_value(value: object) -> str:
    """Short, bounded description of a value for error messages (never dumps a huge payload)."""
    if value is None:
        return "None"
    return f"{type(value).__qualname__} {_repr.repr(value)}"


def describe_literal(lit: Literal) -> str:
    """Name the kind of a literal so a mismatch says what actually arrived."""
    kind = lit.WhichOneof("value")
    if kind == "collection":
        return "a collection literal"
    if kind == "map":
        return "a map literal"
    if kind == "offloaded_metadata":
        return "an offloaded literal"
    if kind != "scalar":
        return "an empty literal"
    scalar_kind = lit.scalar.WhichOneof("value")
    if scalar_kind == "primitive":
        return f"a primitive literal holding {lit.scalar.primitive.WhichOneof('value') or 'nothing'}"
    if scalar_kind == "binary":
        return f"a binary literal (tag {lit.scalar.binary.tag!r})"
    if scalar_kind == "none_type":
        return "a none literal"
    if scalar_kind is None:
        return "an empty scalar literal"
    return f"a scalar literal holding {scalar_kind}"


def tagged(lt: LiteralType, tag: str) -> LiteralType:
    """Copy of ``lt`` carrying a union variant tag, as Flyte 2 marks the variants of a union."""
    copy = LiteralType()
    copy.CopyFrom(lt)
    copy.structure.CopyFrom(TypeStructure(tag=tag))
    return copy


class Ctx:
    """Where in a value we are (for messages) and how to move files, threaded through nested conversions."""

    __slots__ = ("files", "where")

    def __init__(self, where: str, files: FileHandler | None) -> None:
        self.where = where
        self.files = files

    def at(self, suffix: str) -> Ctx:
        return Ctx(self.where + suffix, self.files)

    def mismatch(self, expected: str, value: object) -> TypeMismatchError:
        return TypeMismatchError(self.where, expected, describe_value(value))

    def literal_mismatch(self, expected: str, lit: Literal) -> TypeMismatchError:
        return TypeMismatchError(self.where, f"a literal for {expected}", describe_literal(lit))

    def require_files(self, action: str) -> FileHandler:
        if self.files is None:
            raise FileHandlerRequiredError(
                f"{self.where}: {action} needs a FileHandler; pass files=... to the conversion"
            )
        return self.files


class Transformer(ABC):
    """Converts the values of one annotation (or one Flyte literal type) in both directions."""

    #: Flyte 2's transformer name, used as the union variant tag so its SDK can pick the variant.
    tag: str = ""
    #: Transformers whose literal is itself a Binary must not have msgpack binaries unpacked for them.
    binary_native: bool = False
    #: Union transformers read the union wrapper themselves.
    reads_union: bool = False

    @abstractmethod
    def describe(self) -> str:
        """The annotation as a user would write it, for messages."""

    @abstractmethod
    def literal_type(self) -> LiteralType:
        """A fresh LiteralType (protos are mutable, so never hand out a shared one)."""

    @abstractmethod
    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        """Check ``value`` against the annotation and encode it."""

    @abstractmethod
    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        """Decode a literal already stripped of offloading and of any union wrapper."""

    @abstractmethod
    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        """Check ``value`` and encode it as msgpack-able data, for nesting inside structs."""

    @abstractmethod
    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        """Decode msgpack/JSON data produced by :meth:`to_plain` (or by Flyte 2)."""

    @abstractmethod
    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        """JSON schema of the plain form, published in struct literal types as Flyte 2 does."""

    def matches_exactly(self, value: Any) -> bool:
        """Whether ``value`` is this transformer's natural Python type, to prefer it inside a union."""
        return False

    def admits_none(self) -> bool:
        return False

    def decode(self, lit: Literal, ctx: Ctx) -> Any:
        """Entry point for decoding: resolves offloaded and wrapped literals, then :meth:`from_literal`."""
        if lit.HasField("offloaded_metadata"):
            lit = _load_offloaded(lit, ctx)
        if not self.reads_union and lit.HasField("scalar") and lit.scalar.HasField("union"):
            lit = lit.scalar.union.value
        if not self.binary_native and lit.HasField("scalar") and lit.scalar.HasField("binary"):
            binary = lit.scalar.binary
            if binary.tag in (MSGPACK_TAG, JSON_TAG):
                # Flyte 2 may hand any value over as a msgpack binary (e.g. after attribute access).
                return self.from_plain(decode_binary(binary.value, binary.tag, ctx), ctx)
        return self.from_literal(lit, ctx)


def decode_binary(data: bytes, tag: str, ctx: Ctx) -> Any:
    try:
        if tag == MSGPACK_TAG:
            return _msgpack.unpackb(data)
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise TypeMismatchError(ctx.where, f"valid {tag} data", f"undecodable bytes ({e})") from e


def struct_to_plain(struct: Any) -> Any:
    """A generic Struct (what the UI sends for structs) as plain data; its numbers are all floats."""
    return json_format.MessageToDict(struct)


def _load_offloaded(lit: Literal, ctx: Ctx) -> Literal:
    uri: str = lit.offloaded_metadata.uri
    files = ctx.require_files(f"reading the offloaded literal at {uri}")
    loaded = Literal()
    loaded.ParseFromString(files.download_file(uri).read_bytes())
    return loaded
