"""Errors raised by ``union.types``.

They derive from :class:`union.errors.UnionError` so callers can catch everything the library raises on
purpose, and from the builtin a caller would reach for (``TypeError`` for a wrong type, like Python's own
argument errors) so generic handlers keep working.
"""

from __future__ import annotations

from union.errors import UnionError

SUPPORTED_TYPES = (
    "int, float, str, bool, bytes, datetime.datetime, datetime.timedelta, None, Optional[X] / X | None, "
    "Union[X, Y, ...], enum.Enum with str values, list[X], dict[str, X], dataclasses, pydantic.BaseModel "
    "and pathlib.Path (files and directories), where X is itself supported"
)


class TypesError(UnionError):
    """Base of the errors raised while converting between Python values and Flyte literals."""


class UnsupportedTypeError(TypesError, TypeError):
    """An annotation cannot be represented as a Flyte type; the message says what can."""

    def __init__(self, where: str, annotation: str, reason: str = "") -> None:
        self.where = where
        self.annotation = annotation
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(
            f"{where}: {annotation} is not a supported type{detail}. Supported types: {SUPPORTED_TYPES}."
        )


class TypeMismatchError(TypesError, TypeError):
    """A value (or a literal) does not fit the annotation it is converted with."""

    def __init__(self, where: str, expected: str, got: str) -> None:
        self.where = where
        self.expected = expected
        self.got = got
        super().__init__(f"{where}: expected {expected}, got {got}")


class InputsError(TypesError, TypeError):
    """The set of inputs given does not match the task's interface (as Python reports bad arguments)."""


class UnknownInputError(InputsError):
    """An input name is not a parameter of the task."""


class MissingInputError(InputsError):
    """A required input (one without a default) was not given."""


class FileHandlerRequiredError(TypesError, ValueError):
    """A path (or an offloaded literal) has to be moved but no ``FileHandler`` was passed."""


class PathNotFoundError(TypesError, FileNotFoundError):
    """A local path given as a value does not exist, so there is nothing to upload."""
