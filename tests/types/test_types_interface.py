from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import types_tasks as tasks
from flyteidl2.core import interface_pb2, literals_pb2, types_pb2
from types_models import Color, Inner

from union.types import (
    InputsError,
    MissingInputError,
    TypeMismatchError,
    UnknownInputError,
    UnsupportedTypeError,
    from_literal,
    inputs_to_literals,
    interface_for,
    literal_type_for,
    literals_to_inputs,
    literals_to_outputs,
    outputs_to_literals,
    to_literal,
)

ST = types_pb2.SimpleType
WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)


def variables(vm: interface_pb2.VariableMap) -> dict[str, types_pb2.LiteralType]:
    return {entry.key: entry.value.type for entry in vm.variables}


def test_interface_inputs_and_tuple_outputs() -> None:
    iface = interface_for(tasks.add)
    assert [e.key for e in iface.inputs.variables] == ["a", "b", "c"]
    assert variables(iface.inputs) == {
        "a": literal_type_for(int),
        "b": literal_type_for(str),
        "c": literal_type_for(list[float] | None),
    }
    assert [e.key for e in iface.outputs.variables] == ["o0", "o1"]
    assert variables(iface.outputs) == {"o0": literal_type_for(int), "o1": literal_type_for(str)}


def test_interface_single_output_and_none() -> None:
    assert variables(interface_for(tasks.single).outputs) == {"o0": literal_type_for(Inner)}
    assert variables(interface_for(tasks.single).inputs)["color"].enum_type.values == ["red", "green", "blue"]
    none_iface = interface_for(tasks.nothing)
    assert list(none_iface.outputs.variables) == []
    assert variables(none_iface.inputs)["path"].HasField("blob")
    assert list(interface_for(tasks.no_inputs).inputs.variables) == []


def test_interface_survives_the_wire() -> None:
    iface = interface_for(tasks.single)
    assert interface_pb2.TypedInterface.FromString(iface.SerializeToString()) == iface


@pytest.mark.parametrize(
    ("func", "fragments"),
    [
        (tasks.missing_param_annotation, ["parameter 'a'", "missing_param_annotation", "type hint"]),
        (tasks.missing_return_annotation, ["return value", "-> None"]),
        (tasks.unsupported_param, ["parameter 's'", "set[int] is not a supported type"]),
        (tasks.unsupported_return, ["return value", "set[int]"]),
        (tasks.var_args, ["parameter 'args'", "variadic positional"]),
        (tasks.var_kwargs, ["parameter 'kwargs'", "variadic keyword"]),
        (tasks.positional_only, ["parameter 'a'", "positional-only"]),
        (tasks.bad_tuple, ["return value", "tuple[int, ...]"]),
        (tasks.unresolvable, ["unresolvable", "DoesNotExist"]),
    ],
    ids=lambda v: getattr(v, "__name__", "")[:30],
)
def test_interface_errors_name_the_parameter(func: Any, fragments: list[str]) -> None:
    with pytest.raises(UnsupportedTypeError) as info:
        interface_for(func)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_interface_for_rejects_non_callables() -> None:
    with pytest.raises(TypeError, match="expected a task function"):
        interface_for(42)  # type: ignore[arg-type]


def test_inputs_defaults_are_honoured() -> None:
    lm = inputs_to_literals(tasks.add, {"a": 1})
    assert isinstance(lm, literals_pb2.LiteralMap)
    assert set(lm.literals) == {"a", "b", "c"}
    assert lm.literals["b"].scalar.primitive.string_value == "x"
    assert lm.literals["c"].scalar.union.value.scalar.HasField("none_type")
    assert literals_to_inputs(tasks.add, lm) == {"a": 1, "b": "x", "c": None}


def test_inputs_round_trip() -> None:
    kwargs = {"inner": Inner(3, ["t"]), "when": WHEN, "color": Color.BLUE}
    lm = inputs_to_literals(tasks.single, kwargs)
    wire = literals_pb2.LiteralMap.FromString(lm.SerializeToString())
    assert literals_to_inputs(tasks.single, wire) == kwargs
    assert literals_to_inputs(tasks.single, dict(wire.literals)) == kwargs


def test_literals_to_inputs_fills_defaults() -> None:
    lm = {"inner": to_literal(Inner(1), Inner), "when": to_literal(WHEN, dt.datetime)}
    assert literals_to_inputs(tasks.single, lm)["color"] is Color.RED


def test_unknown_input_is_reported_with_a_suggestion() -> None:
    with pytest.raises(UnknownInputError) as info:
        inputs_to_literals(tasks.add, {"a": 1, "bb": "y"})
    message = str(info.value)
    assert "unknown input 'bb' (did you mean 'b'?)" in message
    assert "its inputs are: a, b, c" in message
    assert isinstance(info.value, InputsError)
    assert isinstance(info.value, TypeError)


def test_missing_inputs_are_all_listed() -> None:
    with pytest.raises(MissingInputError, match="missing required inputs 'inner', 'when'"):
        inputs_to_literals(tasks.single, {})
    with pytest.raises(MissingInputError, match="missing required input 'a'"):
        inputs_to_literals(tasks.add, {"b": "z"})


def test_wrong_input_type_names_the_input() -> None:
    with pytest.raises(TypeMismatchError, match=r"input 'c'\[1\]: expected float, got str 'no'"):
        inputs_to_literals(tasks.add, {"a": 1, "c": [1.0, "no"]})
    with pytest.raises(TypeMismatchError, match="input 'a': expected int, got str '1'"):
        inputs_to_literals(tasks.add, {"a": "1"})


