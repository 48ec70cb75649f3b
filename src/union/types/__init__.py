"""Python values <-> flyteidl2 literals, encoded the way the Flyte 2 SDK encodes them.

Importing this module imports flyteidl2 and protobuf; ``import union`` alone does not.

Encodings (LiteralType -> literal):

* ``int``/``float``/``str``/``bool`` -> primitives. ``int`` is 64-bit signed; an ``int`` is accepted for
  ``float``, a ``bool`` is never accepted for ``int``.
* ``datetime.datetime`` -> ``DATETIME`` Timestamp. A naive datetime is taken to be **UTC**; values come
  back timezone-aware in UTC (the same instant, the original offset is not kept).
* ``datetime.timedelta`` -> ``DURATION`` (+-10,000 years).
* ``None`` -> ``NONE`` / Void; ``Optional[X]``, ``X | None`` and ``Union[...]`` -> union literals whose
  variant carries Flyte 2's tag ("int", "str", "none", ...).
* ``enum.Enum`` (str values) -> ``EnumType``, the value as a string primitive.
* ``list[X]`` -> collection, ``dict[str, X]`` -> map.
* dataclasses and pydantic models -> ``STRUCT`` typed with their JSON schema and the
  ``cache-key-metadata.serialization-format = msgpack`` annotation, sent as ``Binary(tag="msgpack")``.
  Inside them datetimes are ISO 8601 strings (offset kept), timedeltas float seconds, enums their
  values, bytes msgpack bin, and paths ``{"path", "name", "format", "hash"}`` maps like Flyte 2's File/Dir.
* ``bytes`` -> ``BINARY`` type, ``Binary(tag="bytes")`` literal (Flyte 2 itself would pickle them).
* ``pathlib.Path`` -> Blob, single-part for a file and multipart for a directory, uploaded and downloaded
  through a :class:`FileHandler`. ``FilePath``/``DirPath`` pin the kind in the interface. A path is
  fetched when its literal is converted (``from_literal``/``literals_to_inputs``), never earlier; there is
  no lazy ``Path`` proxy, because one would have to intercept every ``open``/``os`` call to stay honest.

``inputs_to_literals`` and friends also take a ``TypedInterface`` instead of a function (a task registered
elsewhere): values are then checked against the literal types alone and decode to plain Python (structs to
dicts, enums to their ``str`` values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from union.types.convert import (
    from_literal,
    inputs_to_literals,
    literals_to_inputs,
    literals_to_outputs,
    outputs_to_literals,
    to_literal,
)
from union.types.errors import (
    FileHandlerRequiredError,
    InputsError,
    MissingInputError,
    PathNotFoundError,
    TypeMismatchError,
    TypesError,
    UnknownInputError,
    UnsupportedTypeError,
)
from union.types.files import FileHandler
from union.types.schema import interface_for, literal_type_for
from union.types.transformers.paths import DIR, FILE

FilePath = Annotated[Path, FILE]
"""A path that must be a file: typed as a single-part blob."""

DirPath = Annotated[Path, DIR]
"""A path that must be a directory: typed as a multipart blob."""

__all__ = [
    "DirPath",
    "FileHandler",
    "FileHandlerRequiredError",
    "FilePath",
    "InputsError",
    "MissingInputError",
    "PathNotFoundError",
    "TypeMismatchError",
    "TypesError",
    "UnknownInputError",
    "UnsupportedTypeError",
    "from_literal",
    "inputs_to_literals",
    "interface_for",
    "literal_type_for",
    "literals_to_inputs",
    "literals_to_outputs",
    "outputs_to_literals",
    "to_literal",
]
