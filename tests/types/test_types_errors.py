# typing.Optional/Union are tested on purpose: they are distinct objects from X | Y at runtime.
# ruff: noqa: UP007, UP045
from __future__ import annotations

import datetime as dt
import enum
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional, Union

import pytest
from flyteidl2.core import literals_pb2
from types_models import BadRecursive, Color, Inner, Number, Outer, Unsupported, Validated, make_outer

from union.errors import UnionError
from union.types import (
    FileHandlerRequiredError,
    PathNotFoundError,
    TypeMismatchError,
    UnsupportedTypeError,
    from_literal,
    literal_type_for,
    to_literal,
)
from union.types._msgpack import packb


class Plain:
    pass


class Other(enum.Enum):
    RED = "red"


def test_error_classes() -> None:
    for cls in (UnsupportedTypeError, TypeMismatchError):
        assert issubclass(cls, UnionError)
        assert issubclass(cls, TypeError)


@pytest.mark.parametrize(
    ("annotation", "shown", "reason"),
    [
        (Any, "Any", ""),
        (object, "object", ""),
        (Plain, "Plain", ""),
        (set[int], "set[int]", ""),
        (list, "list", "element types"),
        (dict, "dict", "element types"),
        (dict[int, str], "dict[int, str]", "str keys"),
        (tuple[int, str], "tuple[int, str]", "return annotation"),
        (Number, "Number", "str values"),
        (Callable[[int], int], "Callable", ""),
        (Optional[set[int]], "set[int]", ""),
        (list[Plain], "Plain", ""),
        (Union[int, object], "object", ""),
        ("Inner", "'Inner'", "forward reference"),
        (typing.Annotated[str, "doc"] | set[str], "set[str]", ""),
    ],
    ids=lambda v: str(v)[:30],
)
def test_unsupported_annotations(annotation: Any, shown: str, reason: str) -> None:
    with pytest.raises(UnsupportedTypeError) as info:
        literal_type_for(annotation)
    message = str(info.value)
    assert shown in message
    assert reason in message
    assert "Supported types: int, float, str, bool, bytes" in message


def test_unhashable_annotated_metadata_is_fine() -> None:
    annotation = typing.Annotated[list[int], {"unhashable": []}]
    assert literal_type_for(annotation) == literal_type_for(list[int])
    assert from_literal(to_literal([1], annotation), annotation) == [1]


def test_unsupported_dataclass_field_is_named() -> None:
    with pytest.raises(UnsupportedTypeError, match=r"field Unsupported\.bad: set\[int\]"):
        literal_type_for(Unsupported)


def test_failed_recursive_dataclass_leaves_nothing_half_built() -> None:
    for _ in range(2):  # the second lookup must fail the same way, not find a cached partial transformer
        with pytest.raises(UnsupportedTypeError, match=r"BadRecursive\.bad"):
            literal_type_for(BadRecursive)
        with pytest.raises(UnsupportedTypeError, match=r"BadRecursive\.bad"):
            literal_type_for(list[BadRecursive])


def test_unsupported_also_raised_by_to_and_from_literal() -> None:
    with pytest.raises(UnsupportedTypeError):
        to_literal({1}, set[int])
    with pytest.raises(UnsupportedTypeError):
        from_literal(to_literal(1, int), set[int])