def test_literals_to_inputs_errors() -> None:
    with pytest.raises(UnknownInputError, match="unknown input literal 'z'"):
        literals_to_inputs(tasks.add, {"a": to_literal(1, int), "z": to_literal(1, int)})
    with pytest.raises(MissingInputError, match="missing required input literal 'a'"):
        literals_to_inputs(tasks.add, {})
    with pytest.raises(TypeMismatchError, match="input 'a': expected a literal for int"):
        literals_to_inputs(tasks.add, {"a": to_literal("1", str)})
    with pytest.raises(TypeMismatchError, match="a LiteralMap or a dict"):
        literals_to_inputs(tasks.add, [1])  # type: ignore[arg-type]


def test_outputs_round_trip() -> None:
    lm = outputs_to_literals(tasks.add, (5, "five"))
    assert set(lm.literals) == {"o0", "o1"}
    assert literals_to_outputs(tasks.add, lm) == (5, "five")
    single = outputs_to_literals(tasks.single, Inner(2))
    assert from_literal(single.literals["o0"], Inner) == Inner(2)
    assert literals_to_outputs(tasks.single, single) == Inner(2)
    assert outputs_to_literals(tasks.nothing, None) == literals_pb2.LiteralMap()
    assert literals_to_outputs(tasks.nothing, {}) is None


def test_output_errors() -> None:
    with pytest.raises(TypeMismatchError, match="a tuple of 2 values"):
        outputs_to_literals(tasks.add, 5)
    with pytest.raises(TypeMismatchError, match="a tuple of 2 values"):
        outputs_to_literals(tasks.add, (1, "a", 2))
    with pytest.raises(TypeMismatchError, match="output 'o1': expected str"):
        outputs_to_literals(tasks.add, (1, 2))
    with pytest.raises(TypeMismatchError, match="expected None"):
        outputs_to_literals(tasks.nothing, 1)
    with pytest.raises(TypeMismatchError, match=r"expected outputs \['o0'\]"):
        literals_to_outputs(tasks.single, {})


class TestRemoteInterface:
    """Conversion driven by a TypedInterface alone, as when running a task registered elsewhere."""

    def test_inputs_encode_the_same_as_the_function_would(self) -> None:
        iface = interface_for(tasks.single)
        from_func = inputs_to_literals(tasks.single, {"inner": Inner(1, ["a"]), "when": WHEN})
        from_iface = inputs_to_literals(
            iface, {"inner": {"x": 1, "tags": ["a"]}, "when": WHEN, "color": "red"}
        )
        assert from_iface == from_func

    def test_dataclass_instances_are_accepted_for_structs(self) -> None:
        iface = interface_for(tasks.single)
        lm = inputs_to_literals(iface, {"inner": Inner(4), "when": WHEN, "color": Color.GREEN})
        assert literals_to_inputs(tasks.single, lm) == {"inner": Inner(4), "when": WHEN, "color": Color.GREEN}

    def test_decoding_gives_plain_values(self) -> None:
        lm = inputs_to_literals(tasks.single, {"inner": Inner(7, ["q"]), "when": WHEN, "color": Color.BLUE})
        assert literals_to_inputs(interface_for(tasks.single), lm) == {
            "inner": {"x": 7, "tags": ["q"]},
            "when": WHEN,
            "color": "blue",
        }

    def test_optional_inputs_may_be_left_out(self) -> None:
        iface = interface_for(tasks.add)
        lm = inputs_to_literals(iface, {"a": 1, "b": "y"})
        assert set(lm.literals) == {"a", "b"}  # c is left to the task's own default
        assert literals_to_inputs(iface, lm) == {"a": 1, "b": "y", "c": None}
        with pytest.raises(MissingInputError, match="'b'"):
            inputs_to_literals(iface, {"a": 1})

    def test_type_errors_and_outputs(self) -> None:
        iface = interface_for(tasks.add)
        with pytest.raises(TypeMismatchError, match="input 'a': expected int"):
            inputs_to_literals(iface, {"a": 1.5, "b": "y"})
        with pytest.raises(TypeMismatchError, match="one of"):
            inputs_to_literals(interface_for(tasks.single), {"inner": {}, "when": WHEN, "color": "mauve"})
        assert literals_to_outputs(iface, outputs_to_literals(tasks.add, (1, "s"))) == (1, "s")

    def test_paths_through_an_interface(self, files: Any, tmp_path: Path) -> None:
        path = tmp_path / "in.txt"
        path.write_text("hello")
        iface = interface_for(tasks.nothing)
        lm = inputs_to_literals(iface, {"path": path}, files=files)
        back = literals_to_inputs(tasks.nothing, lm, files=files)["path"]
        assert back.read_text() == "hello"

    def test_unsupported_literal_type(self) -> None:
        iface = interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(
                variables=[
                    interface_pb2.VariableEntry(
                        key="df",
                        value=interface_pb2.Variable(
                            type=types_pb2.LiteralType(
                                structured_dataset_type=types_pb2.StructuredDatasetType()
                            )
                        ),
                    )
                ]
            )
        )
        with pytest.raises(UnsupportedTypeError, match="input 'df'"):
            inputs_to_literals(iface, {"df": 1})


def test_inputs_do_not_touch_files_without_paths(files: Any) -> None:
    inputs_to_literals(tasks.add, {"a": 1}, files=files)
    assert files.calls == []
