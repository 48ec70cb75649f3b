"""Checks of public arguments, so a wrong type fails at the call with what was expected.

Without them a ``None`` path or a ``"ten"`` limit travels on and fails deep inside (a storage backend, a
protobuf constructor) with an error that names neither the call nor the argument. Standard library only:
``import union`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from union.errors import ArgumentTypeError, ArgumentValueError


def _got(value: object) -> str:
    return type(value).__name__


def path(value: object, call: str, arg: str) -> os.PathLike[str] | str:
    """A local path: a ``str`` or an ``os.PathLike`` of ``str`` (``pathlib.Path``), not empty."""
    if isinstance(value, os.PathLike):
        value_fs = os.fspath(value)
        if isinstance(value_fs, str):
            return value
    elif isinstance(value, str):
        if not value:
            raise ArgumentValueError(f"{call}: {arg} is an empty string; pass the path to upload.")
        return value
    raise ArgumentTypeError(f"{call}: {arg} must be a path (a str or pathlib.Path), got {_got(value)}.")


def optional_str(value: object, call: str, arg: str) -> str | None:
    """None, or a non-empty ``str``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{call}: {arg} must be a str or None, got {_got(value)}.")
    if not value:
        raise ArgumentValueError(f"{call}: {arg} is an empty string; pass a value or leave it out.")
    return value


def positive_int(value: object, call: str, arg: str) -> int:
    """An ``int`` of at least 1 (``bool`` is refused: ``limit=True`` is a mistake, not 1)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{call}: {arg} must be a positive int, got {_got(value)} {value!r}.")
    if value < 1:
        raise ArgumentValueError(f"{call}: {arg} must be a positive int (1 or more), got {value}.")
    return value


def search(call: str, limit: object, project: object, domain: object) -> None:
    """The arguments every ``search`` takes: a positive ``limit`` and an optional project and domain."""
    positive_int(limit, call, "limit")
    optional_str(project, call, "project")
    optional_str(domain, call, "domain")


def flag(value: object, call: str, arg: str) -> bool:
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{call}: {arg} must be True or False, got {_got(value)}.")
    return value


def optional_callable(value: object, call: str, arg: str) -> Any:
    if value is not None and not callable(value):
        raise ArgumentTypeError(f"{call}: {arg} must be a callable or None, got {_got(value)}.")
    return value


def str_sequence(value: object, call: str, arg: str) -> Sequence[str]:
    """A list or tuple of ``str`` (a bare ``str`` is refused: it would be taken letter by letter)."""
    if isinstance(value, str):
        raise ArgumentTypeError(f"{call}: {arg} must be a list of str, got a str; write [{value!r}].")
    if isinstance(value, (Sequence, set, frozenset)) and not isinstance(value, bytes):
        odd = [v for v in value if not isinstance(v, str)]
        if not odd:
            return list(value)
        raise ArgumentTypeError(f"{call}: {arg} must be a list of str, it holds a {_got(odd[0])}.")
    raise ArgumentTypeError(f"{call}: {arg} must be a list of str, got {_got(value)}.")


def config(value: object, call: str) -> Any:
    """None or a :class:`union.config.Config` (imported only when a value is given)."""
    if value is None:
        return None
    from union.config import Config

    if not isinstance(value, Config):
        raise ArgumentTypeError(f"{call}: config must be a union.config.Config or None, got {_got(value)}.")
    return value
