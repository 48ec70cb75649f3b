"""int, float, str, bool, bytes, datetime, timedelta and None: Flyte primitives and the none/binary scalars.

Checks are strict (``bool`` is not an ``int``) because a silently coerced input runs the wrong task; the one
leniency is the numeric tower, where an ``int`` is accepted for ``float`` as PEP 484 allows.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from union.types import _msgpack
from union.types._pb import (
    Binary,
    Duration,
    Literal,
    LiteralType,
    Primitive,
    Scalar,
    SimpleType,
    Timestamp,
    Void,
)
from union.types.transformers.base import MSGPACK_TAG, Ctx, JsonSchema, Transformer

__all__ = [
    "BoolTransformer",
    "BytesTransformer",
    "DatetimeTransformer",
    "FloatTransformer",
    "IntTransformer",
    "NoneTransformer",
    "StrTransformer",
    "TimedeltaTransformer",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
# google.protobuf.Duration's documented range: +-10,000 years.
DURATION_MAX_SECONDS = 315_576_000_000
BYTES_TAG = "bytes"


def _primitive_literal(**kwargs: Any) -> Literal:
    return Literal(scalar=Scalar(primitive=Primitive(**kwargs)))


def _primitive(lit: Literal, field: str, expected: str, ctx: Ctx) -> Any:
    if lit.HasField("scalar") and lit.scalar.HasField("primitive") and lit.scalar.primitive.HasField(field):
        return getattr(lit.scalar.primitive, field)
    raise ctx.literal_mismatch(expected, lit)


class _Simple(Transformer):
    simple: Any = SimpleType.NONE
    name = ""

    def describe(self) -> str:
        return self.name

    def literal_type(self) -> LiteralType:
        return LiteralType(simple=self.simple)

    def check(self, value: Any, ctx: Ctx) -> Any:
        """The value as this type, or ``ctx.mismatch``; the plain (JSON) form is the value itself."""
        raise NotImplementedError

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        return self.check(value, ctx)

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        return self.check(obj, ctx)


class IntTransformer(_Simple):
    tag = name = "int"
    simple = SimpleType.INTEGER

    def check(self, value: Any, ctx: Ctx) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ctx.mismatch("int", value)
        if not INT64_MIN <= value <= INT64_MAX:
            raise ctx.mismatch("int within the signed 64-bit range Flyte uses", value)
        return int(value)

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is int

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        return _primitive_literal(integer=self.check(value, ctx))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        if lit.HasField("scalar") and lit.scalar.primitive.HasField("float_value"):
            return self.from_plain(lit.scalar.primitive.float_value, ctx)
        result: int = _primitive(lit, "integer", "int", ctx)
        return result

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        # JSON (the UI, generic structs) has only floats; accept them when they are whole numbers.
        if isinstance(obj, float) and obj.is_integer():
            return int(obj)
        if not isinstance(obj, int) or isinstance(obj, bool):
            raise ctx.mismatch("int", obj)
        return obj

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "integer"}


class FloatTransformer(_Simple):
    tag = name = "float"
    simple = SimpleType.FLOAT

    def check(self, value: Any, ctx: Ctx) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ctx.mismatch("float", value)
        try:
            return float(value)
        except OverflowError:
            raise ctx.mismatch("float (an int this large has no float value)", value) from None

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is float

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        return _primitive_literal(float_value=self.check(value, ctx))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        if lit.HasField("scalar") and lit.scalar.primitive.HasField("integer"):
            return float(lit.scalar.primitive.integer)
        result: float = _primitive(lit, "float_value", "float", ctx)
        return result

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "number"}


class StrTransformer(_Simple):
    tag = name = "str"
    simple = SimpleType.STRING

    def check(self, value: Any, ctx: Ctx) -> str:
        if not isinstance(value, str):
            raise ctx.mismatch("str", value)
        text = str.__str__(value)  # plain str even for str subclasses such as str-mixin enums
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ctx.mismatch("str encodable as UTF-8 (no lone surrogates)", value) from None
        return text

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is str

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        return _primitive_literal(string_value=self.check(value, ctx))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        result: str = _primitive(lit, "string_value", "str", ctx)
        return result

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        if not isinstance(obj, str):
            raise ctx.mismatch("str", obj)
        return obj

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "string"}


class BoolTransformer(_Simple):
    tag = name = "bool"
    simple = SimpleType.BOOLEAN

    def check(self, value: Any, ctx: Ctx) -> bool:
        if not isinstance(value, bool):
            raise ctx.mismatch("bool", value)
        return value

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is bool

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        return _primitive_literal(boolean=self.check(value, ctx))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        result: bool = _primitive(lit, "boolean", "bool", ctx)
        return result

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "boolean"}


class BytesTransformer(_Simple):
    """Raw bytes as a ``Binary`` scalar; Flyte 2 has no bytes type of its own (it would pickle them)."""

    tag = name = "bytes"
    simple = SimpleType.BINARY
    binary_native = True

    def check(self, value: Any, ctx: Ctx) -> bytes:
        if not isinstance(value, (bytes, bytearray)):
            raise ctx.mismatch("bytes", value)
        return bytes(value)

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is bytes

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        return Literal(scalar=Scalar(binary=Binary(value=self.check(value, ctx), tag=BYTES_TAG)))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        if not (lit.HasField("scalar") and lit.scalar.HasField("binary")):
            raise ctx.literal_mismatch("bytes", lit)
        binary = lit.scalar.binary
        data: bytes = binary.value
        if binary.tag in (BYTES_TAG, ""):
            return data
        if binary.tag == MSGPACK_TAG:
            try:
                return self.from_plain(_msgpack.unpackb(data), ctx)
            except _msgpack.MsgpackError as e:
                raise ctx.literal_mismatch(f"bytes (undecodable msgpack: {e})", lit) from e
        raise ctx.literal_mismatch("bytes", lit)

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "string", "format": "base64"}


def _as_aware(value: dt.datetime) -> dt.datetime:
    # Naive datetimes are taken to be UTC: the only reading that gives the same instant on every machine.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


class DatetimeTransformer(_Simple):
    """An instant: a protobuf Timestamp at the top level (comes back in UTC), ISO 8601 inside structs."""

    tag = name = "datetime"
    simple = SimpleType.DATETIME

    def describe(self) -> str:
        return "datetime.datetime"

    def check(self, value: Any, ctx: Ctx) -> dt.datetime:
        if not isinstance(value, dt.datetime):
            raise ctx.mismatch("datetime.datetime", value)
        return _as_aware(value)

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is dt.datetime

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        aware = self.check(value, ctx)
        try:
            utc = aware.astimezone(dt.timezone.utc)
        except OverflowError:  # e.g. datetime.min at +05:00 falls before year 1 in UTC
            raise ctx.mismatch("datetime.datetime that is representable in UTC", value) from None
        ts = Timestamp()
        ts.FromDatetime(utc)
        return _primitive_literal(datetime=ts)

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        ts = _primitive(lit, "datetime", "datetime.datetime", ctx)
        try:
            result: dt.datetime = ts.ToDatetime(tzinfo=dt.timezone.utc)
        except (ValueError, OverflowError):
            raise ctx.literal_mismatch("datetime.datetime (timestamp out of range)", lit) from None
        return result

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        return self.check(value, ctx).isoformat()

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        if not isinstance(obj, str):
            raise ctx.mismatch("datetime.datetime as an ISO 8601 string", obj)
        text = obj[:-1] + "+00:00" if obj.endswith(("Z", "z")) else obj  # Python 3.10 rejects a "Z" suffix
        try:
            return _as_aware(dt.datetime.fromisoformat(text))
        except ValueError:
            raise ctx.mismatch("datetime.datetime as an ISO 8601 string", obj) from None

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "string", "format": "date-time"}


class TimedeltaTransformer(_Simple):
    """A protobuf Duration at the top level; seconds as a float inside structs, as mashumaro writes it."""

    tag = name = "timedelta"
    simple = SimpleType.DURATION

    def describe(self) -> str:
        return "datetime.timedelta"

    def check(self, value: Any, ctx: Ctx) -> dt.timedelta:
        if not isinstance(value, dt.timedelta):
            raise ctx.mismatch("datetime.timedelta", value)
        if abs(value.days) * 86_400 > DURATION_MAX_SECONDS:
            raise ctx.mismatch("datetime.timedelta within +-10,000 years (a protobuf Duration)", value)
        return value

    def matches_exactly(self, value: Any) -> bool:
        return type(value) is dt.timedelta

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        duration = Duration()
        duration.FromTimedelta(self.check(value, ctx))
        return _primitive_literal(duration=duration)

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        duration = _primitive(lit, "duration", "datetime.timedelta", ctx)
        try:
            result: dt.timedelta = duration.ToTimedelta()
        except (ValueError, OverflowError):
            raise ctx.literal_mismatch("datetime.timedelta (duration out of range)", lit) from None
        return result

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        return self.check(value, ctx).total_seconds()

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        if not isinstance(obj, (int, float)) or isinstance(obj, bool) or not math.isfinite(obj):
            raise ctx.mismatch("datetime.timedelta as a number of seconds", obj)
        try:
            return dt.timedelta(seconds=obj)
        except OverflowError:
            raise ctx.mismatch("datetime.timedelta as a number of seconds", obj) from None

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "number", "format": "time-delta"}


class NoneTransformer(_Simple):
    tag = name = "none"
    simple = SimpleType.NONE

    def describe(self) -> str:
        return "None"

    def matches_exactly(self, value: Any) -> bool:
        return value is None

    def admits_none(self) -> bool:
        return True

    def to_literal(self, value: Any, ctx: Ctx) -> Literal:
        if value is not None:
            raise ctx.mismatch("None", value)
        return Literal(scalar=Scalar(none_type=Void()))

    def from_literal(self, lit: Literal, ctx: Ctx) -> Any:
        if not (lit.HasField("scalar") and lit.scalar.HasField("none_type")):
            raise ctx.literal_mismatch("None", lit)
        return None

    def to_plain(self, value: Any, ctx: Ctx) -> Any:
        if value is not None:
            raise ctx.mismatch("None", value)
        return None

    def from_plain(self, obj: Any, ctx: Ctx) -> Any:
        return self.to_plain(obj, ctx)

    def json_schema(self, seen: frozenset[type]) -> JsonSchema:
        return {"type": "null"}
