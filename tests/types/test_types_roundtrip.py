# typing.Optional/Union are tested on purpose: they are distinct objects from X | Y at runtime.
# ruff: noqa: UP007, UP045
from __future__ import annotations

import datetime as dt
import math
import typing
from typing import Any, Optional, Union

import pytest
from flyteidl2.core import literals_pb2
from types_models import Color, Frozen, Inner, Node, Outer, Shade, make_outer

from union.types import from_literal, to_literal

UTC = dt.timezone.utc
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def wire(lit: literals_pb2.Literal) -> literals_pb2.Literal:
    """Serialize and parse, as the literal would travel: catches anything protobuf would reject."""
    return literals_pb2.Literal.FromString(lit.SerializeToString())


def round_trip(value: Any, annotation: Any) -> Any:
    return from_literal(wire(to_literal(value, annotation)), annotation)


CASES: list[tuple[str, Any, Any]] = [
    ("int-zero", int, 0),
    ("int-neg", int, -1),
    ("int-max64", int, 2**63 - 1),
    ("int-min64", int, -(2**63)),
    ("int-big", int, 12_345_678_901_234_567),
    ("float-zero", float, 0.0),
    ("float-neg", float, -1.5),
    ("float-huge", float, 1e308),
    ("float-tiny", float, 5e-324),
    ("float-inf", float, float("-inf")),
    ("str-empty", str, ""),
    ("str-latin", str, "héllo wörld"),
    ("str-cjk-emoji", str, "日本語 🎉 \u200b"),
    ("str-nul", str, "nul\x00inside"),
    ("str-long", str, "x" * 100_000),
    ("bool-true", bool, True),
    ("bool-false", bool, False),
    ("bytes-empty", bytes, b""),
    ("bytes-nul", bytes, b"\x00\x01\x00\xff\x00"),
    ("bytes-all", bytes, bytes(range(256)) * 64),
    ("datetime-utc", dt.datetime, dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)),
    ("datetime-min", dt.datetime, dt.datetime.min.replace(tzinfo=UTC)),
    ("datetime-max", dt.datetime, dt.datetime.max.replace(tzinfo=UTC)),
    ("datetime-pre-epoch", dt.datetime, dt.datetime(1900, 6, 1, 0, 0, 0, 1, tzinfo=UTC)),
    ("timedelta-zero", dt.timedelta, dt.timedelta(0)),
    ("timedelta-neg-us", dt.timedelta, dt.timedelta(microseconds=-1)),
    ("timedelta-big", dt.timedelta, dt.timedelta(days=3_652_000, microseconds=7)),
    ("none", None, None),
    ("nonetype", type(None), None),
    ("optional-value", Optional[int], 5),
    ("optional-none", Optional[int], None),
    ("pep604-value", int | None, -7),
    ("pep604-none", str | None, None),
    ("optional-empty-str", Optional[str], ""),
    ("enum", Color, Color.BLUE),
    ("str-enum", Shade, Shade.DARK),
    ("optional-enum-none", Optional[Color], None),
    ("list-empty", list[int], []),
    ("list-int", list[int], [1, 2, 3]),
    ("typing-list", typing.List[str], ["a", ""]),  # noqa: UP006
    ("list-nested", list[list[str]], [[], ["a"], ["b", "c"]]),
    ("list-optional", list[Optional[int]], [1, None, 3]),
    ("list-enum", list[Color], [Color.RED, Color.RED]),
    ("list-bytes", list[bytes], [b"\x00", b""]),
    ("dict-empty", dict[str, int], {}),
    ("dict-int", dict[str, int], {"a": 1, "ü": 2, "": 0}),
    ("typing-dict", typing.Dict[str, float], {"x": 0.5}),  # noqa: UP006
    ("dict-list", dict[str, list[float]], {"a": [], "b": [1.0, 2.5]}),
    ("dict-dict", dict[str, dict[str, bool]], {"a": {"b": True}, "c": {}}),
    ("list-dict-optional", list[dict[str, Optional[int]]], [{"a": None, "b": 1}, {}]),
    ("optional-list", Optional[list[int]], [1]),
    ("optional-list-none", Optional[list[int]], None),
    ("dataclass-simple", Inner, Inner(5, ["t"])),
    ("dataclass-default", Inner, Inner(0)),
    ("dataclass-nested", Outer, make_outer()),
    ("dataclass-list", list[Outer], [make_outer(), make_outer()]),
    ("dataclass-dict", dict[str, Inner], {"one": Inner(1), "two": Inner(2, ["z"])}),
    ("dataclass-optional", Optional[Inner], Inner(9)),
    ("dataclass-optional-none", Optional[Inner], None),
    ("dataclass-recursive", Node, Node(1, [Node(2, [Node(3)], "1"), Node(4)])),
    ("dataclass-frozen", Frozen, Frozen(1, "x")),
    ("union-int", Union[int, str], 3),
    ("union-str", Union[int, str], "3"),
    ("union-float-first", Union[float, int], 2),
    ("union-exact", Union[float, int], 2.5),
    ("union-list-dict", Union[list[int], dict[str, int]], {"a": 1}),
    ("annotated", typing.Annotated[int, "doc"], 4),
]


