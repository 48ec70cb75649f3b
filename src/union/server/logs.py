"""Structured logs of ``union serve``: one JSON object per line on stderr.

A line records what an operator needs (method, path, status, duration, client) and nothing a client sent
as a secret: query strings (signed URLs carry their signature there) and headers are never logged, and
free text goes through :func:`union.redact.redact_text`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO


class JsonLog:
    """Write one JSON object per line; safe to share between the server's threads."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.enabled = enabled

    def write(self, event: str, **fields: Any) -> None:
        if not self.enabled:
            return
        record: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            + f".{int(time.time() * 1000) % 1000:03d}Z",
            "event": event,
        }
        for key, value in fields.items():
            if value is None:
                continue
            record[key] = _clean(value) if isinstance(value, str) else value
        line = json.dumps(record, default=str, separators=(",", ":"))
        stream = self._stream or sys.stderr
        with self._lock:
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):  # stderr closed: logging must never take a request down
                pass

    def request(
        self, *, method: str, path: str, status: int, duration: float, client: str, **extra: Any
    ) -> None:
        self.write(
            "request",
            method=method,
            path=path.split("?", 1)[0],
            status=status,
            duration_ms=round(duration * 1000, 1),
            client=client,
            **extra,
        )


def _clean(text: str) -> str:
    from union.redact import redact_text

    return redact_text(text)
