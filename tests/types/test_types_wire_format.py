"""The exact LiteralTypes and literals produced: these are what Flyte 2 reads, so they are pinned here."""

# typing.Optional/Union are tested on purpose: they are distinct objects from X | Y at runtime.
# ruff: noqa: UP007, UP045
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Optional, Union

import pytest
from flyteidl2.core import literals_pb2, types_pb2
from google.protobuf import json_format, struct_pb2
from types_models import Color, Inner, Node, Outer, make_outer

from union.types import DirPath, FilePath, from_literal, literal_type_for, to_literal
from union.types._msgpack import packb, unpackb

LT = types_pb2.LiteralType
ST = types_pb2.SimpleType
SINGLE = types_pb2.BlobType.BlobDimensionality.SINGLE
MULTIPART = types_pb2.BlobType.BlobDimensionality.MULTIPART


def tagged(lt: types_pb2.LiteralType, tag: str) -> types_pb2.LiteralType:
    lt.structure.CopyFrom(types_pb2.TypeStructure(tag=tag))
    return lt


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (int, LT(simple=ST.INTEGER)),
        (float, LT(simple=ST.FLOAT)),
        (str, LT(simple=ST.STRING)),
        (bool, LT(simple=ST.BOOLEAN)),
        (bytes, LT(simple=ST.BINARY)),
        (dt.datetime, LT(simple=ST.DATETIME)),
        (dt.timedelta, LT(simple=ST.DURATION)),
        (None, LT(simple=ST.NONE)),
        (list[int], LT(collection_type=LT(simple=ST.INTEGER))),
        (dict[str, list[str]], LT(map_value_type=LT(collection_type=LT(simple=ST.STRING)))),
        (Color, LT(enum_type=types_pb2.EnumType(values=["red", "green", "blue"]))),
        (
            Optional[int],
            LT(
                union_type=types_pb2.UnionType(
                    variants=[tagged(LT(simple=ST.INTEGER), "int"), tagged(LT(simple=ST.NONE), "none")]
                )
            ),
        ),
        (
            Union[str, list[float]],
            LT(
                union_type=types_pb2.UnionType(
                    variants=[
                        tagged(LT(simple=ST.STRING), "str"),
                        tagged(LT(collection_type=LT(simple=ST.FLOAT)), "Typed List"),
                    ]
                )
            ),
        ),
        (Path, LT(blob=types_pb2.BlobType(format="", dimensionality=SINGLE))),
        (FilePath, LT(blob=types_pb2.BlobType(format="", dimensionality=SINGLE))),
        (DirPath, LT(blob=types_pb2.BlobType(format="", dimensionality=MULTIPART))),
    ],
    ids=lambda v: str(v)[:40],
)
def test_literal_types(annotation: Any, expected: types_pb2.LiteralType) -> None:
    assert literal_type_for(annotation) == expected


def test_literal_type_is_a_fresh_copy() -> None:
    first = literal_type_for(list[int])
    first.collection_type.simple = ST.STRING
    assert literal_type_for(list[int]).collection_type.simple == ST.INTEGER