@pytest.mark.parametrize(("annotation", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_round_trip(annotation: Any, value: Any) -> None:
    back = round_trip(value, annotation)
    assert back == value
    assert type(back) is type(value)


def test_union_keeps_declared_preference() -> None:
    # An int is acceptable as a float, but an exact type match in the union wins.
    assert type(round_trip(2, Union[float, int])) is int
    assert type(round_trip(2, Union[float, str])) is float


def test_float_nan() -> None:
    assert math.isnan(round_trip(float("nan"), float))


def test_int_accepted_for_float() -> None:
    back = round_trip(3, float)
    assert back == 3.0
    assert type(back) is float


def test_bytearray_comes_back_as_bytes() -> None:
    assert round_trip(bytearray(b"\x00a"), bytes) == b"\x00a"


def test_str_subclass_is_sent_as_its_value() -> None:
    lit = to_literal(Shade.LIGHT, str)
    assert lit.scalar.primitive.string_value == "light"
    assert round_trip(Shade.LIGHT, str) == "light"


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 7, 1, 12, 0, tzinfo=IST),
        dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-11))),
        dt.datetime(2024, 3, 10, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=14))),
    ],
)
def test_aware_datetime_keeps_the_instant_in_utc(value: dt.datetime) -> None:
    back = round_trip(value, dt.datetime)
    assert back == value
    assert back.utcoffset() == dt.timedelta(0)
    assert back.astimezone(value.tzinfo).replace(tzinfo=None) == value.replace(tzinfo=None)


def test_naive_datetime_is_taken_as_utc() -> None:
    naive = dt.datetime(2024, 7, 1, 12, 0, 0, 5)
    back = round_trip(naive, dt.datetime)
    assert back == naive.replace(tzinfo=UTC)
    lit = to_literal(naive, dt.datetime)
    assert lit.scalar.primitive.datetime.seconds == int(naive.replace(tzinfo=UTC).timestamp())


def test_datetime_inside_dataclass_keeps_its_offset() -> None:
    outer = make_outer()
    back = round_trip(outer, Outer)
    assert back.when.utcoffset() == dt.timedelta(hours=-7)


def test_naive_datetime_inside_dataclass_becomes_utc() -> None:
    outer = make_outer()
    outer.when = dt.datetime(2020, 1, 1)
    assert round_trip(outer, Outer).when == dt.datetime(2020, 1, 1, tzinfo=UTC)


def test_init_false_field_round_trips() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Counted:
        n: int
        seen: int = dataclasses.field(init=False, default=0)

    value = Counted(3)
    value.seen = 7
    back = round_trip(value, Counted)
    assert (back.n, back.seen) == (3, 7)


def test_local_dataclass_with_builtin_hints() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Local:
        a: list[int]
        b: Optional[str] = None

    assert round_trip(Local([1, 2]), Local) == Local([1, 2])
