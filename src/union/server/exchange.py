"""The request and response every ``union serve`` handler sees, independent of the HTTP server.

Handlers are plain functions ``(Request) -> Response`` so the Connect routes, the data proxy and the auth
endpoints can be tested without sockets and composed by one router.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from union import errors


class Headers(dict[str, str]):
    """Case-insensitive header lookup (keys are stored lower-cased)."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self[key.lower()] = value

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass
class Request:
    """One HTTP request. ``stream`` yields the de-chunked body; ``read_body`` bounds it in memory."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Headers
    stream: BinaryIO
    content_length: int | None
    client: str = ""
    max_body: int = 64 * 1024 * 1024
    principal: str | None = None  # set by authentication: who made the request

    def read_body(self) -> bytes:
        if self.content_length is not None and self.content_length > self.max_body:
            raise errors.TransportError(
                f"the request body of {self.content_length} bytes exceeds the {self.max_body}-byte limit",
                code="resource_exhausted",
            )
        data = (
            self.stream.read(self.max_body + 1)
            if self.content_length is None
            else self.stream.read(self.content_length)
        )
        if len(data) > self.max_body:
            raise errors.TransportError(
                f"the request body exceeds the {self.max_body}-byte limit", code="resource_exhausted"
            )
        return data

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    """``body`` is bytes (sent with a Content-Length) or an iterable of chunks (streamed, chunked)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        """A plain-text answer (health checks, refusals outside the Connect protocol)."""
        return cls(status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode())


Handler = Callable[[Request], Response]
