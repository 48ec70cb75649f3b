"""Run, Task and union.run against the in-memory FakeTransport (fast; the engine tests are end to end)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import rt_tasks
from fake_transport import FakeTransport
from flyteidl2.common import phase_pb2
from flyteidl2.workflow import run_definition_pb2

import union
from union.errors import (
    ArgumentValueError,
    InvalidURIError,
    RunAbortedError,
    RunFailedError,
    RunNotDoneError,
    RunNotFoundError,
    RunWaitTimeoutError,
    TaskNotFoundError,
)
from union.remote import LazyEntity, Run, Task
from union.types import MissingInputError, TypeMismatchError, UnknownInputError


def test_run_success(fake: FakeTransport) -> None:
    run = union.run(rt_tasks.add, a=3)
    assert isinstance(run, Run)
    assert run.result() == 5
    assert run.outputs == {"o0": 5}
    assert run.done() and not run.is_running
    assert run.phase == "SUCCEEDED"
    assert run.error is None and run.exception() is None
    assert isinstance(run.started_at, dt.datetime) and run.started_at.tzinfo is not None
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.uri == f"union:///default/development/runs/{run.name}"
    assert "SUCCEEDED" in repr(run) and "rt_tasks.add" in repr(run)


def test_several_outputs_are_a_tuple(fake: FakeTransport) -> None:
    run = union.run(rt_tasks.divide, a=7, b=2)
    assert run.wait() is run
    assert run.result() == (3.5, 1.0)
    assert run.outputs == {"o0": 3.5, "o1": 1.0}
    assert run.get_typed_outputs({"o1": float}) == 1.0
    assert run.get_typed_outputs({"o0": float, "o1": float}) == (3.5, 1.0)
    with pytest.raises(TypeMismatchError):
        run.get_typed_outputs({"nope": int})


def test_deploy_is_skipped_for_an_unchanged_version(fake: FakeTransport) -> None:
    union.run(rt_tasks.add, a=1)
    union.run(rt_tasks.add, a=2)
    assert fake.calls.count("deploy_task") == 1
    assert fake.calls.count("create_run") == 2


def test_builtin_error_is_rebuilt(fake: FakeTransport) -> None:
    run = union.run(rt_tasks.fail_value, message="boom")
    with pytest.raises(ValueError) as info:
        run.result()
    assert type(info.value) is ValueError and str(info.value) == "boom"
    assert run.phase == "FAILED"
    assert run.error is not None
    assert (run.error.code, run.error.message, run.error.kind) == ("builtins.ValueError", "boom", "USER")
    assert isinstance(run.exception(), ValueError)
    with pytest.raises(ValueError):
        _ = run.outputs


def test_other_error_becomes_run_failed_error(fake: FakeTransport) -> None:
    run = union.run(rt_tasks.fail_custom, message="custom boom")
    with pytest.raises(RunFailedError, match="rt_tasks.CustomError: custom boom") as info:
        run.result()
    assert info.value.code == "rt_tasks.CustomError"
    assert info.value.kind == "USER"


def test_wrong_inputs_raise_before_anything_is_sent(fake: FakeTransport) -> None:
    with pytest.raises(UnknownInputError, match="did you mean 'a'"):
        union.run(rt_tasks.add, aa=1)
    with pytest.raises(MissingInputError):
        union.run(rt_tasks.add, b=1)
    with pytest.raises(TypeMismatchError):
        union.run(rt_tasks.add, a="one")
    assert fake.calls == []


def test_union_run_rejects_other_things(fake: FakeTransport) -> None:
    with pytest.raises(TypeError, match="union.run needs"):
        union.run(rt_tasks.add.func, a=1)


def _pending(fake: FakeTransport) -> Run:
    fake.execute = False
    return union.run(rt_tasks.sleepy, seconds=0)


@pytest.mark.parametrize("watch", [True, False])
def test_wait_follows_the_run(fake: FakeTransport, watch: bool) -> None:
    fake.watch = watch
    run = _pending(fake)
    assert run.phase == "QUEUED" and not run.done()
    seen: list[str] = []

    def finish() -> None:
        time.sleep(0.2)
        fake.set_phase(run.name, phase_pb2.ACTION_PHASE_RUNNING)
        time.sleep(0.2)
        fake.run_now(run.name)

    threading.Thread(target=finish).start()
    run.wait(timeout=10, on_update=lambda r: seen.append(r.phase))
    assert run.result() == "slept"
    assert seen[0] == "QUEUED" and seen[-1] == "SUCCEEDED"
    assert ("watch_run_details" in fake.calls) is True


@pytest.mark.parametrize("watch", [True, False])
def test_wait_timeout(fake: FakeTransport, watch: bool) -> None:
    fake.watch = watch
    run = _pending(fake)
    started = time.monotonic()
    with pytest.raises(RunWaitTimeoutError, match="keeps running"):
        run.wait(timeout=dt.timedelta(seconds=0.3), poll_interval=0.05)
    assert 0.25 < time.monotonic() - started < 10
    assert isinstance(RunWaitTimeoutError("x"), TimeoutError)
    assert not run.done()


def test_wait_on_ctrl_c_leaves_the_run_running(fake: FakeTransport) -> None:
    run = _pending(fake)

    def interrupt(r: Run) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.wait(on_update=interrupt)
    assert "abort_run" not in fake.calls
    assert run.phase == "QUEUED"


def test_result_waits_and_outputs_do_not(fake: FakeTransport) -> None:
    run = _pending(fake)
    with pytest.raises(RunNotDoneError):
        _ = run.outputs
    with pytest.raises(RunWaitTimeoutError):
        run.result(timeout=0.1)
    threading.Timer(0.2, fake.run_now, args=(run.name,)).start()
    assert run.result(timeout=10) == "slept"


def test_cancel(fake: FakeTransport) -> None:
    run = _pending(fake)
    run.cancel()
    assert run.phase == "ABORTED" and run.done()
    with pytest.raises(RunAbortedError):
        run.result()
    assert isinstance(run.exception(), RunAbortedError)
    run.cancel()  # already finished: nothing happens
    assert fake.calls.count("abort_run") == 1


def test_get_by_name_and_uri(fake: FakeTransport) -> None:
    run = union.run(rt_tasks.add, a=1)
    by_name = Run.get(name=run.name)
    assert by_name.result() == 3  # decoded with the deployed interface
    by_uri = Run.get(uri=run.uri)
    assert by_uri.name == run.name and by_uri.phase == "SUCCEEDED"
    lazy = Run(run.uri)
    assert lazy.result() == 3
    with pytest.raises(RunNotFoundError):
        Run.get(name="nope")
    with pytest.raises(RunNotFoundError):
        Run.get(name=run.name, project="other")
    with pytest.raises(LookupError):
        Run("nope").sync()
    with pytest.raises(ValueError):
        Run.get()
    with pytest.raises(InvalidURIError):
        Run.get(uri="union://x/runs/y")
    with pytest.raises(InvalidURIError):
        Run.get(uri=run.uri.replace("/runs/", "/tasks/"))


def test_run_from_constructor_with_cached_outputs(fake: FakeTransport) -> None:
    run = Run("anything", 42)
    assert run.result() == 42
    assert fake.calls == []


def test_search_is_newest_first_and_bounded(fake: FakeTransport) -> None:
    names = [union.run(rt_tasks.add, a=i).name for i in range(7)]
    fake.page_sizes.clear()
    found = [r.name for r in Run.search(limit=5)]
    assert found == names[::-1][:5]
    assert fake.page_sizes == [5]
    assert [r.name for r in Run.search(limit=100)] == names[::-1]
    with pytest.raises(ArgumentValueError, match="limit must be a positive int"):
        Run.search(limit=0)
    assert [r.phase for r in Run.search(limit=2)] == ["SUCCEEDED", "SUCCEEDED"]


def test_search_pages(fake: FakeTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    import union.remote._run as run_module

    monkeypatch.setattr(run_module, "_PAGE", 3)
    names = [union.run(rt_tasks.add, a=i).name for i in range(8)]
    fake.page_sizes.clear()
    iterator = Run.search(limit=7)
    assert next(iterator).name == names[-1]
    assert fake.page_sizes == [3]  # fetched only as needed
    rest = [r.name for r in iterator]
    assert [names[-1], *rest] == names[::-1][:7]
    assert fake.page_sizes == [3, 3, 1]


def test_task_get_is_lazy_and_runs(fake: FakeTransport) -> None:
    union.run(rt_tasks.add, a=1)
    fake.calls.clear()
    lazy = Task.get(name="rt_tasks.add")
    assert isinstance(lazy, LazyEntity)
    assert fake.calls == []
    assert "not fetched" in repr(lazy)
    assert lazy.name == "rt_tasks.add"
    version = lazy.version
    assert len(version) == 64
    assert lazy.inputs == {"a": "int", "b": "int"}
    assert lazy.outputs == {"o0": "int"}
    assert lazy.uri.endswith(f"/tasks/rt_tasks.add@{version}")
    run = union.run(lazy, a=1, b=4)
    assert run.result() == 5
    with pytest.raises(UnknownInputError):
        union.run(lazy, c=1)
    with pytest.raises(MissingInputError):  # 'a' has no default, in the deployed task either
        union.run(lazy, b=1)
    assert union.run(lazy, a=1).result() == 3  # the deployed default of b
    with pytest.raises(TypeMismatchError):
        union.run(lazy, a="x", b=1)
    pinned = Task.get(name=f"rt_tasks.add@{version}")
    assert pinned.fetch().version == version
    assert Task.get(uri=lazy.uri).fetch().name == "rt_tasks.add"
    assert Task.get(name="rt_tasks.add", version=version).retries == 0
    assert Task("rt_tasks.add").version == version


def test_task_errors(fake: FakeTransport) -> None:
    lazy = Task.get(name="missing.task")
    with pytest.raises(TaskNotFoundError):
        lazy.fetch()
    with pytest.raises(TaskNotFoundError):
        union.run(Task.get(name="missing.task"), a=1)
    union.run(rt_tasks.add, a=1)
    with pytest.raises(TaskNotFoundError):
        Task.get(name="rt_tasks.add@deadbeef").fetch()
    with pytest.raises(InvalidURIError):
        Task.get(uri="union:///p/d/tasks/")


def test_task_search(fake: FakeTransport) -> None:
    union.run(rt_tasks.add, a=1)
    union.run(rt_tasks.divide, a=1, b=1)
    tasks = list(Task.search(limit=10))
    assert {t.name for t in tasks} == {"rt_tasks.add", "rt.divide"}
    assert len(list(Task.search(limit=1))) == 1
    assert all(t.deployed_at is not None for t in tasks)
    assert "version=" in repr(tasks[0])


def test_error_info_without_builtin_constructor(fake: FakeTransport) -> None:
    run = _pending(fake)
    fake.set_phase(
        run.name,
        phase_pb2.ACTION_PHASE_FAILED,
        run_definition_pb2.ErrorInfo(message="bad bytes", code="builtins.UnicodeDecodeError", kind=2),
    )
    with pytest.raises(RunFailedError, match="builtins.UnicodeDecodeError: bad bytes") as info:
        run.result()
    assert info.value.kind == "SYSTEM"


def test_logs(fake: FakeTransport) -> None:
    run = union.run(rt_tasks.noisy, n=2)
    fake.runs[run.name].logs = ["line 0", "line 1"]
    assert list(run.logs()) == ["line 0", "line 1"]


def test_wait_watches_again_after_each_chunk(fake: FakeTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    import union.remote._run as run_module

    monkeypatch.setattr(run_module, "WATCH_CHUNK_S", 0.1)
    run = _pending(fake)
    threading.Timer(0.5, fake.run_now, args=(run.name,)).start()
    run.wait(timeout=10, poll_interval=30)  # no safety-net poll within the test: only the watch
    assert run.result() == "slept"
    assert fake.calls.count("watch_run_details") >= 3


def test_an_unreachable_endpoint_is_a_typed_error_naming_it() -> None:
    import socket

    from union.errors import UnavailableError

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    union.init(endpoint=f"127.0.0.1:{port}", insecure=True)
    with pytest.raises(UnavailableError, match=f"127.0.0.1:{port}"):
        union.run(rt_tasks.add, a=1)
