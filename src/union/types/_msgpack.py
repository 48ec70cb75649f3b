"""The subset of MessagePack that Flyte 2 puts in ``Binary(tag="msgpack")`` literals.

Flyte 2 encodes dataclasses and pydantic models as msgpack; implementing the handful of formats it emits
(nil, bool, int, float64, str, bin, array, map) keeps us wire-compatible without a compiled dependency.
Encoding picks the smallest format, as ``msgpack.packb(use_bin_type=True)`` does, so bytes match.
"""

from __future__ import annotations

import struct
from typing import Any

__all__ = ["MsgpackError", "packb", "unpackb"]


class MsgpackError(ValueError):
    """The bytes are not msgpack this module understands, or a value has no msgpack form."""


def packb(obj: Any) -> bytes:
    """Encode plain data (None, bool, int, float, str, bytes, list, tuple, dict)."""
    out: list[bytes] = []
    _pack(obj, out)
    return b"".join(out)


def _pack(obj: Any, out: list[bytes]) -> None:
    if obj is None:
        out.append(b"\xc0")
    elif obj is True:
        out.append(b"\xc3")
    elif obj is False:
        out.append(b"\xc2")
    elif isinstance(obj, int):
        out.append(_pack_int(obj))
    elif isinstance(obj, float):
        out.append(b"\xcb" + struct.pack(">d", obj))
    elif isinstance(obj, str):
        data = obj.encode("utf-8")
        out.append(_header(len(data), 0xA0, 32, b"\xd9", b"\xda", b"\xdb"))
        out.append(data)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        out.append(_header(len(data), None, 0, b"\xc4", b"\xc5", b"\xc6"))
        out.append(data)
    elif isinstance(obj, (list, tuple)):
        out.append(_header(len(obj), 0x90, 16, None, b"\xdc", b"\xdd"))
        for item in obj:
            _pack(item, out)
    elif isinstance(obj, dict):
        out.append(_header(len(obj), 0x80, 16, None, b"\xde", b"\xdf"))
        for key, value in obj.items():
            _pack(key, out)
            _pack(value, out)
    else:
        raise MsgpackError(f"cannot encode {type(obj).__name__} as msgpack")


def _pack_int(n: int) -> bytes:
    if 0 <= n < 0x80:
        return bytes((n,))
    if -32 <= n < 0:
        return struct.pack(">b", n)
    if n > 0:
        for code, fmt, limit in ((b"\xcc", ">B", 1 << 8), (b"\xcd", ">H", 1 << 16), (b"\xce", ">I", 1 << 32)):
            if n < limit:
                return code + struct.pack(fmt, n)
        if n < 1 << 64:
            return b"\xcf" + struct.pack(">Q", n)
    else:
        for code, fmt, limit in ((b"\xd0", ">b", 1 << 7), (b"\xd1", ">h", 1 << 15), (b"\xd2", ">i", 1 << 31)):
            if n >= -limit:
                return code + struct.pack(fmt, n)
        if n >= -(1 << 63):
            return b"\xd3" + struct.pack(">q", n)
    raise MsgpackError(f"integer {n} does not fit in 64 bits")


def _header(n: int, fix: int | None, fix_limit: int, c8: bytes | None, c16: bytes, c32: bytes) -> bytes:
    if fix is not None and n < fix_limit:
        return bytes((fix | n,))
    if c8 is not None and n < 1 << 8:
        return c8 + struct.pack(">B", n)
    if n < 1 << 16:
        return c16 + struct.pack(">H", n)
    if n < 1 << 32:
        return c32 + struct.pack(">I", n)
    raise MsgpackError(f"object of length {n} is too large for msgpack")


def unpackb(data: bytes) -> Any:
    """Decode one msgpack object; trailing bytes are an error, as they signal a corrupt payload."""
    reader = _Reader(bytes(data))
    obj = reader.read()
    if reader.pos != len(reader.data):
        raise MsgpackError(f"{len(reader.data) - reader.pos} unexpected trailing bytes after msgpack object")
    return obj


_FIXED: dict[int, tuple[str, int]] = {
    0xCC: (">B", 1),
    0xCD: (">H", 2),
    0xCE: (">I", 4),
    0xCF: (">Q", 8),
    0xD0: (">b", 1),
    0xD1: (">h", 2),
    0xD2: (">i", 4),
    0xD3: (">q", 8),
    0xCA: (">f", 4),
    0xCB: (">d", 8),
}
_LENGTHS: dict[int, tuple[str, str, int]] = {
    0xD9: ("str", ">B", 1),
    0xDA: ("str", ">H", 2),
    0xDB: ("str", ">I", 4),
    0xC4: ("bin", ">B", 1),
    0xC5: ("bin", ">H", 2),
    0xC6: ("bin", ">I", 4),
    0xDC: ("array", ">H", 2),
    0xDD: ("array", ">I", 4),
    0xDE: ("map", ">H", 2),
    0xDF: ("map", ">I", 4),
}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise MsgpackError("msgpack data ends in the middle of an object")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str, size: int) -> Any:
        return struct.unpack(fmt, self.take(size))[0]

    def read(self) -> Any:
        code = self.take(1)[0]
        if code <= 0x7F:
            return code
        if code >= 0xE0:
            return code - 0x100
        if 0xA0 <= code <= 0xBF:
            return self.text(code & 0x1F)
        if 0x90 <= code <= 0x9F:
            return self.array(code & 0x0F)
        if 0x80 <= code <= 0x8F:
            return self.map(code & 0x0F)
        if code == 0xC0:
            return None
        if code == 0xC2:
            return False
        if code == 0xC3:
            return True
        if code in _FIXED:
            return self.unpack(*_FIXED[code])
        if code in _LENGTHS:
            kind, fmt, size = _LENGTHS[code]
            n = self.unpack(fmt, size)
            if kind == "str":
                return self.text(n)
            if kind == "bin":
                return self.take(n)
            if kind == "array":
                return self.array(n)
            return self.map(n)
        raise MsgpackError(
            f"unsupported msgpack type byte 0x{code:02x} (extension types are not used by Flyte)"
        )

    def text(self, n: int) -> str:
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise MsgpackError(f"invalid UTF-8 in msgpack string: {e}") from e

    def array(self, n: int) -> list[Any]:
        return [self.read() for _ in range(n)]

    def map(self, n: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for _ in range(n):
            key = self.read()
            if isinstance(key, (list, dict)):
                raise MsgpackError("msgpack map key is a container, which cannot be a dict key")
            result[key] = self.read()
        return result
