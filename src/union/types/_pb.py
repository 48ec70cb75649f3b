"""The one place that imports flyteidl2 and protobuf, so ``import union`` never pays for them.

flyteidl2 ships ``.pyi`` stubs but no ``py.typed`` marker, and protobuf's stubs live in ``types-protobuf``;
the ignores keep mypy quiet when those are absent and are themselves ignored when they are present.
"""

from __future__ import annotations

from flyteidl2.core import (  # type: ignore[import-untyped,unused-ignore]
    interface_pb2,
    literals_pb2,
    types_pb2,
)
from flyteidl2.task import (  # type: ignore[import-untyped,unused-ignore]
    common_pb2,
    task_definition_pb2,
)
from google.protobuf import (  # type: ignore[import-untyped,unused-ignore]
    duration_pb2,
    json_format,
    struct_pb2,
    timestamp_pb2,
)

Literal = literals_pb2.Literal
LiteralMap = literals_pb2.LiteralMap
LiteralCollection = literals_pb2.LiteralCollection
Scalar = literals_pb2.Scalar
Primitive = literals_pb2.Primitive
Binary = literals_pb2.Binary
Blob = literals_pb2.Blob
BlobMetadata = literals_pb2.BlobMetadata
Void = literals_pb2.Void
UnionValue = literals_pb2.Union

LiteralType = types_pb2.LiteralType
SimpleType = types_pb2.SimpleType
BlobType = types_pb2.BlobType
EnumType = types_pb2.EnumType
UnionType = types_pb2.UnionType
TypeStructure = types_pb2.TypeStructure
TypeAnnotation = types_pb2.TypeAnnotation

TypedInterface = interface_pb2.TypedInterface
Variable = interface_pb2.Variable
VariableEntry = interface_pb2.VariableEntry
VariableMap = interface_pb2.VariableMap
Parameter = interface_pb2.Parameter
NamedParameter = common_pb2.NamedParameter
TaskSpec = task_definition_pb2.TaskSpec

Struct = struct_pb2.Struct
Timestamp = timestamp_pb2.Timestamp
Duration = duration_pb2.Duration

__all__ = [
    "Binary",
    "Blob",
    "BlobMetadata",
    "BlobType",
    "Duration",
    "EnumType",
    "Literal",
    "LiteralCollection",
    "LiteralMap",
    "LiteralType",
    "NamedParameter",
    "Parameter",
    "Primitive",
    "Scalar",
    "SimpleType",
    "Struct",
    "TaskSpec",
    "Timestamp",
    "TypeAnnotation",
    "TypeStructure",
    "TypedInterface",
    "UnionType",
    "UnionValue",
    "Variable",
    "VariableEntry",
    "VariableMap",
    "Void",
    "duration_pb2",
    "interface_pb2",
    "json_format",
    "literals_pb2",
    "struct_pb2",
    "timestamp_pb2",
    "types_pb2",
]
