"""Task-like functions whose hints the interface tests read (module level so the hints resolve)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from types_models import Color, Inner


def add(a: int, b: str = "x", c: list[float] | None = None) -> tuple[int, str]:
    return a, b


def single(inner: Inner, when: dt.datetime, color: Color = Color.RED) -> Inner:
    return inner


def nothing(path: Path) -> None:
    return None


def no_inputs() -> list[str]:
    return []


def missing_param_annotation(a, b: int) -> int:  # type: ignore[no-untyped-def]
    return b


def missing_return_annotation(a: int):  # type: ignore[no-untyped-def]
    return a


def unsupported_param(a: int, s: set[int]) -> None:
    return None


def unsupported_return(a: int) -> set[int]:
    return set()


def var_args(*args: int) -> None:
    return None


def var_kwargs(**kwargs: int) -> None:
    return None


def positional_only(a: int, /) -> None:
    return None


def bad_tuple() -> tuple[int, ...]:
    return ()


def unresolvable(a: DoesNotExist) -> None:  # type: ignore[name-defined]  # noqa: F821
    return None
