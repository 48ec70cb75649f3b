"""Dataclasses, pydantic models and untyped structs: msgpack in a ``Binary`` literal, as Flyte 2 does.

Flyte 2 types these as ``SimpleType.STRUCT`` with the JSON schema as metadata and a
``cache-key-metadata.serialization-format = msgpack`` annotation, and sends ``Binary(tag="msgpack")``.
Matching that lets a Flyte 2 task read what we send and the other way round. We also read the JSON-tagged
binaries and generic Structs that older clients and the UI produce.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Mapping
from typing import Any

from union.types import _msgpack
from union.types._pb import Binary, Literal, LiteralType, Scalar, SimpleType, Struct, TypeAnnotation
from union.types.errors import TypeMismatchError, TypesError
from union.types.transformers.base import (
    MSGPACK_TAG,
    Ctx,
    JsonSchema,
    Transformer,
    decode_binary,
    struct_to_plain,
)

__all__ = ["DataclassTransformer", "GenericStructTransformer", "PydanticTransformer", "pydantic_base"]

CACHE_KEY_METADATA = "cache-key-metadata"
SERIALIZATION_FORMAT = "serialization-format"


def pydantic_base() -> Any:
    """``pydantic.BaseModel`` if the program already imported pydantic; we never import it ourselves."""
    import sys

    module = sys.modules.get("pydantic")
    return getattr(module, "BaseModel", None) if module is not None else None


def _struct_literal_type(schema: JsonSchema | None) -> LiteralType:
    annotations = Struct()
    annotations.update({CACHE_KEY_METADATA: {SERIALIZATION_FORMAT: MSGPACK_TAG}})
    lt = LiteralType(simple=SimpleType.STRUCT, annotation=TypeAnnotation(annotations=annotations))
    if schema is not None:
        lt.metadata.update(schema)
    return lt


class _StructBase(Transformer):
    binary_native = True

    def encode_plain(self, plain: Any, ctx: Ctx) -> Literal:
        try:
            data = _msgpack.packb(plain)
        except _msgpack.MsgpackError as e:
            raise ctx.mismatch(f"{self.describe()} whose fields fit msgpack ({e})", plain) from e
        return Literal(scalar=Scalar(binary=Binary(value=data, tag=MSGPACK_TAG)))

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        return self.encode_plain(self.to_plain(value, ctx), ctx)

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        scalar = lit.scalar if lit.HasField("scalar") else None
        if scalar is not None and scalar.HasField("binary"):
            return self.from_plain(decode_binary(scalar.binary.value, scalar.binary.tag, ctx), ctx)
        if scalar is not None and scalar.HasField("generic"):
            return self.from_plain(struct_to_plain(scalar.generic), ctx)
        raise ctx.literal_mismatch(self.describe(), lit)


@dataclasses.dataclass
class Field:
    name: str
    transformer: Transformer
    required: bool
    init: bool
    default: Any = dataclasses.MISSING


class DataclassTransformer(_StructBase):
    """A dataclass as a msgpack map of its fields; the registry fills ``fields`` (it may be recursive)."""

    tag = "Object-Dataclass-Transformer"

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.fields: list[Field] = []

    def describe(self) -> str:
        return self.cls.__qualname__

    def literal_type(self) -> LiteralType:
        return _struct_literal_type(self.json_schema(frozenset()))

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is self.cls

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        if not isinstance(value, self.cls):
            raise ctx.mismatch(self.describe(), value)
        return {
            f.name: f.transformer.to_plain(getattr(value, f.name), ctx.at(f".{f.name}")) for f in self.fields
        }

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        if not isinstance(obj, Mapping):
            raise ctx.mismatch(f"{self.describe()} as a map of fields", obj)
        kwargs: dict[str, Any] = {}
        late: dict[str, Any] = {}
        for f in self.fields:
            if f.name not in obj:
                if f.required:
                    raise TypeMismatchError(
                        ctx.where, f"{self.describe()} with field {f.name!r}", "a map without it"
                    )
                continue
            value = f.transformer.from_plain(obj[f.name], ctx.at(f".{f.name}"))
            (kwargs if f.init else late)[f.name] = value
        # Keys we do not know are ignored: a newer writer may have added fields with defaults.
        try:
            instance = self.cls(**kwargs)
        except (TypeError, ValueError) as e:  # __post_init__ validation, for one
            raise TypeMismatchError(ctx.where, f"data accepted by {self.describe()}()", str(e)) from e
        for name, value in late.items():
            object.__setattr__(instance, name, value)
        return instance

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        if self.cls in seen:  # a recursive reference: name it instead of expanding forever
            return {"type": "object", "title": self.cls.__name__}
        inner = seen | {self.cls}
        return {
            "type": "object",
            "title": self.cls.__name__,
            "properties": {f.name: _with_default(f, f.transformer.json_schema(inner)) for f in self.fields},
            "additionalProperties": False,
            "required": [f.name for f in self.fields if f.required],
        }


def _with_default(f: Field, schema: JsonSchema) -> JsonSchema:
    """Publish a plain default in the schema, as mashumaro does; factories and paths are left out."""
    if f.default is dataclasses.MISSING:
        return schema
    try:
        plain = f.transformer.to_plain(f.default, Ctx("default", None))
        json.dumps(plain)
    except (TypesError, TypeError, ValueError):
        return schema
    return {**schema, "default": plain}


class PydanticTransformer(_StructBase):
    """A pydantic model through its own JSON mode, as Flyte 2 does (so paths in it travel as plain text)."""

    tag = "Pydantic Transformer"

    def __init__(self, cls: Any) -> None:
        self.cls = cls

    def describe(self) -> str:
        return str(self.cls.__qualname__)

    def literal_type(self) -> LiteralType:
        schema: JsonSchema = self.cls.model_json_schema()
        return _struct_literal_type(schema)

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is self.cls

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        if not isinstance(value, self.cls):
            raise ctx.mismatch(self.describe(), value)
        return json.loads(value.model_dump_json())

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        try:
            try:
                text = json.dumps(obj)
            except TypeError:  # msgpack bytes have no JSON form; let pydantic validate the Python objects
                return self.cls.model_validate(obj)
            return self.cls.model_validate_json(text)
        except ValueError as e:  # pydantic.ValidationError is a ValueError
            raise TypeMismatchError(ctx.where, f"data valid for {self.describe()}", str(e)) from e

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        schema: JsonSchema = self.cls.model_json_schema()
        return schema


class GenericStructTransformer(_StructBase):
    """A struct known only by its literal type (a remote interface): plain dicts in, plain dicts out."""

    tag = "Object-Dataclass-Transformer"

    def __init__(self, lt: LiteralType, plain_of: Any) -> None:
        self.lt = lt
        self.plain_of = plain_of  # registry callback: transformer for a dataclass instance's own type
        title = lt.metadata.fields["title"].string_value if "title" in lt.metadata.fields else ""
        self.title = title or "struct"

    def describe(self) -> str:
        return f"{self.title} (a dict, dataclass or pydantic model)"

    def literal_type(self) -> LiteralType:
        copy = LiteralType()
        copy.CopyFrom(self.lt)
        return copy

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        if not (isinstance(value, Mapping) or dataclasses.is_dataclass(value) or _is_pydantic(value)):
            raise ctx.mismatch(self.describe(), value)
        return _any_to_plain(value, ctx, self.plain_of)

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        return obj

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return struct_to_plain(self.lt.metadata) if self.lt.HasField("metadata") else {"type": "object"}


def _is_pydantic(value: Any) -> bool:
    base = pydantic_base()
    return base is not None and isinstance(value, base)


def _any_to_plain(value: Any, ctx: Ctx, plain_of: Any) -> Any:
    """Plain data from a value with no annotation to guide it (a struct sent to a remote interface)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, enum.Enum):
        return _any_to_plain(value.value, ctx, plain_of)
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [_any_to_plain(v, ctx.at(f"[{i}]"), plain_of) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        result = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ctx.at(f"[{k!r}]").mismatch("a str key", k)
            result[k] = _any_to_plain(v, ctx.at(f"[{k!r}]"), plain_of)
        return result
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain_of(type(value), ctx).to_plain(value, ctx)
    if _is_pydantic(value):
        return json.loads(value.model_dump_json())
    raise ctx.mismatch("plain data (None, bool, int, float, str, bytes, list, dict, dataclass)", value)
