"""list[X], dict[str, X] and unions: Flyte collections, maps and tagged union literals."""

from __future__ import annotations

from typing import Any

from union.types._pb import (
    Literal,
    LiteralCollection,
    LiteralMap,
    LiteralType,
    Scalar,
    UnionType,
    UnionValue,
)
from union.types.errors import TypeMismatchError
from union.types.transformers.base import Ctx, JsonSchema, Transformer, tagged

__all__ = ["DictTransformer", "ListTransformer", "UnionTransformer"]


class ListTransformer(Transformer):
    tag = "Typed List"

    def __init__(self, item: Transformer) -> None:
        self.item = item

    def describe(self) -> str:
        return f"list[{self.item.describe()}]"

    def literal_type(self) -> LiteralType:
        return LiteralType(collection_type=self.item.literal_type())

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is list

    def check(self, value: Any, ctx: Ctx) -> list[Any]:
        # Only real lists: a str, a tuple or a generator here is more often a bug than an intent.
        if not isinstance(value, list):
            raise ctx.mismatch(self.describe(), value)
        return value

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        items = [self.item.to_literal(v, ctx.at(f"[{i}]")) for i, v in enumerate(self.check(value, ctx))]
        return Literal(collection=LiteralCollection(literals=items))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        if not lit.HasField("collection"):
            raise ctx.literal_mismatch(self.describe(), lit)
        return [self.item.decode(v, ctx.at(f"[{i}]")) for i, v in enumerate(lit.collection.literals)]

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        return [self.item.to_plain(v, ctx.at(f"[{i}]")) for i, v in enumerate(self.check(value, ctx))]

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        if not isinstance(obj, list):
            raise ctx.mismatch(self.describe(), obj)
        return [self.item.from_plain(v, ctx.at(f"[{i}]")) for i, v in enumerate(obj)]

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "array", "items": self.item.json_schema(seen)}


class DictTransformer(Transformer):
    tag = "Typed Dict"

    def __init__(self, value: Transformer) -> None:
        self.value = value

    def describe(self) -> str:
        return f"dict[str, {self.value.describe()}]"

    def literal_type(self) -> LiteralType:
        return LiteralType(map_value_type=self.value.literal_type())

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is dict

    def check(self, value: Any, ctx: Ctx) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ctx.mismatch(self.describe(), value)
        for key in value:
            if not isinstance(key, str):
                raise ctx.at(f"[{key!r}]").mismatch("a str key", key)
        return value

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        checked = self.check(value, ctx)
        items = {str.__str__(k): self.value.to_literal(v, ctx.at(f"[{k!r}]")) for k, v in checked.items()}
        return Literal(map=LiteralMap(literals=items))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        if not lit.HasField("map"):
            raise ctx.literal_mismatch(self.describe(), lit)
        return {k: self.value.decode(v, ctx.at(f"[{k!r}]")) for k, v in lit.map.literals.items()}

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        checked = self.check(value, ctx)
        return {str.__str__(k): self.value.to_plain(v, ctx.at(f"[{k!r}]")) for k, v in checked.items()}

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        return {k: self.value.from_plain(v, ctx.at(f"[{k!r}]")) for k, v in self.check(obj, ctx).items()}

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {
            "type": "object",
            "additionalProperties": self.value.json_schema(seen),
            "propertyNames": {"type": "string"},
        }


class UnionTransformer(Transformer):
    """A union literal tagged with the chosen variant, exactly as Flyte 2 writes ``Optional`` and ``Union``.

    The variant is the first whose natural type is the value's own type, else the first that accepts the
    value, in declaration order; decoding follows the tag when there is one.
    """

    reads_union = True

    def __init__(self, variants: list[Transformer]) -> None:
        self.variants = variants

    def describe(self) -> str:
        return " | ".join(v.describe() for v in self.variants)

    def admits_none(self) -> bool:
        return any(v.admits_none() for v in self.variants)

    def literal_type(self) -> LiteralType:
        return LiteralType(
            union_type=UnionType(variants=[tagged(v.literal_type(), v.tag) for v in self.variants])
        )

    def matches_exactly(self, value: Any) -> bool:
        return any(v.matches_exactly(value) for v in self.variants)

    def _encode(self, value: Any, ctx: Ctx, plain: bool) -> tuple[Transformer, Any]:
        def run(variant: Transformer) -> Any:
            return variant.to_plain(value, ctx) if plain else variant.to_literal(value, ctx)

        exact = [v for v in self.variants if v.matches_exactly(value)]
        if len(exact) == 1 or (value is not None and len(self._not_none()) == 1):
            # One obvious variant: let its own, more precise, error surface.
            variant = exact[0] if exact else self._not_none()[0]
            return variant, run(variant)
        for variant in exact + [v for v in self.variants if v not in exact]:
            try:
                return variant, run(variant)
            except TypeMismatchError:
                continue
        raise ctx.mismatch(self.describe(), value)

    def _not_none(self) -> list[Transformer]:
        return [v for v in self.variants if not v.admits_none()]

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        variant, lit = self._encode(value, ctx, plain=False)
        return Literal(
            scalar=Scalar(union=UnionValue(value=lit, type=tagged(variant.literal_type(), variant.tag)))
        )

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        candidates = self.variants
        if lit.HasField("scalar") and lit.scalar.HasField("union"):
            tag = lit.scalar.union.type.structure.tag
            by_tag = [v for v in self.variants if v.tag == tag]
            candidates = by_tag + [v for v in self.variants if v not in by_tag]
            lit = lit.scalar.union.value
        if not (lit.HasField("scalar") and lit.scalar.HasField("none_type")) and len(self._not_none()) == 1:
            return self._not_none()[0].decode(lit, ctx)
        for variant in candidates:
            try:
                return variant.decode(lit, ctx)
            except TypeMismatchError:
                continue
        raise ctx.literal_mismatch(self.describe(), lit)

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        return self._encode(value, ctx, plain=True)[1]

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        if obj is not None and len(self._not_none()) == 1:
            return self._not_none()[0].from_plain(obj, ctx)
        for variant in self.variants:
            try:
                return variant.from_plain(obj, ctx)
            except TypeMismatchError:
                continue
        raise ctx.mismatch(self.describe(), obj)

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"anyOf": [v.json_schema(seen) for v in self.variants]}
