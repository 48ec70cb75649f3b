from __future__ import annotations

import struct

import pytest

from union.types import _msgpack
from union.types._msgpack import MsgpackError, packb, unpackb

VECTORS = [
    (None, b"\xc0"),
    (True, b"\xc3"),
    (False, b"\xc2"),
    (0, b"\x00"),
    (127, b"\x7f"),
    (128, b"\xcc\x80"),
    (256, b"\xcd\x01\x00"),
    (65536, b"\xce\x00\x01\x00\x00"),
    (2**32, b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
    (2**64 - 1, b"\xcf" + b"\xff" * 8),
    (-1, b"\xff"),
    (-32, b"\xe0"),
    (-33, b"\xd0\xdf"),
    (-129, b"\xd1\xff\x7f"),
    (-(2**31), b"\xd2\x80\x00\x00\x00"),
    (-(2**63), b"\xd3\x80" + b"\x00" * 7),
    (1.5, b"\xcb" + struct.pack(">d", 1.5)),
    ("", b"\xa0"),
    ("a", b"\xa1a"),
    ("é", b"\xa2\xc3\xa9"),
    (b"", b"\xc4\x00"),
    (b"\x00\x01", b"\xc4\x02\x00\x01"),
    ([], b"\x90"),
    ([1, [2]], b"\x92\x01\x91\x02"),
    ({}, b"\x80"),
    ({"a": None}, b"\x81\xa1a\xc0"),
]


@pytest.mark.parametrize(("value", "encoded"), VECTORS, ids=[repr(v)[:30] for v, _ in VECTORS])
def test_known_encodings(value: object, encoded: bytes) -> None:
    assert packb(value) == encoded
    assert unpackb(encoded) == value


@pytest.mark.parametrize(
    "value",
    [
        "x" * 31,
        "x" * 32,
        "x" * 255,
        "x" * 256,
        "x" * 70_000,
        b"\x00" * 255,
        b"\x00" * 256,
        b"\x00" * 70_000,
        list(range(15)),
        list(range(16)),
        list(range(70_000)),
        {str(i): i for i in range(15)},
        {str(i): i for i in range(16)},
        {str(i): [i, {"n": None}] for i in range(70_000)},
    ],
    ids=lambda v: f"{type(v).__name__}-{len(v)}",
)
def test_length_boundaries_round_trip(value: object) -> None:
    assert unpackb(packb(value)) == value


def test_tuple_encodes_as_array() -> None:
    assert unpackb(packb((1, "a"))) == [1, "a"]


def test_float32_is_decoded() -> None:
    assert unpackb(b"\xca" + struct.pack(">f", 0.5)) == 0.5


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, object(), {1, 2}])
def test_unencodable_values_raise(value: object) -> None:
    with pytest.raises(MsgpackError):
        packb(value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\xc1", "unsupported"),
        (b"\xd4\x01\x00", "unsupported"),  # fixext 1: extension types are not used by Flyte
        (b"\xa3ab", "ends in the middle"),
        (b"\x01\x02", "trailing"),
        (b"\xa1\xff", "UTF-8"),
        (b"", "ends in the middle"),
        (b"\x81\x90\x01", "container"),
    ],
)
def test_malformed_input_raises(data: bytes, fragment: str) -> None:
    with pytest.raises(MsgpackError, match=fragment):
        unpackb(data)


def test_matches_reference_msgpack_when_installed() -> None:
    msgpack = pytest.importorskip("msgpack")
    value = {
        "int": [0, 1, -1, 127, 128, -33, 2**40, -(2**40), 2**64 - 1],
        "float": [0.0, -2.5, 1e300],
        "str": ["", "ü", "x" * 300],
        "bin": [b"", b"\x00" * 300],
        "nested": {"a": [None, True, False, {"b": []}]},
        "big": {str(i): i for i in range(20)},
    }
    assert packb(value) == msgpack.packb(value, use_bin_type=True)
    assert _msgpack.unpackb(msgpack.packb(value, use_bin_type=True)) == value
