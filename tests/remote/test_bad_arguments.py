"""A wrong argument type or value fails at the call with a typed error saying what was expected.

Before, ``upload_file(None)`` came out as "failed at the storage backend: TypeError", ``Task.search(limit="ten")``
as a bare TypeError from inside protobuf, and ``Run.search(limit=-1)`` silently yielded nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import union
from union.cli.main import main
from union.errors import ArgumentTypeError, ArgumentValueError, InvalidURIError
from union.remote import Run, Task, upload_dir, upload_file

pytestmark = pytest.mark.timeout(5)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    union.init(raw_data_prefix=(tmp_path / "store").as_uri())
    return tmp_path / "store"


@pytest.mark.parametrize("value", [None, 3, b"/tmp/x", ["a"]])
def test_upload_paths_of_the_wrong_type(store: Path, value: Any) -> None:
    with pytest.raises(ArgumentTypeError, match="upload_file: fp must be a path .*got "):
        upload_file(value)
    with pytest.raises(ArgumentTypeError, match="upload_dir: dir_path must be a path .*got "):
        upload_dir(value)
    assert not store.exists()


def test_upload_options_of_the_wrong_type(store: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    with pytest.raises(ArgumentValueError, match="upload_file: fp is an empty string"):
        upload_file("")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="progress must be a callable or None, got str"):
        upload_file(tmp_path / "f", progress="yes")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="config must be a union.config.Config or None, got dict"):
        upload_file(tmp_path / "f", config={})  # type: ignore[arg-type]
    with pytest.raises(
        ArgumentTypeError, match=r"exclude must be a list of str, got a str; write \['\*.pyc'\]"
    ):
        upload_dir(tmp_path / "d", exclude="*.pyc")
    with pytest.raises(ArgumentTypeError, match="exclude must be a list of str, it holds a int"):
        upload_dir(tmp_path / "d", exclude=["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ArgumentTypeError, match="allow_outside_symlinks must be True or False, got str"):
        upload_dir(tmp_path / "d", allow_outside_symlinks="no")  # type: ignore[arg-type]
    assert not store.exists()


@pytest.mark.parametrize("search", [Run.search, Task.search], ids=["Run", "Task"])
@pytest.mark.parametrize("limit", ["ten", 2.5, None, True])
def test_search_limit_of_the_wrong_type(fake: Any, search: Any, limit: Any) -> None:
    """Refused at the call itself, before anything is iterated or sent."""
    with pytest.raises(ArgumentTypeError, match=r"\.search: limit must be a positive int, got "):
        search(limit=limit)
    assert fake.calls == []


@pytest.mark.parametrize("search", [Run.search, Task.search], ids=["Run", "Task"])
@pytest.mark.parametrize("limit", [0, -1])
def test_search_limit_below_one(fake: Any, search: Any, limit: int) -> None:
    with pytest.raises(ArgumentValueError, match=rf"limit must be a positive int \(1 or more\), got {limit}"):
        search(limit=limit)
    assert fake.calls == []


@pytest.mark.parametrize("search", [Run.search, Task.search], ids=["Run", "Task"])
def test_search_scope_of_the_wrong_type(fake: Any, search: Any) -> None:
    with pytest.raises(ArgumentTypeError, match="project must be a str or None, got int"):
        search(project=7)
    with pytest.raises(ArgumentValueError, match="domain is an empty string"):
        search(domain="")


@pytest.mark.parametrize("get", [Run.get, Task.get], ids=["Run", "Task"])
@pytest.mark.parametrize("arg", ["uri", "name", "project", "domain"])
def test_get_arguments_of_the_wrong_type(fake: Any, get: Any, arg: str) -> None:
    kwargs: dict[str, Any] = {"name": "x", arg: 42}
    with pytest.raises(ArgumentTypeError, match=rf"\.get: {arg} must be a str or None, got int"):
        get(**kwargs)
    assert fake.calls == []


@pytest.mark.parametrize("get", [Run.get, Task.get], ids=["Run", "Task"])
def test_get_needs_exactly_one_of_uri_and_name(fake: Any, get: Any) -> None:
    with pytest.raises(ArgumentValueError, match="exactly one of uri= or name="):
        get()


@pytest.mark.parametrize("kind", ["runs", "tasks"])
@pytest.mark.parametrize("limit", ["0", "-1", "ten"])
def test_cli_limit_must_be_positive(
    fake: Any, kind: str, limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["get", kind, "--limit", limit])
    assert exited.value.code == 2
    assert "--limit: must be a positive whole number" in capsys.readouterr().err
    assert fake.calls == []


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://nonsense",
        "nonsense",
        "https://example.com/p/d/runs/r",
        "union://org/p/d/tasks/t",
        "union://org/p/d/runs",
        "union://org/p/d/runs/r?x=1",
    ],
)
def test_run_get_uri_must_be_a_union_run_uri(fake: Any, uri: str) -> None:
    """Before, anything not starting with union:// was looked up as a run *named* like the URI."""
    with pytest.raises(InvalidURIError, match=r"union://<org>/<project>/<domain>/runs/<name>"):
        Run.get(uri=uri)
    assert fake.calls == []


@pytest.mark.parametrize(
    "uri", ["ftp://nonsense", "nonsense", "union://org/p/d/runs/r", "union://org/p/d/tasks/t@"]
)
def test_task_get_uri_must_be_a_union_task_uri(fake: Any, uri: str) -> None:
    with pytest.raises(InvalidURIError, match=r"union://<org>/<project>/<domain>/tasks/<name>\[@<version>\]"):
        Task.get(uri=uri)
    assert fake.calls == []
