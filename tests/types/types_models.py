"""Annotated types shared by the union.types tests (module level, so their hints resolve)."""

# typing.Optional/Union are tested on purpose: they are distinct objects from X | Y at runtime.
# ruff: noqa: UP045
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Shade(str, enum.Enum):
    DARK = "dark"
    LIGHT = "light"


class Number(enum.Enum):
    ONE = 1


@dataclass
class Inner:
    x: int
    tags: list[str] = field(default_factory=list)


@dataclass
class Outer:
    name: str
    inner: Inner
    maybe: Optional[Inner]
    items: list[Inner]
    mapping: dict[str, Inner]
    when: dt.datetime
    duration: dt.timedelta
    color: Color
    blob: bytes
    opt_int: int | None = None
    ratio: float = 1.0
    flags: dict[str, list[bool | None]] = field(default_factory=dict)


@dataclass
class Node:
    value: int
    children: list[Node] = field(default_factory=list)
    parent_name: Optional[str] = None


@dataclass(frozen=True)
class Frozen:
    a: int
    b: str = "b"


@dataclass
class WithPath:
    label: str
    data: Path
    extra: Optional[Path] = None


@dataclass
class Unsupported:
    ok: int
    bad: set[int]


@dataclass
class Validated:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must not be negative")


def make_outer() -> Outer:
    return Outer(
        name="outer ünïcode",
        inner=Inner(1, ["a", "b"]),
        maybe=None,
        items=[Inner(2), Inner(-(2**63), ["x"])],
        mapping={"k": Inner(3, ["🎉"]), "": Inner(0)},
        when=dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
        duration=dt.timedelta(days=-3, microseconds=250),
        color=Color.GREEN,
        blob=b"\x00bin\x00ary\xff",
        opt_int=2**63 - 1,
        ratio=-0.25,
        flags={"f": [True, None, False], "empty": []},
    )


@dataclass
class BadRecursive:
    children: list[BadRecursive]
    bad: set[int]
