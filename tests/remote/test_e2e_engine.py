"""End to end through the embedded engine: union.run -> DeployTask/CreateRun -> a worker process -> Run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rt_tasks

import union
from union.errors import (
    RunAbortedError,
    RunFailedError,
    RunNotFoundError,
    RunWaitTimeoutError,
    TaskNotFoundError,
)
from union.remote import Run, Task
from union.types import MissingInputError, TypeMismatchError, UnknownInputError, UnsupportedTypeError

WAIT = 60


def test_success(engine: Any) -> None:
    run = union.run(rt_tasks.add, a=40)
    assert run.result(timeout=WAIT) == 42
    assert run.phase == "SUCCEEDED" and run.done() and not run.is_running
    assert run.started_at is not None and run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert run.outputs == {"o0": 42}
    again = Run.get(name=run.name)
    assert again.result() == 42 and again.task_name == "rt_tasks.add"
    assert Run.get(uri=run.uri).name == run.name
    assert union.run(rt_tasks.divide, a=7, b=2).result(timeout=WAIT) == (3.5, 1.0)


def test_unchanged_code_is_deployed_once(engine: Any) -> None:
    union.run(rt_tasks.add, a=1).wait(timeout=WAIT)
    union.run(rt_tasks.add, a=2).wait(timeout=WAIT)
    versions = [t.version for t in Task.search(limit=50) if t.name == "rt_tasks.add"]
    assert len(versions) == 1


def test_builtin_failure_keeps_type_and_message(engine: Any) -> None:
    run = union.run(rt_tasks.fail_value, message="bad value: 7")
    run.wait(timeout=WAIT)
    assert run.phase == "FAILED"
    with pytest.raises(ValueError) as info:
        run.result()
    assert type(info.value) is ValueError and str(info.value) == "bad value: 7"
    assert run.error is not None and run.error.code == "builtins.ValueError" and run.error.kind == "USER"


def test_custom_failure_names_the_remote_type(engine: Any) -> None:
    run = union.run(rt_tasks.fail_custom, message="custom")
    with pytest.raises(RunFailedError, match=r"rt_tasks\.CustomError: custom") as info:
        run.result(timeout=WAIT)
    assert info.value.code == "rt_tasks.CustomError"


def test_wait_timeout_then_cancel(engine: Any) -> None:
    run = union.run(rt_tasks.sleepy, seconds=60)
    with pytest.raises(RunWaitTimeoutError):
        run.wait(timeout=0.5)
    assert not run.done()
    run.cancel()
    run.wait(timeout=WAIT)
    assert run.phase == "ABORTED"
    with pytest.raises(RunAbortedError):
        run.result()


def test_retry_then_success(engine: Any, tmp_path: Path) -> None:
    run = union.run(rt_tasks.flaky, marker=str(tmp_path / "marker"))
    assert run.result(timeout=WAIT) == 2


def test_task_timeout(engine: Any) -> None:
    run = union.run(rt_tasks.too_slow, seconds=30)
    run.wait(timeout=WAIT)
    assert run.phase in ("TIMED_OUT", "FAILED")
    with pytest.raises(TimeoutError):
        run.result()


def test_search_pages_newest_first(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import union.remote._run as run_module

    names = [union.run(rt_tasks.add, a=i).name for i in range(5)]
    monkeypatch.setattr(run_module, "_PAGE", 2)
    assert [r.name for r in Run.search(limit=3)] == names[::-1][:3]
    assert [r.name for r in Run.search(limit=50)] == names[::-1]
    for r in Run.search(limit=5):
        r.wait(timeout=WAIT)


def test_round_trip_of_every_supported_type(engine: Any) -> None:
    values = dict(
        i=-(2**40),
        f=2.5,
        s="héllo",
        b=True,
        raw=b"\x00\xff",
        when=dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc),
        span=dt.timedelta(days=1, microseconds=5),
        maybe=None,
        nothing=None,
        color=rt_tasks.Color.GREEN,
        items=[1, 2, 3],
        mapping={"a": 1.5},
        point=rt_tasks.Point(x=1, y=2.5, label="p"),
    )
    result = union.run(rt_tasks.echo_all, **values).result(timeout=WAIT)
    assert result == tuple(values.values())
    assert isinstance(result[12], rt_tasks.Point)
    assert union.run(rt_tasks.echo_all, **{**values, "maybe": 5}).result(timeout=WAIT)[7] == 5


def test_paths_round_trip(engine: Any, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("file content")
    assert union.run(rt_tasks.read_file, path=source).result(timeout=WAIT) == "file content"
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    assert union.run(rt_tasks.read_dir, path=tree).result(timeout=WAIT) == ["a.txt", "sub"]
    out = union.run(rt_tasks.write_file, text="written").result(timeout=WAIT)
    assert isinstance(out, Path) and out.read_text() == "written"
    out_dir = union.run(rt_tasks.write_dir, names=["x", "y"]).result(timeout=WAIT)
    assert sorted(p.name for p in out_dir.iterdir()) == ["x", "y"]


def test_pydantic_round_trip(engine: Any) -> None:
    pytest.importorskip("pydantic")
    import rt_pydantic

    item = rt_pydantic.Item(name="n", tags=["a"], price=1.5)
    result = union.run(rt_pydantic.tag, item=item, extra="b").result(timeout=WAIT)
    assert result == rt_pydantic.Item(name="n", tags=["a", "b"], price=1.5)


def test_deployed_task_by_name(engine: Any) -> None:
    union.run(rt_tasks.add, a=1).wait(timeout=WAIT)
    lazy = Task.get(name="rt_tasks.add")
    assert lazy.inputs == {"a": "int", "b": "int"}
    assert union.run(lazy, a=2, b=3).result(timeout=WAIT) == 5
    pinned = Task.get(uri=lazy.uri)
    assert pinned.fetch().version == lazy.version
    with pytest.raises(MissingInputError, match="'a'"):
        union.run(lazy, b=1)


def test_a_deployed_task_keeps_its_defaults(engine: Any) -> None:
    union.run(rt_tasks.add, a=1).wait(timeout=WAIT)
    lazy = Task.get(name="rt_tasks.add")
    assert lazy.defaults == {"b": 2}
    run = union.run(lazy, a=40)
    assert run.result(timeout=WAIT) == 42


def test_bad_inputs_have_typed_errors(engine: Any) -> None:
    with pytest.raises(RunNotFoundError):
        Run.get(name="r-does-not-exist")
    with pytest.raises(TaskNotFoundError):
        Task.get(name="no.such.task").fetch()
    with pytest.raises(TaskNotFoundError):
        union.run(Task.get(name="no.such.task"))
    with pytest.raises(UnknownInputError):
        union.run(rt_tasks.add, c=1)
    with pytest.raises(TypeMismatchError):
        union.run(rt_tasks.add, a="1")
    with pytest.raises(TypeMismatchError):
        union.run(rt_tasks.echo_all, **{**_echo_values(), "point": {"x": 1}})
    with pytest.raises(UnsupportedTypeError):

        @union.task
        def bad(x: complex) -> None:
            return None

    assert list(Run.search(limit=5)) == []


def test_logs(engine: Any) -> None:
    run = union.run(rt_tasks.noisy, n=3)
    run.wait(timeout=WAIT)
    assert [line for line in run.logs() if line.startswith("line")] == ["line 0", "line 1", "line 2"]


def test_dataclass_outputs_with_caller_hints(engine: Any) -> None:
    run = union.run(rt_tasks.echo_all, **_echo_values())
    run.wait(timeout=WAIT)

    @dataclasses.dataclass
    class Other:
        x: int
        y: float
        label: str

    assert run.get_typed_outputs({"o12": Other}) == Other(1, 2.0, "q")


def _echo_values() -> dict[str, Any]:
    return dict(
        i=1,
        f=1.0,
        s="s",
        b=False,
        raw=b"",
        when=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
        span=dt.timedelta(0),
        maybe=None,
        nothing=None,
        color=rt_tasks.Color.RED,
        items=[],
        mapping={},
        point=rt_tasks.Point(1, 2.0, "q"),
    )


def test_a_script_run_as_main(engine: Any, tmp_path: Path) -> None:
    import os

    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "hello_script.py").write_text(
        "import union\n\n"
        "@union.task\n"
        "def shout(text: str) -> str:\n"
        "    return text.upper() + '!'\n\n"
        "if __name__ == '__main__':\n"
        "    print(union.run(shout, text='hi').result(timeout=60))\n"
    )
    done = _run_script(folder / "hello_script.py", dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "HI!"
    assert [r.task_name for r in Run.search(limit=5)] == ["hello_script.shout"]


def test_a_script_without_a_main_guard_starts_exactly_one_run(engine: Any, tmp_path: Path) -> None:
    """The worker imports the script to run its task; the script's top-level union.run then must not start
    a second run (whose worker would start a third...), but fail the first run with a clear error."""
    import os

    folder = tmp_path / "unguarded"
    folder.mkdir()
    (folder / "unguarded_script.py").write_text(
        "import union\n\n"
        "@union.task\n"
        "def add(a: int, b: int = 2) -> int:\n"
        "    return a + b\n\n"
        "run = union.run(add, a=40)\n"
        "run.wait(timeout=60)\n"
        "print(run.phase)\n"
    )
    done = _run_script(folder / "unguarded_script.py", dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "FAILED"
    runs = list(Run.search(limit=10))
    assert len(runs) == 1
    error = runs[0].error
    assert error is not None and error.code == "union.errors.RunInsideTaskError"
    assert 'if __name__ == "__main__":' in error.message


def test_a_run_inside_a_task_is_refused(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way of creating a run checks, not only union.run: the transports' CreateRun too."""
    from flyteidl2.workflow.run_service_pb2 import CreateRunRequest

    from union._task_context import TASK_ENV
    from union.config import Config
    from union.errors import RunInsideTaskError
    from union.transport.connect import ConnectTransport

    monkeypatch.setenv(TASK_ENV, "r1")
    with pytest.raises(RunInsideTaskError, match="__main__"):
        union.run(rt_tasks.add, a=1)
    with pytest.raises(RunInsideTaskError):
        engine.create_run(CreateRunRequest())
    with pytest.raises(RunInsideTaskError):
        ConnectTransport(Config(endpoint="http://127.0.0.1:9")).create_run(CreateRunRequest())


