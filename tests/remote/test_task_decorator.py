"""@union.task: checked when decorated, callable locally, and builds the TaskSpec of the contract."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import rt_tasks
from google.protobuf import json_format

import union
from union._task import TaskFunction, bundle_root
from union.errors import TaskDefinitionError
from union.types import UnsupportedTypeError


def test_decorated_function_stays_callable_and_knows_itself() -> None:
    assert isinstance(rt_tasks.add, TaskFunction)
    assert rt_tasks.add(1, b=5) == 6
    assert rt_tasks.add.name == "rt_tasks.add"
    assert rt_tasks.add.module == "rt_tasks"
    assert rt_tasks.add.function == "add"
    assert rt_tasks.add.retries == 0
    assert rt_tasks.add.timeout is None
    assert rt_tasks.add.__doc__ == rt_tasks.add.func.__doc__
    assert "rt_tasks.add" in repr(rt_tasks.add)


def test_options() -> None:
    assert rt_tasks.divide.name == "rt.divide"
    assert rt_tasks.divide.retries == 1
    assert rt_tasks.divide.timeout == dt.timedelta(seconds=30)
    assert rt_tasks.divide(7.0, 2.0) == (3.5, 1.0)


def test_unsupported_annotation_fails_at_decoration() -> None:
    with pytest.raises(UnsupportedTypeError, match="set"):

        @union.task
        def bad(a: set[int]) -> None:
            return None


def test_missing_annotation_fails_at_decoration() -> None:
    with pytest.raises(UnsupportedTypeError, match="missing annotation"):

        @union.task
        def bad(a) -> None:  # type: ignore[no-untyped-def]
            return None


@pytest.mark.parametrize(
    "kwargs", [{"retries": -1}, {"retries": True}, {"timeout": 0}, {"timeout": "1m"}, {"name": ""}]
)
def test_bad_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(TaskDefinitionError):
        union.task(**kwargs)(rt_tasks.add.func)  # type: ignore[call-overload]


def test_not_a_function() -> None:
    with pytest.raises(TaskDefinitionError):
        union.task(print)  # type: ignore[call-overload]

    async def coro(a: int) -> int:
        return a

    with pytest.raises(TaskDefinitionError, match="async"):
        union.task(coro)


def test_nested_function_cannot_be_bundled() -> None:
    @union.task
    def inner(a: int) -> int:
        return a

    assert inner(2) == 2
    with pytest.raises(TaskDefinitionError, match="module-level"):
        inner.bundle()


def test_bundle_root_is_top_level_package_root(tmp_path: Path) -> None:
    pkg = tmp_path / "proj" / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "proj" / "pkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("")
    (tmp_path / "proj" / "script.py").write_text("")
    assert bundle_root(pkg / "mod.py") == ((tmp_path / "proj").resolve(), "pkg.sub.mod")
    assert bundle_root(tmp_path / "proj" / "script.py") == ((tmp_path / "proj").resolve(), "script")
    assert bundle_root(pkg / "__init__.py") == ((tmp_path / "proj").resolve(), "pkg.sub")


def test_spec_follows_the_contract() -> None:
    root, module = rt_tasks.divide.bundle()
    assert root == Path(rt_tasks.__file__).parent.resolve()
    assert module == "rt_tasks"
    spec = rt_tasks.divide.spec(code_uri="file:///code", version="v1", org="o", project="p", domain="d")
    template = spec.task_template
    assert template.type == "python-task"
    assert (
        template.id.name,
        template.id.version,
        template.id.project,
        template.id.domain,
        template.id.org,
    ) == (
        "rt.divide",
        "v1",
        "p",
        "d",
        "o",
    )
    assert template.id.resource_type == 1  # TASK
    assert template.metadata.retries.retries == 1
    assert template.metadata.timeout.seconds == 30
    assert json_format.MessageToDict(template.custom) == {
        "union": {"code": "file:///code", "module": "rt_tasks", "function": "divide"}
    }
    assert [v.key for v in template.interface.inputs.variables] == ["a", "b"]
    assert [v.key for v in template.interface.outputs.variables] == ["o0", "o1"]


HEAVY = (
    "google.protobuf",
    "flyteidl2",
    "s3fs",
    "gcsfs",
    "adlfs",
    "fsspec",
    "requests",
    "urllib3",
    "keyring",
    "connectrpc",
    "http.server",
    "socketserver",
    "union.server",
    "union.auth",
    "union.transport.connect",
    "union.transport.wire",
    "union.storage.signed",
)


def test_import_union_stays_light() -> None:
    """Neither importing union nor pointing it at a remote endpoint loads protobuf, the HTTP client, auth,
    keyring or the server: they come with the first remote call."""
    import subprocess
    import sys

    code = (
        "import sys, union, union.remote, union.errors; union.task; "
        "from union.remote import Run, Task; "
        "union.init(endpoint='https://example.invalid', api_key=None); "
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    # The check itself works: a remote call's modules are seen.
    code = f"import sys, union.transport.connect; print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "union.transport.connect" in done.stdout


def test_a_huge_bundle_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import union._run as run_module

    run_module.check_bundle(Path(rt_tasks.__file__).parent)  # the real bundle is fine
    monkeypatch.setattr(run_module, "MAX_BUNDLE_FILES", 3)
    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text("x")
    with pytest.raises(TaskDefinitionError, match="folder of its own"):
        run_module.check_bundle(tmp_path)


def test_caches_do_not_count_towards_the_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import union._run as run_module

    monkeypatch.setattr(run_module, "MAX_BUNDLE_FILES", 3)
    (tmp_path / "task.py").write_text("x = 1\n")
    for folder in ("__pycache__", ".git", ".venv"):
        (tmp_path / folder).mkdir()
        for i in range(5):
            (tmp_path / folder / f"f{i}").write_text("x")
    run_module.check_bundle(tmp_path)  # 16 files, but only task.py counts
    (tmp_path / ".venv").rename(tmp_path / "data")  # the same five files in an ordinary folder do count
    with pytest.raises(TaskDefinitionError, match="folder of its own"):
        run_module.check_bundle(tmp_path)