def test_dataclass_literal_type_matches_flyte2_shape() -> None:
    lt = literal_type_for(Inner)
    assert lt.simple == ST.STRUCT
    annotations = json_format.MessageToDict(lt.annotation.annotations)
    assert annotations == {"cache-key-metadata": {"serialization-format": "msgpack"}}
    schema = json_format.MessageToDict(lt.metadata)
    assert schema == {
        "type": "object",
        "title": "Inner",
        "properties": {"x": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "additionalProperties": False,
        "required": ["x"],
    }


def test_nested_dataclass_schema() -> None:
    schema = json_format.MessageToDict(literal_type_for(Outer).metadata)
    assert schema["properties"]["inner"]["title"] == "Inner"
    assert schema["properties"]["maybe"] == {
        "anyOf": [schema["properties"]["inner"], {"type": "null"}],
    }
    assert schema["properties"]["color"] == {"enum": ["red", "green", "blue"]}
    assert schema["properties"]["ratio"] == {"type": "number", "default": 1.0}
    assert schema["properties"]["opt_int"]["default"] is None
    assert schema["properties"]["when"] == {"type": "string", "format": "date-time"}
    assert schema["required"] == [
        "name",
        "inner",
        "maybe",
        "items",
        "mapping",
        "when",
        "duration",
        "color",
        "blob",
    ]


def test_recursive_dataclass_schema_terminates() -> None:
    schema = json_format.MessageToDict(literal_type_for(Node).metadata)
    assert schema["properties"]["children"]["items"] == {"type": "object", "title": "Node"}


@pytest.mark.parametrize(
    ("value", "annotation", "field", "expected"),
    [
        (7, int, "integer", 7),
        (7.5, float, "float_value", 7.5),
        ("s", str, "string_value", "s"),
        (True, bool, "boolean", True),
        (Color.GREEN, Color, "string_value", "green"),
        ("green", Color, "string_value", "green"),
    ],
)
def test_primitive_literals(value: Any, annotation: Any, field: str, expected: Any) -> None:
    lit = to_literal(value, annotation)
    assert lit.scalar.primitive.WhichOneof("value") == field
    assert getattr(lit.scalar.primitive, field) == expected


def test_duration_literal() -> None:
    lit = to_literal(dt.timedelta(seconds=90, microseconds=5), dt.timedelta)
    assert (lit.scalar.primitive.duration.seconds, lit.scalar.primitive.duration.nanos) == (90, 5000)


def test_bytes_literal() -> None:
    lit = to_literal(b"\x00\x01", bytes)
    assert (lit.scalar.binary.value, lit.scalar.binary.tag) == (b"\x00\x01", "bytes")


def test_none_literal() -> None:
    assert to_literal(None, None) == literals_pb2.Literal(
        scalar=literals_pb2.Scalar(none_type=literals_pb2.Void())
    )


def test_optional_literal_is_a_tagged_union() -> None:
    lit = to_literal(5, Optional[int])
    assert lit.scalar.union.value.scalar.primitive.integer == 5
    assert lit.scalar.union.type.simple == ST.INTEGER
    assert lit.scalar.union.type.structure.tag == "int"
    none = to_literal(None, Optional[int])
    assert none.scalar.union.value.scalar.HasField("none_type")
    assert none.scalar.union.type.structure.tag == "none"


def test_collection_and_map_literals() -> None:
    lit = to_literal([1, 2], list[int])
    assert [item.scalar.primitive.integer for item in lit.collection.literals] == [1, 2]
    lit = to_literal({"a": "b"}, dict[str, str])
    assert lit.map.literals["a"].scalar.primitive.string_value == "b"


def test_dataclass_literal_is_msgpack_of_fields() -> None:
    lit = to_literal(make_outer(), Outer)
    assert lit.scalar.binary.tag == "msgpack"
    plain = unpackb(lit.scalar.binary.value)
    assert plain["name"] == "outer ünïcode"
    assert plain["inner"] == {"x": 1, "tags": ["a", "b"]}
    assert plain["maybe"] is None
    assert plain["when"] == "2024-02-29T23:59:59.999999-07:00"
    assert plain["duration"] == dt.timedelta(days=-3, microseconds=250).total_seconds()
    assert plain["color"] == "green"
    assert plain["blob"] == b"\x00bin\x00ary\xff"
    assert plain["opt_int"] == 2**63 - 1
    assert list(plain) == [
        "name",
        "inner",
        "maybe",
        "items",
        "mapping",
        "when",
        "duration",
        "color",
        "blob",
        "opt_int",
        "ratio",
        "flags",
    ]


def test_reads_flyte2_msgpack_dataclass() -> None:
    # What Flyte 2 (mashumaro) writes: a map of fields; ints may arrive where floats are declared.
    payload = packb({"x": 3, "tags": ["p", "q"], "unknown_new_field": 1})
    lit = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=payload, tag="msgpack"))
    )
    assert from_literal(lit, Inner) == Inner(3, ["p", "q"])


def test_reads_generic_struct_from_the_ui() -> None:
    struct = struct_pb2.Struct()
    struct.update({"x": 4, "tags": ["u"]})  # Struct numbers are doubles
    lit = literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=struct))
    back = from_literal(lit, Inner)
    assert back == Inner(4, ["u"])
    assert type(back.x) is int


def test_reads_json_tagged_binary() -> None:
    payload = json.dumps({"x": 5}).encode()
    lit = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=payload, tag="json"))
    )
    assert from_literal(lit, Inner) == Inner(5, [])


def test_reads_msgpack_binary_for_any_type() -> None:
    # Flyte 2 can hand over e.g. an attribute of a dataclass as a msgpack binary.
    lit = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=packb([1, 2]), tag="msgpack"))
    )
    assert from_literal(lit, list[int]) == [1, 2]


def test_union_wrapped_literal_decodes_for_plain_annotation() -> None:
    assert from_literal(to_literal(6, Optional[int]), int) == 6


def test_plain_literal_decodes_for_optional_annotation() -> None:
    assert from_literal(to_literal(6, int), Optional[int]) == 6
    assert from_literal(to_literal(None, None), Optional[int]) is None


def test_integer_literal_decodes_as_float_and_whole_float_as_int() -> None:
    assert from_literal(to_literal(2, int), float) == 2.0
    assert from_literal(to_literal(2.0, float), int) == 2


def test_union_tag_selects_the_variant() -> None:
    # "1" could be read as str; the tag says the writer meant the int variant.
    lit = to_literal(1, Union[str, int])
    assert lit.scalar.union.type.structure.tag == "int"
    assert from_literal(lit, Union[str, int]) == 1


def test_offloaded_literal_is_fetched_through_the_handler(files: Any, tmp_path: Path) -> None:
    real = to_literal([1, 2, 3], list[int])
    stored = tmp_path / "offloaded.pb"
    stored.write_bytes(real.SerializeToString())
    uri = files.upload_file(stored)
    offloaded = literals_pb2.Literal(offloaded_metadata=literals_pb2.LiteralOffloadedMetadata(uri=uri))
    assert from_literal(offloaded, list[int], files=files) == [1, 2, 3]


def test_matches_flyte2_encoder_when_installed() -> None:
    """Flyte 2 encodes dataclasses with mashumaro: same bytes both ways, same schema where it inlines."""
    mashumaro_msgpack = pytest.importorskip("mashumaro.codecs.msgpack")
    mashumaro_schema = pytest.importorskip("mashumaro.jsonschema")
    outer = make_outer()
    ours = to_literal(outer, Outer).scalar.binary.value
    assert ours == mashumaro_msgpack.MessagePackEncoder(Outer).encode(outer)
    assert mashumaro_msgpack.MessagePackDecoder(Outer).decode(ours) == outer
    theirs = json.loads(json.dumps(mashumaro_schema.build_json_schema(Outer).to_dict()))
    assert json_format.MessageToDict(literal_type_for(Outer).metadata) == theirs
