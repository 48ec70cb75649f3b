from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flyteidl2.core import types_pb2
from google.protobuf import json_format

from union.types import TypeMismatchError, from_literal, literal_type_for, to_literal
from union.types._msgpack import unpackb

pydantic = pytest.importorskip("pydantic")


class Point(pydantic.BaseModel):  # type: ignore[misc,name-defined]
    x: int
    y: float = 0.0
    label: str | None = None
    when: dt.datetime | None = None
    tags: list[str] = []


class Shape(pydantic.BaseModel):  # type: ignore[misc,name-defined]
    name: str
    points: list[Point]


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        (Point, Point(x=1)),
        (Point, Point(x=-(2**40), y=2.5, label="ü", when=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))),
        (Shape, Shape(name="tri", points=[Point(x=0), Point(x=1, tags=["a"])])),
        (list[Point], [Point(x=1), Point(x=2)]),
        (Point | None, None),
        (dict[str, Shape], {"s": Shape(name="", points=[])}),
    ],
)
def test_pydantic_round_trip(annotation: Any, value: Any) -> None:
    assert from_literal(to_literal(value, annotation), annotation) == value


def test_pydantic_wire_format_matches_flyte2() -> None:
    lt = literal_type_for(Point)
    assert lt.simple == types_pb2.SimpleType.STRUCT
    assert json_format.MessageToDict(lt.metadata)["title"] == "Point"
    assert json_format.MessageToDict(lt.annotation.annotations) == {
        "cache-key-metadata": {"serialization-format": "msgpack"}
    }
    lit = to_literal(Point(x=1, tags=["t"]), Point)
    assert lit.scalar.binary.tag == "msgpack"
    assert unpackb(lit.scalar.binary.value) == {"x": 1, "y": 0.0, "label": None, "when": None, "tags": ["t"]}


def test_pydantic_errors() -> None:
    with pytest.raises(TypeMismatchError, match="expected Point, got dict"):
        to_literal({"x": 1}, Point)
    bad = to_literal(Shape(name="s", points=[]), Shape)
    with pytest.raises(TypeMismatchError, match="data valid for Point"):
        from_literal(bad, Point)


def test_dataclass_may_nest_a_pydantic_model() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Holder:
        point: Point

    assert from_literal(to_literal(Holder(Point(x=3)), Holder), Holder) == Holder(Point(x=3))
