"""An embedded engine per test, on disk in the test's own data directory, its workers killed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import Bundle

from union.engine.transport import EmbeddedTransport

TASKS = """
import os
import sys
import time
from pathlib import Path


def add(a: int, b: int = 1) -> int:
    return a + b


def noop() -> None:
    return None


def env(var: str) -> str:
    return os.environ.get(var, "")


def pair(text: str, times: int) -> tuple[str, list[int]]:
    return text * times, list(range(times))


def fail(message: str) -> int:
    raise ValueError(message)


class Custom(Exception):
    pass


def fail_custom() -> int:
    raise Custom("custom failure")


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def flaky(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError("first attempt fails")
    return "second attempt"


def chatty(lines: int) -> int:
    for i in range(lines):
        print(f"out {i}", flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    return lines


def pid_then_sleep(marker: str, seconds: float) -> int:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def record(marker: str, label: str, seconds: float) -> str:
    with open(marker, "a") as f:
        f.write(f"start {label} {time.time()}\\n")
    time.sleep(seconds)
    with open(marker, "a") as f:
        f.write(f"end {label} {time.time()}\\n")
    return label


def roundtrip_file(path: Path) -> Path:
    out = Path("result.txt")
    out.write_text(path.read_text().upper())
    return out


def roundtrip_dir(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
"""


@pytest.fixture
def engine(isolated_user: Path) -> Iterator[EmbeddedTransport]:
    transport = EmbeddedTransport(concurrency=4)
    yield transport
    transport.kill_all()
    transport.close()


@pytest.fixture
def bundle(engine: EmbeddedTransport, tmp_path: Path) -> Bundle:
    return Bundle(engine, tmp_path / "bundle", TASKS)
