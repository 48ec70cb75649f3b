"""Flyte types and interfaces from Python annotations, checked when a task is defined rather than run."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

from union.types._pb import (
    LiteralType,
    NamedParameter,
    Parameter,
    TaskSpec,
    TypedInterface,
    Variable,
    VariableEntry,
    VariableMap,
)
from union.types.errors import UnsupportedTypeError
from union.types.registry import transformer_for, transformer_for_literal_type, type_name
from union.types.transformers.base import Transformer

__all__ = [
    "NO_DEFAULT",
    "Param",
    "RemoteDefault",
    "Signature",
    "default_inputs_for",
    "interface_for",
    "literal_type_for",
    "signature_of",
]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


def literal_type_for(annotation: Any) -> LiteralType:
    """The Flyte LiteralType for a Python annotation (raises UnsupportedTypeError otherwise)."""
    return transformer_for(annotation, "annotation").literal_type()


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    transformer: Transformer
    default: Any = NO_DEFAULT

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT


@dataclasses.dataclass(frozen=True)
class RemoteDefault:
    """The default of a deployed task's input (``TaskSpec.default_inputs``): its literal, or None when the
    input is only declared optional (a default that has no literal form, such as a local path)."""

    literal: Any


@dataclasses.dataclass(frozen=True)
class Signature:
    """A task's inputs and outputs, from a function's hints or from a remote TypedInterface."""

    source: str
    inputs: dict[str, Param]
    outputs: list[Param]
    from_interface: bool

    def interface(self) -> TypedInterface:
        return TypedInterface(inputs=_variables(self.inputs.values()), outputs=_variables(self.outputs))


def _variables(params: typing.Iterable[Param]) -> VariableMap:
    return VariableMap(
        variables=[
            VariableEntry(key=p.name, value=Variable(type=p.transformer.literal_type())) for p in params
        ]
    )


def output_name(index: int) -> str:
    return f"o{index}"


def interface_for(func: Callable[..., Any]) -> TypedInterface:
    """The TypedInterface of a task function: inputs by parameter name, outputs ``o0``, ``o1``...

    Built from the type hints so an unsupported or missing annotation fails when the task is defined.
    """
    return signature_of(func).interface()


def default_inputs_for(func: Callable[..., Any]) -> list[Any]:
    """``TaskSpec.default_inputs`` for a task function: one NamedParameter per input with a default, so a
    run of the deployed task (``union.run(Task.get(...))``) may leave it out like a local call can."""
    from union.types.transformers.base import Ctx

    params = []
    for p in signature_of(func).inputs.values():
        if p.required:
            continue
        parameter = Parameter(var=Variable(type=p.transformer.literal_type()), required=False)
        try:
            parameter.default.CopyFrom(
                p.transformer.to_literal(p.default, Ctx(f"default of {p.name!r}", None))
            )
        except Exception:  # e.g. a Path default: no literal without an upload; the worker fills it in
            parameter.ClearField("default")
        params.append(NamedParameter(name=p.name, parameter=parameter))
    return params


def signature_of(func_or_interface: Any) -> Signature:
    """A Signature from a task function, a TypedInterface, or a TaskSpec (its interface and defaults)."""
    if isinstance(func_or_interface, TaskSpec):
        spec = func_or_interface
        return _from_interface(spec.task_template.interface, spec.default_inputs)
    if isinstance(func_or_interface, TypedInterface):
        return _from_interface(func_or_interface)
    if not callable(func_or_interface):
        raise TypeError(
            f"expected a task function or a flyteidl2 TypedInterface, got {type(func_or_interface).__qualname__}"
        )
    return _from_function(func_or_interface)


def _describe_function(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or "?"
    name = getattr(func, "__qualname__", None) or repr(func)
    return f"function {module}.{name}"


def _from_function(func: Callable[..., Any]) -> Signature:
    source = _describe_function(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as e:  # NameError for a forward reference that does not resolve, mostly
        raise UnsupportedTypeError(source, "its annotations", f"they cannot be resolved: {e}") from e
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as e:
        raise UnsupportedTypeError(source, "its signature", str(e)) from e

    inputs: dict[str, Param] = {}
    for name, parameter in sig.parameters.items():
        where = f"parameter {name!r} of {source}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise UnsupportedTypeError(
                where, parameter.kind.description + " parameter", "task inputs are passed by name"
            )
        if name not in hints:
            raise UnsupportedTypeError(where, "a missing annotation", "every input needs a type hint")
        default = NO_DEFAULT if parameter.default is parameter.empty else parameter.default
        inputs[name] = Param(name, transformer_for(hints[name], where), default)

    if "return" not in hints:
        raise UnsupportedTypeError(
            f"return value of {source}",
            "a missing annotation",
            "annotate it, with '-> None' if nothing is returned",
        )
    return Signature(source, inputs, _outputs(hints["return"], source), from_interface=False)


def _outputs(annotation: Any, source: str) -> list[Param]:
    where = f"return value of {source}"
    if annotation is None or annotation is type(None):
        return []
    origin = typing.get_origin(annotation)
    if origin is tuple:
        args = typing.get_args(annotation)
        if not args or (len(args) == 2 and args[1] is Ellipsis) or args == ((),):
            raise UnsupportedTypeError(
                where, type_name(annotation), "give each element a type: tuple[int, str]"
            )
        return [
            Param(output_name(i), transformer_for(arg, f"{where}, element {i}")) for i, arg in enumerate(args)
        ]
    return [Param(output_name(0), transformer_for(annotation, where))]


def _from_interface(interface: TypedInterface, default_inputs: typing.Iterable[Any] = ()) -> Signature:
    source = "the task interface"
    defaults = {d.name: d.parameter for d in default_inputs}
    inputs: dict[str, Param] = {}
    for entry in interface.inputs.variables:
        name: str = entry.key
        transformer = transformer_for_literal_type(entry.value.type, f"input {name!r} of {source}")
        declared = defaults.get(name)
        if declared is not None:
            default: Any = RemoteDefault(declared.default if declared.HasField("default") else None)
        else:  # no declared default: inputs whose type admits None may be left out
            default = None if transformer.admits_none() else NO_DEFAULT
        inputs[name] = Param(name, transformer, default)
    outputs = [
        Param(entry.key, transformer_for_literal_type(entry.value.type, f"output {entry.key!r} of {source}"))
        for entry in interface.outputs.variables
    ]
    return Signature(source, inputs, outputs, from_interface=True)