def test_a_task_file_in_the_home_folder_leaves_union_folders_and_virtualenvs_out(
    isolated_user: Path,
) -> None:
    """The bundle root is HOME itself: union's default cache and data folders (written to during the
    deploy), its config folder and a virtualenv under any name stay out of the bundle."""
    import os

    home = isolated_user
    (home / "hello_home.py").write_text(
        "import os\n"
        "import union\n\n"
        "@union.task\n"
        "def listing() -> list[str]:\n"
        "    root = os.path.dirname(os.path.abspath(__file__))\n"
        "    return sorted(\n"
        "        os.path.relpath(os.path.join(d, n), root)\n"
        "        for d, _, ns in os.walk(root)\n"
        "        for n in ns\n"
        "        if '__pycache__' not in d  # the worker's own bytecode, written when it imports the task\n"
        "    )\n\n"
        "if __name__ == '__main__':\n"
        "    print('\\n'.join(union.run(listing).result(timeout=60)))\n"
    )
    (home / "notes.txt").write_text("kept\n")
    (home / "myenv" / "lib").mkdir(parents=True)
    (home / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (home / "myenv" / "lib" / "site.py").write_text("x = 1\n")
    (home / ".union").mkdir()
    (home / ".union" / "config.yaml").write_text("{}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UNION_", "XDG_"))}
    env["HOME"] = str(home)
    done = _run_script(home / "hello_home.py", env, cwd=home)
    assert done.returncode == 0, done.stderr
    assert (home / ".cache" / "union").is_dir() and (home / ".local" / "share" / "union").is_dir()
    assert done.stdout.split() == ["hello_home.py", "notes.txt"]


def _run_script(
    script: Path, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a user's script as ``python script.py``, the way a user would, and keep what it printed."""
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
