"""enum.Enum with string values, as Flyte's EnumType: the literal carries the value, not the member name."""

from __future__ import annotations

import enum
from typing import Any

from union.types._pb import EnumType, Literal, LiteralType, Primitive, Scalar
from union.types.transformers.base import Ctx, JsonSchema, Transformer

__all__ = ["EnumTransformer", "EnumValuesTransformer"]


class EnumValuesTransformer(Transformer):
    """An enum known only by its values (from a remote interface): decodes to the ``str`` value."""

    tag = "DefaultEnumTransformer"

    def __init__(self, values: list[str]) -> None:
        self.values = list(values)

    def describe(self) -> str:
        return f"one of {self.values}"

    def literal_type(self) -> LiteralType:
        return LiteralType(enum_type=EnumType(values=self.values))

    def value_of(self, value: Any, ctx: Ctx) -> str:
        raw = value.value if isinstance(value, enum.Enum) else value
        if not isinstance(raw, str) or raw not in self.values:
            raise ctx.mismatch(self.describe(), value)
        return str.__str__(raw)

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        return Literal(scalar=Scalar(primitive=Primitive(string_value=self.value_of(value, ctx))))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        if not (lit.HasField("scalar") and lit.scalar.primitive.HasField("string_value")):
            raise ctx.literal_mismatch(self.describe(), lit)
        return self.from_plain(lit.scalar.primitive.string_value, ctx)

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        return self.value_of(value, ctx)

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        return self.value_of(obj, ctx)

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"enum": list(self.values)}


class EnumTransformer(EnumValuesTransformer):
    """A Python Enum class; a raw value string is accepted too, since CLIs and UIs send those."""

    def __init__(self, cls: type[enum.Enum]) -> None:
        super().__init__([member.value for member in cls])
        self.cls = cls

    def describe(self) -> str:
        return self.cls.__qualname__

    def matches_exactly(self, value: Any) -> bool:
        return isinstance(value, self.cls)

    def value_of(self, value: Any, ctx: Ctx) -> str:
        if isinstance(value, enum.Enum) and not isinstance(value, self.cls):
            raise ctx.mismatch(f"{self.describe()} (one of {self.values})", value)
        if not isinstance(value, (str, enum.Enum)):
            raise ctx.mismatch(f"{self.describe()} (one of {self.values})", value)
        raw = value.value if isinstance(value, enum.Enum) else value
        if raw not in self.values:
            raise ctx.mismatch(f"{self.describe()} (one of {self.values})", value)
        return str.__str__(raw)

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        return self.cls(self.value_of(obj, ctx))
