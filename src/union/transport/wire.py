"""The Connect protocol's wire format, shared by the client and ``union serve``.

Only what both ends need: content types, the 5-byte envelope of streaming messages, the end-of-stream
frame, gzip, ``Connect-Timeout-Ms``, and the mapping between Connect error codes, HTTP statuses and
``union.errors``. See https://connectrpc.com/docs/protocol. Protobuf modules are imported lazily.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from union import errors

if TYPE_CHECKING:
    from google.protobuf.message import Message

M = TypeVar("M", bound="Message")

PROTOCOL_VERSION_HEADER = "Connect-Protocol-Version"
PROTOCOL_VERSION = "1"
TIMEOUT_HEADER = "Connect-Timeout-Ms"
UNARY_PROTO = "application/proto"
UNARY_JSON = "application/json"
STREAM_PROTO = "application/connect+proto"
STREAM_JSON = "application/connect+json"
STREAM_ENCODING_HEADER = "Connect-Content-Encoding"
STREAM_ACCEPT_ENCODING_HEADER = "Connect-Accept-Encoding"

FLAG_COMPRESSED = 0x01
FLAG_END_STREAM = 0x02
ENVELOPE_HEADER = struct.Struct(">BI")

# Connect code -> HTTP status for unary errors (https://connectrpc.com/docs/protocol#error-codes).
CODE_TO_HTTP: dict[str, int] = {
    "canceled": 499,
    "unknown": 500,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "unauthenticated": 401,
}
CODES = tuple(CODE_TO_HTTP)

# HTTP status -> Connect code, for error bodies that are not Connect JSON (a proxy's 502 page...).
_HTTP_TO_CODE: dict[int, str] = {
    400: "internal",
    401: "unauthenticated",
    403: "permission_denied",
    404: "unimplemented",
    429: "unavailable",
    502: "unavailable",
    503: "unavailable",
    504: "unavailable",
}

_CODE_TO_ERROR: dict[str, type[errors.TransportError]] = {
    "not_found": errors.NotFoundError,
    "already_exists": errors.AlreadyExistsError,
    "deadline_exceeded": errors.DeadlineExceededError,
    "invalid_argument": errors.InvalidArgumentError,
    "failed_precondition": errors.InvalidArgumentError,
    "out_of_range": errors.InvalidArgumentError,
    "unauthenticated": errors.UnauthenticatedError,
    "permission_denied": errors.PermissionDeniedError,
    "unavailable": errors.UnavailableError,
    "resource_exhausted": errors.UnavailableError,
    "unimplemented": errors.UnimplementedError,
}

RETRYABLE_CODES = frozenset({"unavailable", "resource_exhausted"})
_URLSAFE = str.maketrans("-_", "+/")


@dataclass
class WireError:
    """A Connect error as it travels: a code, a message and optional details (type URL, bytes)."""

    code: str
    message: str = ""
    details: list[tuple[str, bytes]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code}
        if self.message:
            body["message"] = self.message
        if self.details:
            body["details"] = [
                {"type": kind, "value": base64.b64encode(value).decode().rstrip("=")}
                for kind, value in self.details
            ]
        return body

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json()).encode()

    @property
    def http_status(self) -> int:
        return CODE_TO_HTTP.get(self.code, 500)

    def exception(self) -> errors.TransportError:
        """The typed ``union.errors`` exception for this code."""
        cls = _CODE_TO_ERROR.get(self.code, errors.TransportError)
        return cls(self.message or f"the control plane answered {self.code}", code=self.code)

    @classmethod
    def from_json(cls, data: Any, *, http_status: int = 500) -> WireError:
        """Parse a Connect error object; anything else becomes the code implied by the HTTP status."""
        if isinstance(data, Mapping) and isinstance(data.get("code"), str) and data["code"] in CODE_TO_HTTP:
            details: list[tuple[str, bytes]] = []
            for item in data.get("details") or []:
                if isinstance(item, Mapping) and isinstance(item.get("value"), str):
                    raw = item["value"]
                    try:  # standard or URL-safe base64, padding optional; a bad detail is dropped
                        value = base64.b64decode(
                            raw.translate(_URLSAFE) + "=" * (-len(raw) % 4), validate=True
                        )
                    except ValueError:
                        continue
                    details.append((str(item.get("type", "")), value))
            return cls(str(data["code"]), str(data.get("message") or ""), details)
        return cls(code_for_http(http_status), f"HTTP {http_status}")

    @classmethod
    def from_exception(cls, exc: BaseException) -> WireError:
        """The error a server sends for ``exc``; unexpected exceptions become ``internal`` without details."""
        if isinstance(exc, errors.TransportError):
            return cls(exc.code if exc.code in CODE_TO_HTTP else "unknown", str(exc))
        if isinstance(exc, errors.UnionError) and isinstance(exc, (ValueError, TypeError)):
            return cls("invalid_argument", str(exc))
        if isinstance(exc, TimeoutError):
            return cls("deadline_exceeded", str(exc) or "deadline exceeded")
        return cls("internal", "internal error")


def code_for_http(status: int) -> str:
    return _HTTP_TO_CODE.get(status, "unknown")


# -- bodies -----------------------------------------------------------------------------------------


def is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in (UNARY_JSON, STREAM_JSON)


def encode_message(message: Message, *, json_format: bool) -> bytes:
    if json_format:
        from google.protobuf import json_format as jf

        return jf.MessageToJson(message, indent=None).encode()
    return message.SerializeToString()


def decode_message(data: bytes, cls: type[M], *, json_format: bool) -> M:
    """Parse ``data`` into ``cls``; unknown JSON fields are ignored, as Connect servers do."""
    message = cls()
    try:
        if json_format:
            from google.protobuf import json_format as jf

            jf.Parse(data.decode() if data else "{}", message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(data)
    except Exception as exc:
        raise errors.InvalidArgumentError(
            f"cannot decode a {cls.DESCRIPTOR.full_name} message: {exc}", code="invalid_argument"
        ) from exc
    return message


def compress(data: bytes, encoding: str | None) -> bytes:
    return gzip.compress(data, compresslevel=6) if encoding == "gzip" else data


def decompress(data: bytes, encoding: str | None, *, limit: int | None = None) -> bytes:
    """Undo ``encoding`` (gzip or identity); ``limit`` bounds the inflated size against gzip bombs."""
    if not encoding or encoding == "identity":
        return data
    if encoding != "gzip":
        raise errors.UnimplementedError(f"unsupported compression {encoding!r}; use gzip or identity.")
    if not data:
        return data
    import zlib

    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit or 0)
    except zlib.error as exc:
        raise errors.InvalidArgumentError(f"corrupt gzip body: {exc}", code="invalid_argument") from exc
    if limit and inflater.unconsumed_tail:
        raise errors.TransportError(f"the message inflates beyond {limit} bytes", code="resource_exhausted")
    if not inflater.eof:
        raise errors.InvalidArgumentError("truncated gzip body", code="invalid_argument")
    return out


# -- streaming envelopes ----------------------------------------------------------------------------


def envelope(payload: bytes, *, flags: int = 0) -> bytes:
    return ENVELOPE_HEADER.pack(flags, len(payload)) + payload


def end_stream(error: WireError | None = None, trailers: Mapping[str, list[str]] | None = None) -> bytes:
    """The final frame of a stream: its error (if any) and trailing metadata, as JSON."""
    body: dict[str, Any] = {}
    if error is not None:
        body["error"] = error.to_json()
    if trailers:
        body["metadata"] = {k: list(v) for k, v in trailers.items()}
    return envelope(json.dumps(body).encode(), flags=FLAG_END_STREAM)


@dataclass
class Frame:
    flags: int
    payload: bytes

    @property
    def end(self) -> bool:
        return bool(self.flags & FLAG_END_STREAM)

    @property
    def compressed(self) -> bool:
        return bool(self.flags & FLAG_COMPRESSED)


def read_frames(chunks: Iterator[bytes], *, max_bytes: int | None = None) -> Iterator[Frame]:
    """Split a byte stream into envelopes. A stream that stops mid-frame raises ``UnavailableError``."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= ENVELOPE_HEADER.size:
            flags, size = ENVELOPE_HEADER.unpack_from(buffer)
            if max_bytes is not None and size > max_bytes:
                raise errors.TransportError(
                    f"a stream message of {size} bytes exceeds the {max_bytes}-byte limit",
                    code="resource_exhausted",
                )
            if len(buffer) < ENVELOPE_HEADER.size + size:
                break
            payload = bytes(buffer[ENVELOPE_HEADER.size : ENVELOPE_HEADER.size + size])
            del buffer[: ENVELOPE_HEADER.size + size]
            yield Frame(flags, payload)
    if buffer:
        raise errors.UnavailableError("the stream was cut off in the middle of a message", code="unavailable")


def parse_end_stream(payload: bytes) -> tuple[WireError | None, dict[str, list[str]]]:
    try:
        data = json.loads(payload or b"{}")
    except ValueError:
        return WireError("internal", "malformed end-of-stream frame"), {}
    if not isinstance(data, Mapping):
        return WireError("internal", "malformed end-of-stream frame"), {}
    error = WireError.from_json(data["error"]) if data.get("error") else None
    metadata = data.get("metadata") or {}
    trailers = {str(k): [str(x) for x in v] for k, v in metadata.items() if isinstance(v, list)}
    return error, trailers


# -- timeouts ---------------------------------------------------------------------------------------


def timeout_header(seconds: float) -> str:
    """``Connect-Timeout-Ms`` for ``seconds``: at least 1 ms, at most 10 digits as the spec allows."""
    return str(min(max(1, int(seconds * 1000)), 9_999_999_999))


def parse_timeout(value: str | None) -> float | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 10:
        raise errors.InvalidArgumentError(
            f"malformed {TIMEOUT_HEADER} {value!r}: send up to 10 digits of milliseconds.",
            code="invalid_argument",
        )
    return int(value) / 1000.0
