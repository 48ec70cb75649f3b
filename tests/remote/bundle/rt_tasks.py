"""Tasks the remote and CLI tests run (a bundle of its own, so only this folder is uploaded)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import time
from pathlib import Path

import union


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Point:
    x: int
    y: float
    label: str = ""


class CustomError(Exception):
    """Not a builtin: comes back as RunFailedError naming this type."""


@union.task
def add(a: int, b: int = 2) -> int:
    return a + b


@union.task(name="rt.divide", retries=1, timeout=30)
def divide(a: float, b: float) -> tuple[float, float]:
    return a / b, a % b


@union.task
def fail_value(message: str) -> int:
    raise ValueError(message)


@union.task
def fail_custom(message: str) -> None:
    raise CustomError(message)


@union.task
def sleepy(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


@union.task
def noisy(n: int) -> None:
    for i in range(n):
        print(f"line {i}", flush=True)


@union.task
def echo_all(
    i: int,
    f: float,
    s: str,
    b: bool,
    raw: bytes,
    when: dt.datetime,
    span: dt.timedelta,
    maybe: int | None,
    nothing: None,
    color: Color,
    items: list[int],
    mapping: dict[str, float],
    point: Point,
) -> tuple[
    int,
    float,
    str,
    bool,
    bytes,
    dt.datetime,
    dt.timedelta,
    int | None,
    None,
    Color,
    list[int],
    dict[str, float],
    Point,
]:
    return i, f, s, b, raw, when, span, maybe, nothing, color, items, mapping, point


@union.task
def read_file(path: Path) -> str:
    return path.read_text()


@union.task
def read_dir(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


@union.task
def write_file(text: str) -> Path:
    import tempfile

    out = Path(tempfile.mkdtemp()) / "out.txt"
    out.write_text(text)
    return out


@union.task
def write_dir(names: list[str]) -> Path:
    import tempfile

    out = Path(tempfile.mkdtemp()) / "tree"
    out.mkdir()
    for name in names:
        (out / name).write_text(name)
    return out


@union.task(retries=2)
def flaky(marker: str) -> int:
    """Fails on its first attempt (leaving a marker file), succeeds on the next."""
    path = Path(marker)
    if not path.exists():
        path.write_text("1")
        raise RuntimeError("first attempt fails")
    return int(path.read_text()) + 1


@union.task(timeout=1)
def too_slow(seconds: float) -> str:
    time.sleep(seconds)
    return "finished"
