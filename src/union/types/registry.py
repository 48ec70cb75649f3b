"""Finds the transformer for an annotation (or for a Flyte literal type), once per annotation.

Lookups are cached because interfaces are built at decoration time and values converted per call; the
lock also guards recursive dataclasses, which are registered before their fields are resolved.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import threading
import types
import typing
from pathlib import Path
from typing import Any

from union.types._pb import LiteralType, SimpleType
from union.types.errors import UnsupportedTypeError
from union.types.transformers.base import Ctx, Transformer
from union.types.transformers.containers import DictTransformer, ListTransformer, UnionTransformer
from union.types.transformers.enums import EnumTransformer, EnumValuesTransformer
from union.types.transformers.paths import ANY, DIR, FILE, MULTIPART, PathKind, PathTransformer
from union.types.transformers.scalars import (
    BoolTransformer,
    BytesTransformer,
    DatetimeTransformer,
    FloatTransformer,
    IntTransformer,
    NoneTransformer,
    StrTransformer,
    TimedeltaTransformer,
)
from union.types.transformers.structs import (
    DataclassTransformer,
    Field,
    GenericStructTransformer,
    PydanticTransformer,
    pydantic_base,
)

__all__ = ["transformer_for", "transformer_for_literal_type", "type_name"]

_SIMPLE: dict[Any, type[Transformer]] = {
    int: IntTransformer,
    float: FloatTransformer,
    str: StrTransformer,
    bool: BoolTransformer,
    bytes: BytesTransformer,
    dt.datetime: DatetimeTransformer,
    dt.timedelta: TimedeltaTransformer,
    type(None): NoneTransformer,
    None: NoneTransformer,
}

_lock = threading.RLock()
_cache: dict[Any, Transformer] = {}
# Transformers built during the current outermost lookup; a one-element stack, guarded by _lock.
_pending: list[dict[Any, Transformer]] = []
_building: dict[type, DataclassTransformer] = {}


def type_name(annotation: Any) -> str:
    """The annotation as written in source, for messages."""
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        module = annotation.__module__
        if module in ("builtins", "__main__"):
            return annotation.__qualname__
        return f"{module}.{annotation.__qualname__}"
    return repr(annotation).replace("typing.", "")


def _lookup(cache: dict[Any, Transformer], annotation: Any) -> Transformer | None:
    try:
        return cache.get(annotation)
    except TypeError:  # unhashable annotation metadata: rebuilt each time
        return None


def transformer_for(annotation: Any, where: str = "annotation") -> Transformer:
    """The transformer for a Python annotation; raises UnsupportedTypeError naming ``where``."""
    cached = _lookup(_cache, annotation)
    if cached is not None:
        return cached
    with _lock:
        outermost = not _pending
        if outermost:
            _pending.append({})
        pending = _pending[0]
        try:
            transformer = (
                _lookup(pending, annotation) or _lookup(_cache, annotation) or _build(annotation, where)
            )
            with contextlib.suppress(TypeError):
                pending[annotation] = transformer
            if outermost:  # publish only complete transformers (recursive dataclasses fill in late)
                _cache.update(pending)
            return transformer
        finally:
            if outermost:
                _pending.clear()


def _unsupported(where: str, annotation: Any, reason: str = "") -> UnsupportedTypeError:
    return UnsupportedTypeError(where, type_name(annotation), reason)


def _build(annotation: Any, where: str) -> Transformer:
    if isinstance(annotation, (str, typing.ForwardRef)):
        return _raise(
            _unsupported(where, annotation, "an unresolved forward reference; define it at module level")
        )
    try:
        simple = _SIMPLE.get(annotation)
    except TypeError:
        simple = None
    if simple is not None:
        return simple()
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _annotated(annotation, args, where)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        variants: list[Transformer] = []
        for arg in dict.fromkeys(args):  # typing already dedupes; keep declaration order
            variants.append(transformer_for(arg, where))
        return UnionTransformer(variants)
    if origin is list:
        if len(args) != 1:
            return _raise(_unsupported(where, annotation, "a list needs its item type: list[X]"))
        return ListTransformer(transformer_for(args[0], where))
    if origin is dict:
        if len(args) != 2:
            return _raise(_unsupported(where, annotation, "a dict needs its types: dict[str, X]"))
        if args[0] is not str:
            return _raise(_unsupported(where, annotation, "Flyte maps need str keys"))
        return DictTransformer(transformer_for(args[1], where))
    if annotation is list or annotation is dict:
        return _raise(
            _unsupported(where, annotation, "give the element types, e.g. list[int] or dict[str, int]")
        )
    if origin is tuple or annotation is tuple:
        return _raise(_unsupported(where, annotation, "a tuple is only allowed as a return annotation"))
    if isinstance(annotation, type):
        return _class(annotation, where)
    return _raise(_unsupported(where, annotation))


def _raise(error: UnsupportedTypeError) -> Transformer:
    raise error


def _annotated(annotation: Any, args: tuple[Any, ...], where: str) -> Transformer:
    base, *metadata = args
    kinds = [m for m in metadata if isinstance(m, PathKind)]
    if kinds:
        if base is not Path:
            return _raise(
                _unsupported(where, annotation, "FilePath/DirPath markers only apply to pathlib.Path")
            )
        return PathTransformer(kinds[0])
    return transformer_for(base, where)  # other metadata (docs, validators) does not change the wire type


def _class(cls: type, where: str) -> Transformer:
    if issubclass(cls, Path):
        return PathTransformer(ANY)
    if issubclass(cls, enum.Enum):
        values = [member.value for member in cls]
        if not values or not all(isinstance(v, str) for v in values):
            return _raise(
                _unsupported(where, cls, "Flyte enums need at least one member, all with str values")
            )
        return EnumTransformer(cls)
    if dataclasses.is_dataclass(cls):
        return _dataclass(cls, where)
    base = pydantic_base()
    if base is not None and issubclass(cls, base):
        return PydanticTransformer(cls)
    return _raise(_unsupported(where, cls))


def _dataclass(cls: type, where: str) -> Transformer:
    if cls in _building:  # recursive reference: the same transformer, its fields filled in below
        return _building[cls]
    transformer = DataclassTransformer(cls)
    _building[cls] = transformer
    try:
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as e:  # NameError for unresolvable forward references, mostly
            raise _unsupported(where, cls, f"its field annotations cannot be resolved: {e}") from e
        for f in dataclasses.fields(cls):
            field_where = f"{where}, field {cls.__qualname__}.{f.name}"
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            field_transformer = transformer_for(hints[f.name], field_where)
            transformer.fields.append(Field(f.name, field_transformer, required, f.init, f.default))
    finally:
        del _building[cls]
    return transformer


_BY_SIMPLE: dict[Any, type[Transformer]] = {
    SimpleType.INTEGER: IntTransformer,
    SimpleType.FLOAT: FloatTransformer,
    SimpleType.STRING: StrTransformer,
    SimpleType.BOOLEAN: BoolTransformer,
    SimpleType.DATETIME: DatetimeTransformer,
    SimpleType.DURATION: TimedeltaTransformer,
    SimpleType.NONE: NoneTransformer,
    SimpleType.BINARY: BytesTransformer,
}


def transformer_for_literal_type(lt: LiteralType, where: str) -> Transformer:
    """A transformer guessed from a Flyte literal type, for interfaces that come without Python types.

    Values decode to plain Python: enums to their ``str`` value, structs to dicts, blobs to paths.
    """
    transformer = _from_literal_type(lt, where)
    if lt.HasField("structure") and lt.structure.tag:
        transformer.tag = lt.structure.tag  # keep the writer's union tag so it can find its variant
    return transformer


def _from_literal_type(lt: LiteralType, where: str) -> Transformer:
    kind = lt.WhichOneof("type")
    if kind == "simple":
        if lt.simple == SimpleType.STRUCT:
            return GenericStructTransformer(lt, _plain_of)
        if lt.simple in _BY_SIMPLE:
            return _BY_SIMPLE[lt.simple]()
    elif kind == "collection_type":
        return ListTransformer(transformer_for_literal_type(lt.collection_type, where))
    elif kind == "map_value_type":
        return DictTransformer(transformer_for_literal_type(lt.map_value_type, where))
    elif kind == "enum_type":
        return EnumValuesTransformer(list(lt.enum_type.values))
    elif kind == "union_type":
        return UnionTransformer([transformer_for_literal_type(v, where) for v in lt.union_type.variants])
    elif kind == "blob":
        return PathTransformer(DIR if lt.blob.dimensionality == MULTIPART else FILE)
    raise UnsupportedTypeError(where, f"the Flyte literal type {kind or 'with no kind'}")


def _plain_of(cls: type, ctx: Ctx) -> Transformer:
    return transformer_for(cls, ctx.where)
