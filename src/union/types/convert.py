"""Value <-> literal conversion for single values and for a task's whole set of inputs or outputs."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from union.types._pb import Literal, LiteralMap
from union.types.errors import MissingInputError, TypeMismatchError, UnknownInputError
from union.types.files import FileHandler
from union.types.registry import transformer_for
from union.types.schema import RemoteDefault, Signature, signature_of
from union.types.transformers.base import Ctx, describe_value

__all__ = [
    "from_literal",
    "inputs_to_literals",
    "literals_to_inputs",
    "literals_to_outputs",
    "outputs_to_literals",
    "to_literal",
]


def to_literal(value: Any, annotation: Any, *, files: FileHandler | None = None) -> Literal:
    """Encode ``value`` as the literal Flyte expects for ``annotation``.

    Raises TypeMismatchError when the value does not fit; ``files`` uploads any path inside it.
    """
    transformer = transformer_for(annotation, "annotation")
    return transformer.to_literal(value, Ctx("value", files))


def from_literal(literal: Literal, annotation: Any, *, files: FileHandler | None = None) -> Any:
    """Decode ``literal`` into a value of ``annotation``; paths in it are downloaded through ``files``."""
    transformer = transformer_for(annotation, "annotation")
    ctx = Ctx("value", files)
    _check_literal(literal, ctx)
    return transformer.decode(literal, ctx)


def _check_literal(literal: Any, ctx: Ctx) -> None:
    if not isinstance(literal, Literal):
        raise TypeMismatchError(ctx.where, "a flyteidl2.core.literals_pb2.Literal", describe_value(literal))


def _literal_dict(literals: Any, what: str) -> dict[str, Literal]:
    if isinstance(literals, LiteralMap):
        return dict(literals.literals)
    if isinstance(literals, Mapping):
        return dict(literals)
    raise TypeMismatchError(what, "a LiteralMap or a dict of name -> Literal", describe_value(literals))


def _unknown(sig: Signature, names: list[str], kind: str) -> UnknownInputError:
    known = list(sig.inputs)
    hints = []
    for name in names:
        close = difflib.get_close_matches(name, known, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return UnknownInputError(
        f"{sig.source}: unknown {kind} {', '.join(hints)}; its inputs are: {', '.join(known) or '(none)'}"
    )


def _missing(sig: Signature, names: list[str], kind: str) -> MissingInputError:
    return MissingInputError(f"{sig.source}: missing required {kind} {', '.join(repr(n) for n in names)}")


def _check_names(sig: Signature, given: Mapping[str, Any], noun: str) -> None:
    """Every given name is an input, and every required input is given; else the typed error."""
    unknown = [name for name in given if name not in sig.inputs]
    if unknown:
        raise _unknown(sig, unknown, noun if len(unknown) == 1 else noun + "s")
    missing = [p.name for p in sig.inputs.values() if p.required and p.name not in given]
    if missing:
        raise _missing(sig, missing, noun if len(missing) == 1 else noun + "s")


def inputs_to_literals(
    func_or_interface: Any, kwargs: Mapping[str, Any], *, files: FileHandler | None = None
) -> LiteralMap:
    """Encode a task's inputs by name, filling in the function's defaults for those not given.

    With a TypedInterface (no Python defaults known) every input is required except those whose type
    admits None, which are simply left out when not given. With a deployed TaskSpec, the inputs its
    ``default_inputs`` declare are optional too, and their default literals are sent when not given.
    """
    sig = signature_of(func_or_interface)
    _check_names(sig, kwargs, "input")
    literals: dict[str, Literal] = {}
    for name, param in sig.inputs.items():
        if name in kwargs:
            value = kwargs[name]
        elif sig.from_interface:
            if isinstance(param.default, RemoteDefault) and param.default.literal is not None:
                literals[name] = param.default.literal  # the deployed task's own default
            continue
        else:
            value = param.default
        literals[name] = param.transformer.to_literal(value, Ctx(f"input {name!r}", files))
    return LiteralMap(literals=literals)


def literals_to_inputs(
    func_or_interface: Any, literals: LiteralMap | Mapping[str, Literal], *, files: FileHandler | None = None
) -> dict[str, Any]:
    """Decode the literals a task was started with into keyword arguments, defaults filled in."""
    sig = signature_of(func_or_interface)
    given = _literal_dict(literals, "inputs")
    _check_names(sig, given, "input literal")
    result: dict[str, Any] = {}
    for name, param in sig.inputs.items():
        if name not in given:
            default = param.default
            if isinstance(default, RemoteDefault):
                default = (
                    None
                    if default.literal is None
                    else param.transformer.decode(default.literal, Ctx(name, files))
                )
            result[name] = default
            continue
        ctx = Ctx(f"input {name!r}", files)
        _check_literal(given[name], ctx)
        result[name] = param.transformer.decode(given[name], ctx)
    return result


def outputs_to_literals(
    func_or_interface: Any, value: Any, *, files: FileHandler | None = None
) -> LiteralMap:
    """Encode what a task returned: nothing for ``-> None``, ``o0`` for one value, ``o0..oN`` for a tuple."""
    sig = signature_of(func_or_interface)
    outputs = sig.outputs
    if not outputs:
        if value is not None:
            raise TypeMismatchError(f"return value of {sig.source}", "None", describe_value(value))
        return LiteralMap()
    values: tuple[Any, ...] = (value,)
    if len(outputs) > 1:
        if not isinstance(value, tuple) or len(value) != len(outputs):
            raise TypeMismatchError(
                f"return value of {sig.source}", f"a tuple of {len(outputs)} values", describe_value(value)
            )
        values = value
    return LiteralMap(
        literals={
            p.name: p.transformer.to_literal(v, Ctx(f"output {p.name!r}", files))
            for p, v in zip(outputs, values, strict=True)
        }
    )


def literals_to_outputs(
    func_or_interface: Any, literals: LiteralMap | Mapping[str, Literal], *, files: FileHandler | None = None
) -> Any:
    """Decode a task's outputs as the function returned them: None, one value, or a tuple."""
    sig = signature_of(func_or_interface)
    given = _literal_dict(literals, "outputs")
    expected = [p.name for p in sig.outputs]
    if sorted(given) != sorted(expected):
        raise TypeMismatchError(
            f"outputs of {sig.source}",
            f"outputs {expected}",
            f"outputs {sorted(given)}",
        )
    values = []
    for p in sig.outputs:
        ctx = Ctx(f"output {p.name!r}", files)
        _check_literal(given[p.name], ctx)
        values.append(p.transformer.decode(given[p.name], ctx))
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)
