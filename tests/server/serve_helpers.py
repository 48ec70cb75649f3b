"""What the ``union serve`` tests share: the task module they deploy and a handle on a running server."""

from __future__ import annotations

import io
import json
from typing import Any

from raw_connect import RawConnect

from union.server.app import Server

TASKS = """
import time


def add(a: int, b: int = 1) -> int:
    return a + b


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def chatty(lines: int) -> int:
    for i in range(lines):
        print(f"out {i}", flush=True)
    return lines


def fail(message: str) -> int:
    raise ValueError(message)
"""


class Served:
    """A running server, its log lines, and a raw client."""

    def __init__(self, server: Server, log: io.StringIO) -> None:
        self.server = server
        self._log = log
        self.url = server.url

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._log.getvalue().splitlines() if line.strip()]

    def log_text(self) -> str:
        return self._log.getvalue()

    def client(self, codec: str = "json", **kwargs: Any) -> RawConnect:
        return RawConnect(self.url, codec=codec, **kwargs)
