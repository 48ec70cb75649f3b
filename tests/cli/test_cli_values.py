"""How `union run` reads --NAME VALUE by annotation, and how it reports a file it cannot use."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import pytest

from union.cli._remote import CliUsageError, jsonable, parse_value
from union.cli.main import main


class Mode(enum.Enum):
    FAST = "fast"


@dataclass
class Inner:
    when: dt.datetime
    mode: Mode


@dataclass
class Outer:
    inner: list[Inner]
    note: str | None = None


@pytest.mark.parametrize(
    ("raw", "annotation", "expected"),
    [
        ("7", int, 7),
        ("2.5", float, 2.5),
        ("yes", bool, True),
        ("off", bool, False),
        ("text", str, "text"),
        ("abc", bytes, b"abc"),
        ("2024-01-02T03:04:05", dt.datetime, dt.datetime(2024, 1, 2, 3, 4, 5)),
        ("1.5", dt.timedelta, dt.timedelta(seconds=1.5)),
        ("none", Optional[int], None),  # noqa: UP045 - the typing spelling on purpose
        ("3", Optional[int], 3),  # noqa: UP045
        ("none", int | None, None),
        ("4", int | None, 4),
        ("fast", Mode, Mode.FAST),
        ("FAST", Mode, Mode.FAST),
        ("a/b", Path, Path("a/b")),
        ("[1, 2]", list[int], [1, 2]),
        ('{"a": [1]}', dict[str, list[int]], {"a": [1]}),
        ("5", Union[int, str], 5),  # noqa: UP007
    ],
)
def test_parse_value(raw: str, annotation: object, expected: object) -> None:
    assert parse_value(raw, annotation, "--x") == expected


def test_nested_dataclass_from_json() -> None:
    raw = '{"inner": [{"when": "2024-01-01T00:00:00+00:00", "mode": "fast"}]}'
    value = parse_value(raw, Outer, "--o")
    assert value == Outer([Inner(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), Mode.FAST)])
    assert jsonable(value) == {"inner": [{"when": "2024-01-01T00:00:00+00:00", "mode": "fast"}], "note": None}


@pytest.mark.parametrize(
    ("raw", "annotation"), [("x", int), ("maybe", bool), ("{", list[int]), ("slow", Mode)]
)
def test_bad_values(raw: str, annotation: object) -> None:
    with pytest.raises(CliUsageError, match="--x"):
        parse_value(raw, annotation, "--x")


def test_unsupported_annotation_in_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad_tasks.py").write_text(
        "import union\n\n@union.task\ndef bad(x: complex) -> None:\n    return None\n"
    )
    assert main(["run", f"{tmp_path / 'bad_tasks.py'}:bad", "--x", "1"]) == 1
    err = capsys.readouterr().err
    assert "complex is not a supported type" in err


def test_not_a_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain_mod.py").write_text("def f(a: int) -> int:\n    return a\n")
    assert main(["run", f"{tmp_path / 'plain_mod.py'}:f"]) == 1
    assert "not decorated with @union.task" in capsys.readouterr().err
    assert main(["run", "no-colon"]) == 1