MISMATCHES: list[tuple[str, Any, Any, str, str]] = [
    ("int-str", int, "1", "expected int", "got str '1'"),
    ("int-bool", int, True, "expected int", "got bool True"),
    ("int-float", int, 1.0, "expected int", "got float 1.0"),
    ("int-too-big", int, 2**63, "signed 64-bit range", "got int 9223372036854775808"),
    ("int-too-small", int, -(2**63) - 1, "signed 64-bit range", "got int"),
    ("int-none", int, None, "expected int", "got None"),
    ("float-str", float, "1.0", "expected float", "got str"),
    ("float-bool", float, False, "expected float", "got bool"),
    ("float-huge-int", float, 10**400, "no float value", "got int"),
    ("str-bytes", str, b"x", "expected str", "got bytes b'x'"),
    ("str-int", str, 1, "expected str", "got int 1"),
    ("str-surrogate", str, "\ud800", "UTF-8", "got str"),
    ("bool-int", bool, 1, "expected bool", "got int 1"),
    ("bytes-str", bytes, "x", "expected bytes", "got str"),
    ("datetime-date", dt.datetime, dt.date(2024, 1, 1), "expected datetime.datetime", "got date"),
    ("datetime-str", dt.datetime, "2024-01-01", "expected datetime.datetime", "got str"),
    ("timedelta-int", dt.timedelta, 5, "expected datetime.timedelta", "got int 5"),
    (
        "datetime-pre-utc",
        dt.datetime,
        dt.datetime.min.replace(tzinfo=dt.timezone(dt.timedelta(hours=5))),
        "representable in UTC",
        "got datetime",
    ),
    ("timedelta-huge", dt.timedelta, dt.timedelta(days=4_000_000), "10,000 years", "got timedelta"),
    ("none-zero", None, 0, "expected None", "got int 0"),
    ("optional-str", Optional[int], "x", "expected int", "got str 'x'"),
    ("union", Union[int, Color], "purple", "expected int | Color", "got str 'purple'"),
    ("enum-bad-value", Color, "purple", "expected Color (one of ['red', 'green', 'blue'])", "got str"),
    ("enum-other-class", Color, Other.RED, "expected Color", "got Other"),
    ("enum-int", Color, 1, "expected Color", "got int"),
    ("list-tuple", list[int], (1, 2), "expected list[int]", "got tuple"),
    ("list-str", list[str], "abc", "expected list[str]", "got str 'abc'"),
    ("dict-list", dict[str, int], [("a", 1)], "expected dict[str, int]", "got list"),
    ("dataclass-other", Inner, make_outer(), "expected Inner", "got Outer"),
    ("dataclass-dict", Inner, {"x": 1}, "expected Inner", "got dict"),
    ("path-str", Path, "/tmp", "expected pathlib.Path", "got str"),
]


@pytest.mark.parametrize(
    ("annotation", "value", "expected", "got"), [c[1:] for c in MISMATCHES], ids=[c[0] for c in MISMATCHES]
)
def test_value_mismatches(annotation: Any, value: Any, expected: str, got: str) -> None:
    with pytest.raises(TypeMismatchError) as info:
        to_literal(value, annotation)
    message = str(info.value)
    assert message.startswith("value: ")
    assert expected in message
    assert got in message


@pytest.mark.parametrize(
    ("annotation", "value", "where"),
    [
        (list[int], [1, "2"], "value[1]: expected int"),
        (dict[str, int], {"a": "b"}, "value['a']: expected int"),
        (dict[str, int], {1: 2}, "value[1]: expected a str key"),
        (list[dict[str, list[int]]], [{}, {"k": [1, None]}], "value[1]['k'][1]: expected int, got None"),
        (Inner, Inner("no", []), "value.x: expected int, got str 'no'"),  # type: ignore[arg-type]
        (Optional[Inner], Inner(1, [2]), "value.tags[0]: expected str, got int 2"),  # type: ignore[list-item]
        (
            Outer,
            make_outer().__class__(**{**make_outer().__dict__, "color": "teal"}),
            "value.color: expected Color",
        ),
    ],
)
def test_nested_mismatch_names_the_location(annotation: Any, value: Any, where: str) -> None:
    with pytest.raises(TypeMismatchError) as info:
        to_literal(value, annotation)
    assert where in str(info.value)


def _binary(data: bytes, tag: str = "msgpack") -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=data, tag=tag)))


