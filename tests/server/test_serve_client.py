"""Our own client over ``union serve``: ``Run``, ``Task``, ``union.run``, ``upload_file`` and ``upload_dir``
work unchanged with ``union.init(endpoint=url, insecure=True)`` (uploads then go through signed URLs)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import Served

import union
import union.config
from union.errors import RunAbortedError, RunNotFoundError, RunWaitTimeoutError, TaskNotFoundError
from union.remote import Run, Task, _client

BUNDLE = Path(__file__).parent.parent / "remote" / "bundle"
if str(BUNDLE) not in sys.path:
    sys.path.insert(0, str(BUNDLE))

import rt_tasks  # noqa: E402

WAIT = 60


@pytest.fixture(params=["proto", "json"])
def remote(request: pytest.FixtureRequest, make_server: Callable[..., Served]) -> Iterator[Served]:
    """A server, and this process configured to use it (the transport in the requested codec)."""
    served = make_server()
    config = union.init(endpoint=served.url, insecure=True)
    _client.reset()
    transport = _client.transport(config)
    assert type(transport).__name__ == "ConnectTransport"
    if request.param == "json":
        from union.transport.connect import ConnectTransport

        transport = ConnectTransport(config, codec="json")
        with _client._lock:
            _client._cached = (config, transport)
    yield served
    _client.reset()


def _in_store(served: Served, uri: str) -> Path:
    store = served.server.store.removeprefix("file://")
    path = uri.removeprefix("file://")
    assert path.startswith(store + "/"), (uri, store)
    return Path(path)


def test_union_run_result_logs_and_lookup(remote: Served) -> None:
    run = union.run(rt_tasks.add, a=40)
    assert run.result(timeout=WAIT) == 42
    assert run.phase == "SUCCEEDED" and run.outputs == {"o0": 42}
    assert Run.get(name=run.name).result() == 42
    assert [r.name for r in Run.search(limit=5)] == [run.name]
    noisy = union.run(rt_tasks.noisy, n=2)
    noisy.wait(timeout=WAIT)
    assert [line for line in noisy.logs() if line.startswith("line")] == ["line 0", "line 1"]
    lazy = Task.get(name="rt_tasks.add")
    assert union.run(lazy, a=1, b=1).result(timeout=WAIT) == 2
    assert {t.name for t in Task.search(limit=10)} == {"rt_tasks.add", "rt_tasks.noisy"}
    with pytest.raises(RunNotFoundError):
        Run.get(name="r-missing")
    with pytest.raises(TaskNotFoundError):
        Task.get(name="no.such.task").fetch()


def test_failure_wait_timeout_and_cancel(remote: Served) -> None:
    failed = union.run(rt_tasks.fail_value, message="bad value: 7")
    with pytest.raises(ValueError, match="bad value: 7"):
        failed.result(timeout=WAIT)
    slow = union.run(rt_tasks.sleepy, seconds=60)
    with pytest.raises(RunWaitTimeoutError):
        slow.wait(timeout=0.5)
    slow.cancel()
    slow.wait(timeout=WAIT)
    with pytest.raises(RunAbortedError):
        slow.result()


def test_uploads_go_through_signed_urls_to_the_server_store(remote: Served, tmp_path: Path) -> None:
    from union.storage.upload import upload_dir, upload_file

    source = tmp_path / "one.txt"
    source.write_bytes(b"one file")
    _, uri = upload_file(source)
    assert _in_store(remote, uri).read_bytes() == b"one file"
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    _, dir_uri = upload_dir(tree)
    root = _in_store(remote, dir_uri)
    assert (root / "a.txt").read_text() == "a" and (root / "sub" / "b.txt").read_text() == "b"


def test_file_inputs_and_outputs_round_trip(remote: Served, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("file content")
    assert union.run(rt_tasks.read_file, path=source).result(timeout=WAIT) == "file content"
    out: Any = union.run(rt_tasks.write_file, text="written").result(timeout=WAIT)
    assert isinstance(out, Path) and out.read_text() == "written"


def test_union_run_with_an_api_key(make_server: Callable[..., Served]) -> None:
    """Auth on: the code bundle goes up through signed URLs, the run through authenticated Connect calls."""
    try:  # tokens go to the isolated file cache, never to this machine's keyring
        import keyring
        from keyring.backends import fail

        before = keyring.get_keyring()
        keyring.set_keyring(fail.Keyring())
        restore_keyring = lambda: keyring.set_keyring(before)  # noqa: E731
    except ImportError:
        restore_keyring = lambda: None  # noqa: E731
    try:
        _run_with_key(make_server)
    finally:
        restore_keyring()


def _run_with_key(make_server: Callable[..., Served]) -> None:
    from union.auth.apikey import decode_api_key

    served = make_server(auth=True)
    served.server.auth.failure_delay = 0.0
    key = served.server.auth.create_api_key("runner", endpoint=served.url)
    union.init(endpoint=served.url, insecure=True, api_key=key)
    _client.reset()
    try:
        assert union.run(rt_tasks.add, a=1, b=1).result(timeout=WAIT) == 2
    finally:
        _client.reset()
    secret = decode_api_key(key).client_secret
    assert secret not in served.log_text() and key not in served.log_text()
    union.init(endpoint=served.url, insecure=True)
    _client.reset()
    from union.errors import UnauthenticatedError

    with pytest.raises(UnauthenticatedError):
        Run.search(limit=1).__next__()
    _client.reset()