LITERAL_MISMATCHES: list[tuple[str, literals_pb2.Literal, Any, str, str]] = [
    (
        "str-as-int",
        to_literal("1", str),
        int,
        "a literal for int",
        "a primitive literal holding string_value",
    ),
    ("int-as-str", to_literal(1, int), str, "a literal for str", "a primitive literal holding integer"),
    ("frac-float-as-int", to_literal(1.5, float), int, "expected int", "got float 1.5"),
    (
        "collection-as-dict",
        to_literal([1], list[int]),
        dict[str, int],
        "dict[str, int]",
        "a collection literal",
    ),
    ("map-as-list", to_literal({}, dict[str, int]), list[int], "list[int]", "a map literal"),
    ("none-as-int", to_literal(None, None), int, "a literal for int", "a none literal"),
    ("int-as-none", to_literal(1, int), None, "a literal for None", "a primitive literal holding integer"),
    ("empty", literals_pb2.Literal(), int, "a literal for int", "an empty literal"),
    ("bad-enum", to_literal("purple", str), Color, "Color", "got str 'purple'"),
    ("bytes-as-str", to_literal(b"x", bytes), str, "a literal for str", "a binary literal (tag 'bytes')"),
    ("garbage-msgpack", _binary(b"\xc1"), Inner, "valid msgpack data", "undecodable bytes"),
    ("garbage-json", _binary(b"{", "json"), Inner, "valid json data", "undecodable bytes"),
    ("missing-field", _binary(packb({"tags": []})), Inner, "Inner with field 'x'", "a map without it"),
    ("wrong-field", _binary(packb({"x": "1"})), Inner, "value.x: expected int", "got str"),
    ("not-a-map", _binary(packb([1])), Inner, "Inner as a map of fields", "got list"),
    (
        "post-init",
        _binary(packb({"n": -1})),
        Validated,
        "data accepted by Validated()",
        "must not be negative",
    ),
    ("unknown-tag", _binary(b"x", "pickle"), bytes, "a literal for bytes", "tag 'pickle'"),
    ("bad-datetime", _binary(packb("yesterday")), dt.datetime, "ISO 8601", "got str 'yesterday'"),
    (
        "blob-as-str",
        literals_pb2.Literal(scalar=literals_pb2.Scalar(blob=literals_pb2.Blob(uri="s3://x"))),
        str,
        "a literal for str",
        "a scalar literal holding blob",
    ),
    ("optional-mismatch", to_literal("s", str), Optional[int], "a literal for int", "string_value"),
    ("union-mismatch", to_literal(1.5, float), Union[int, bool], "int | bool", "float_value"),
]


@pytest.mark.parametrize(
    ("literal", "annotation", "expected", "got"),
    [c[1:] for c in LITERAL_MISMATCHES],
    ids=[c[0] for c in LITERAL_MISMATCHES],
)
def test_literal_mismatches(literal: literals_pb2.Literal, annotation: Any, expected: str, got: str) -> None:
    with pytest.raises(TypeMismatchError) as info:
        from_literal(literal, annotation)
    message = str(info.value)
    assert expected in message
    assert got in message


def test_out_of_range_timestamp_and_duration_literals() -> None:
    ts = to_literal(dt.datetime(2024, 1, 1), dt.datetime)
    ts.scalar.primitive.datetime.seconds = 2**62
    with pytest.raises(TypeMismatchError, match="timestamp out of range"):
        from_literal(ts, dt.datetime)
    dur = to_literal(dt.timedelta(1), dt.timedelta)
    dur.scalar.primitive.duration.seconds = 2**62
    with pytest.raises(TypeMismatchError, match="duration out of range"):
        from_literal(dur, dt.timedelta)


def test_from_literal_rejects_non_literals() -> None:
    with pytest.raises(TypeMismatchError, match="expected a flyteidl2.core.literals_pb2.Literal, got int 5"):
        from_literal(5, int)  # type: ignore[arg-type]


def test_long_values_are_abbreviated_in_messages() -> None:
    with pytest.raises(TypeMismatchError) as info:
        to_literal("y" * 10_000, int)
    assert len(str(info.value)) < 200


def test_path_errors(tmp_path: Path, files: Any) -> None:
    with pytest.raises(PathNotFoundError, match="does not exist"):
        to_literal(tmp_path / "missing.txt", Path, files=files)
    present = tmp_path / "present.txt"
    present.write_text("x")
    with pytest.raises(FileHandlerRequiredError, match="needs a FileHandler"):
        to_literal(present, Path)
    assert issubclass(PathNotFoundError, FileNotFoundError)
    assert issubclass(FileHandlerRequiredError, UnionError)


def test_offloaded_literal_needs_a_handler() -> None:
    lit = literals_pb2.Literal(offloaded_metadata=literals_pb2.LiteralOffloadedMetadata(uri="s3://b/k"))
    with pytest.raises(FileHandlerRequiredError, match="s3://b/k"):
        from_literal(lit, int)


def test_make_outer_is_valid() -> None:
    # Guards the fixtures used above: the mismatches must come from the altered field only.
    assert from_literal(to_literal(make_outer(), Outer), Outer) == make_outer()
