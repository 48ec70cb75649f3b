"""``union.remote.Run``: one run of a task, with the seed's API, over whatever transport is configured."""

from __future__ import annotations

import builtins
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Dict, NamedTuple, Optional, Type, Union  # noqa: UP035 - seed signatures

from union import _args
from union.errors import (
    ArgumentValueError,
    RunAbortedError,
    RunFailedError,
    RunNotDoneError,
    RunNotFoundError,
    RunTimedOutError,
    RunWaitTimeoutError,
    TransportError,
)
from union.remote import _client
from union.remote._client import TERMINAL, Scope

if TYPE_CHECKING:
    from flyteidl2.common.identifier_pb2 import RunIdentifier
    from flyteidl2.core.literals_pb2 import Literal
    from flyteidl2.workflow.run_definition_pb2 import Action, RunDetails

    from union.transport import Transport

ROOT_ACTION = "a0"
"""The name of a run's root action, whose inputs and outputs are the run's (see the contract)."""

_PAGE = 1000
WATCH_CHUNK_S = 10.0
_NO_OUTPUTS: Any = object()


class RunError(NamedTuple):
    """Why a run failed: the remote exception type (``code``), its message and whose fault (``kind``)."""

    message: str
    code: str = ""
    kind: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def _kind_name(kind: int) -> str:
    return {1: "USER", 2: "SYSTEM"}.get(kind, "")


def rebuild_exception(error: RunError, run: str) -> BaseException:
    """The exception ``result()`` raises: the builtin type itself when ``code`` names one, else RunFailedError."""
    module, _, qualname = error.code.rpartition(".")
    if module == "builtins" and qualname:
        cls = getattr(builtins, qualname, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                exc = cls(error.message)
            except Exception:  # a builtin that needs more arguments (UnicodeDecodeError...)
                pass
            else:
                if hasattr(exc, "add_note"):
                    exc.add_note(f"raised remotely by run {run}")
                return exc
    remote = error.code or "an unknown error"
    return RunFailedError(
        f"run {run} failed with {remote}: {error.message}", code=error.code, kind=error.kind, run=run
    )


class Run:
    """A class representing a run of a task, managed through the configured control plane.

    ``Run(run_id)`` takes a run name (in the configured project and domain) or a run URI,
    ``union://<org>/<project>/<domain>/runs/<name>``; nothing is fetched until a property or method needs
    it. ``union.run(task, ...)``, ``Run.get`` and ``Run.search`` return Runs too.
    """

    def __init__(self, run_id: str, _outputs: Any = None) -> None:
        if not isinstance(run_id, str) or not run_id:
            raise ValueError(f"run_id must be a run name or URI, got {run_id!r}")
        if run_id.startswith(f"{_client.SCHEME}://"):
            parsed = _client.parse_uri(run_id, "runs")
            self._scope, name = parsed.scope, parsed.name
        else:
            self._scope, name = _client.scope(), run_id
        self.run_id = name
        self._reset_state(None, _outputs)

    def _reset_state(self, transport: Transport | None, outputs: Any = None) -> None:
        self._outputs: Any = _NO_OUTPUTS if outputs is None else outputs
        self._details: RunDetails | None = None
        self._summary: Action | None = None
        self._decode_with: Any = None  # the task function (or TypedInterface) outputs decode with
        self._output_literals: dict[str, Literal] | None = None
        self._transport: Transport | None = transport

    # -- construction ------------------------------------------------------------------------------

    @classmethod
    def _from_id(cls, rid: RunIdentifier, transport: Transport | None = None) -> Run:
        run = cls.__new__(cls)  # no __init__: the scope is known, the config need not be consulted
        run.run_id = rid.name
        run._scope = Scope(rid.org, rid.project, rid.domain)
        run._reset_state(transport)
        return run

    @classmethod
    def get(
        cls,
        uri: str | None = None,
        name: str | None = None,
        project: str | None = None,
        domain: str | None = None,
    ) -> Run:
        """The run with this URI, or this name in ``project``/``domain`` (default: the configured ones).

        Fetched now, so an unknown run raises :class:`union.errors.RunNotFoundError` here.
        """
        for arg, value in (("uri", uri), ("name", name), ("project", project), ("domain", domain)):
            _args.optional_str(value, "Run.get", arg)
        if (uri is None) == (name is None):
            raise ArgumentValueError("Run.get needs exactly one of uri= or name=")
        if uri is not None:  # parsed as a URI whatever it looks like: "ftp://x" is no run's name
            _client.parse_uri(uri, "runs")
            run = cls(uri)
        else:
            assert name is not None
            run = cls(name)
            run._scope = _client.scope(project, domain, run._scope.org)
        return run.sync()

    @classmethod
    def search(
        cls, limit: int = 100, *, project: str | None = None, domain: str | None = None
    ) -> Iterator[Run]:
        """Runs in the project and domain, newest first, at most ``limit``; pages are fetched as needed.

        The arguments are checked here, at the call, not when the first run is asked for.
        """
        _args.search("Run.search", limit, project, domain)
        return cls._search(limit, project, domain)

    @classmethod
    def _search(cls, limit: int, project: str | None, domain: str | None) -> Iterator[Run]:
        from flyteidl2.common import identifier_pb2
        from flyteidl2.workflow import run_service_pb2

        s = _client.scope(project, domain)
        transport = _client.transport()
        project_id = identifier_pb2.ProjectIdentifier(organization=s.org, domain=s.domain, name=s.project)

        def fetch(size: int, token: str) -> tuple[Sequence[Any], str]:
            request = run_service_pb2.ListRunsRequest(
                request=_client.list_request(size, token), project_id=project_id
            )
            response = transport.list_runs(request)
            return response.runs, response.token

        for message in _client.paged(fetch, limit, _PAGE):
            run = cls._from_id(message.action.id.run, transport)
            run._summary = message.action
            yield run

    # -- identity ----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.run_id

    @property
    def project(self) -> str:
        return self._scope.project

    @property
    def domain(self) -> str:
        return self._scope.domain

    @property
    def uri(self) -> str:
        """``union://<org>/<project>/<domain>/runs/<name>``, accepted by ``Run.get(uri=...)``."""
        return _client.format_uri("runs", self._scope, self.run_id)

    def _rid(self) -> RunIdentifier:
        from flyteidl2.common.identifier_pb2 import RunIdentifier

        s = self._scope
        return RunIdentifier(org=s.org, project=s.project, domain=s.domain, name=self.run_id)

    def _client(self) -> Transport:
        if self._transport is None:
            self._transport = _client.transport()
        return self._transport

    def _not_found(self, exc: Exception) -> RunNotFoundError:
        if isinstance(exc, RunNotFoundError):  # the transport already said which run, and where
            return exc
        return RunNotFoundError(
            f"no run {self.run_id!r} in project {self.project!r}, domain {self.domain!r} ({exc})"
        )

    # -- state -------------------------------------------------------------------------------------

    def sync(self) -> Run:
        """Fetch the run's current state from the control plane."""
        from flyteidl2.workflow.run_service_pb2 import GetRunDetailsRequest

        try:
            response = self._client().get_run_details(GetRunDetailsRequest(run_id=self._rid()))
        except TransportError as exc:
            if not _client.is_not_found(exc):
                raise
            raise self._not_found(exc) from exc
        self._details = response.details
        return self

    def _status(self) -> Any:
        if self._details is not None:
            return self._details.action.status
        if self._summary is not None:
            return self._summary.status
        details = self.sync()._details
        assert details is not None
        return details.action.status

    @property
    def phase(self) -> str:
        """The phase last seen (flyteidl2 ActionPhase without its prefix): QUEUED, RUNNING, SUCCEEDED..."""
        return _client.phase_name(self._status().phase)

    def done(self) -> bool:
        """Check if the execution is in a terminal state (succeeded, failed, aborted, timed out)."""
        if self.phase not in TERMINAL:
            self.sync()
        return self.phase in TERMINAL

    @property
    def is_running(self) -> bool:
        """True until the run reaches a terminal phase (queued, starting or running)."""
        return not self.done()

    @property
    def started_at(self) -> dt.datetime | None:
        """When the run started (UTC), or None if it has not."""
        return _client.timestamp(self._status().start_time)

    @property
    def finished_at(self) -> dt.datetime | None:
        """When the run reached a terminal phase (UTC), or None while it runs."""
        status = self._status()
        return _client.timestamp(status.end_time) if status.HasField("end_time") else None

    @property
    def task_name(self) -> str:
        """The name of the task this run runs."""
        if self._details is not None:
            return str(self._details.action.metadata.task.id.name)
        if self._summary is not None:
            return str(self._summary.metadata.task.id.name)
        return str(self._terminal_details().action.metadata.task.id.name)

    def _terminal_details(self) -> RunDetails:
        if self._details is None or _client.phase_name(self._details.action.status.phase) not in TERMINAL:
            self.sync()
        assert self._details is not None
        return self._details

    @property
    def error(self) -> RunError | None:
        """Get the error if the execution has failed (type, message, kind); None otherwise."""
        details = self._terminal_details()
        action = details.action
        phase = _client.phase_name(action.status.phase)
        if phase not in TERMINAL or phase in ("SUCCEEDED", "RECOVERED"):
            return None  # an earlier attempt's error while retrying is not the run's error
        if action.HasField("error_info"):
            info = action.error_info
            return RunError(message=info.message, code=info.code, kind=_kind_name(info.kind))
        if phase == "ABORTED":
            reason = action.abort_info.reason if action.HasField("abort_info") else ""
            return RunError(message=reason or "the run was cancelled", code="ABORTED")
        if phase == "TIMED_OUT":
            return RunError(message="the run exceeded its timeout", code="TIMED_OUT", kind="SYSTEM")
        if phase == "FAILED":
            return RunError(message="the run failed without error details", kind="SYSTEM")
        return None

    def exception(self) -> BaseException | None:
        """Returns the exception ``result()`` would raise for a finished, failed run; None otherwise."""
        error = self.error
        if error is None:
            return None
        phase = self.phase
        if phase == "ABORTED":
            return RunAbortedError(
                f"run {self.uri} was cancelled: {error.message}",
                code=error.code,
                kind=error.kind,
                run=self.uri,
            )
        if phase == "TIMED_OUT" and not error.code.startswith("builtins."):
            return RunTimedOutError(
                f"run {self.uri} timed out: {error.message}", code=error.code, kind=error.kind, run=self.uri
            )
        return rebuild_exception(error, self.uri)

    # -- waiting -----------------------------------------------------------------------------------

    def wait(
        self,
        timeout: Optional[Union[dt.timedelta, int]] = None,  # noqa: UP007, UP045
        poll_interval: Optional[Union[dt.timedelta, int]] = None,  # noqa: UP007, UP045
        sync_nodes: bool = True,
        *,
        on_update: Callable[[Run], None] | None = None,
    ) -> Run:
        """Wait for the execution to complete. This is a blocking call.

        Follows the transport's watch stream (polling ``GetRunDetails`` where there is none, or every
        ``poll_interval`` as a safety net). Raises :class:`union.errors.RunWaitTimeoutError` after
        ``timeout``; the run keeps going, as it does on Ctrl-C. ``sync_nodes`` also fetches the outputs of a
        succeeded run before returning. ``on_update`` is called with this run whenever its phase changes.
        """
        limit = _client.seconds(timeout, "timeout")
        fixed = _client.seconds(poll_interval, "poll_interval")
        deadline = None if limit is None else time.monotonic() + limit
        last = None
        watcher: _Watcher | None = None
        interval = fixed or 0.05  # polling only: grows to 1 s unless poll_interval is given
        try:
            self.sync()
            while True:
                if self.phase != last:
                    last = self.phase
                    if on_update is not None:
                        on_update(self)
                if last in TERMINAL:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise RunWaitTimeoutError(
                        f"run {self.uri} is still {last} after {limit:g} s; it keeps running. "
                        "Wait again, or cancel it with run.cancel()."
                    )
                if watcher is None:
                    watcher = _Watcher(self, limit)
                if watcher.alive:
                    wait_for = fixed or 1.0
                    details = watcher.next(wait_for if remaining is None else min(wait_for, remaining))
                    if details is not None:
                        self._details = details
                    else:  # quiet for a while, or the stream ended: ask directly
                        self.sync()
                else:
                    time.sleep(interval if remaining is None else min(interval, remaining))
                    self.sync()
                    if fixed is None:
                        interval = min(interval * 1.5, 1.0)
        finally:
            if watcher is not None:
                watcher.stop()
        if sync_nodes and self.phase == "SUCCEEDED":
            self._literals()
        return self

    def cancel(self) -> None:
        """Cancel the execution; a run that already finished is left as it is."""
        from flyteidl2.workflow.run_service_pb2 import AbortRunRequest

        if self.done():
            return
        try:
            self._client().abort_run(AbortRunRequest(run_id=self._rid(), reason="cancelled by the user"))
        except TransportError as exc:
            if not _client.is_not_found(exc):
                raise
            raise self._not_found(exc) from exc
        self.sync()

    # -- outputs -----------------------------------------------------------------------------------

    def _literals(self) -> dict[str, Literal]:
        if self._output_literals is None:
            from flyteidl2.common.identifier_pb2 import ActionIdentifier
            from flyteidl2.workflow.run_service_pb2 import GetActionDataRequest

            try:
                response = self._client().get_action_data(
                    GetActionDataRequest(action_id=ActionIdentifier(run=self._rid(), name=ROOT_ACTION))
                )
            except TransportError as exc:
                if not _client.is_not_found(exc):
                    raise
                raise self._not_found(exc) from exc
            self._output_literals = {n.name: n.value for n in response.outputs.literals}
        return self._output_literals

    def _interface_source(self) -> Any:
        if self._decode_with is not None:
            return self._decode_with
        details = self._terminal_details()
        if details.action.HasField("task") and details.action.task.task_template.HasField("interface"):
            self._decode_with = details.action.task.task_template.interface
        else:
            from flyteidl2.task.task_service_pb2 import GetTaskDetailsRequest

            task_id = details.action.metadata.task.id
            response = self._client().get_task_details(GetTaskDetailsRequest(task_id=task_id))
            self._decode_with = response.details.spec.task_template.interface
        return self._decode_with

    def _check_succeeded(self) -> None:
        if not self.done():
            raise RunNotDoneError(
                f"run {self.uri} is {self.phase}; it has no outputs yet. Call run.wait() first."
            )
        exc = self.exception()
        if exc is not None:
            raise exc

    def _files(self) -> Any:
        from union.storage.files import StorageFiles

        return StorageFiles()

    @property
    def outputs(self) -> dict[str, Any]:
        """The outputs of a succeeded run by name (``o0``, ``o1``...), as Python values.

        Raises :class:`union.errors.RunNotDoneError` while it runs, and the run's error if it failed.
        """
        from union.types.schema import signature_of

        self._check_succeeded()
        sig = signature_of(self._interface_source())
        values = self.result()
        if len(sig.outputs) == 1:
            values = (values,)
        return {p.name: v for p, v in zip(sig.outputs, values or (), strict=False)}

    def result(self, timeout: dt.timedelta | int | None = None) -> Any:
        """Wait for the run and return what the task returned: None, one value, or a tuple.

        A failed run raises its error: a builtin exception type as itself (same message), anything
        else as :class:`union.errors.RunFailedError` naming the remote type.
        """
        if self._outputs is not _NO_OUTPUTS:
            return self._outputs
        if not self.done():
            self.wait(timeout=timeout)
        self._check_succeeded()
        from union.types import literals_to_outputs

        self._outputs = literals_to_outputs(self._interface_source(), self._literals(), files=self._files())
        return self._outputs

    def get_typed_outputs(self, hints: Dict[str, Type]) -> Any:  # type: ignore[type-arg]  # noqa: UP006
        """Decode the outputs with the caller's types, e.g. ``{"o0": MyDataclass}``.

        Returns one value for one hint, a tuple (in the hints' order) for several.
        """
        from union.types import from_literal
        from union.types.errors import TypeMismatchError

        self._check_succeeded()
        literals = self._literals()
        files = self._files()
        values = []
        for name, hint in hints.items():
            if name not in literals:
                raise TypeMismatchError(
                    f"outputs of run {self.uri}", f"one of {sorted(literals)}", f"output name {name!r}"
                )
            values.append(from_literal(literals[name], hint, files=files))
        return values[0] if len(values) == 1 else tuple(values)

    # -- logs --------------------------------------------------------------------------------------

    def logs(self, attempt: int | None = None) -> Iterator[str]:
        """The lines the task printed (stdout and stderr) in ``attempt`` (default: the latest)."""
        from flyteidl2.common.identifier_pb2 import ActionIdentifier
        from flyteidl2.workflow.run_logs_service_pb2 import TailLogsRequest

        number = attempt if attempt is not None else max(int(self._status().attempts), 1)
        request = TailLogsRequest(
            action_id=ActionIdentifier(run=self._rid(), name=ROOT_ACTION), attempt=number
        )
        try:
            for response in self._client().tail_logs(request):
                for logs in response.logs:
                    for line in logs.lines:
                        yield str(line.message)
        except TransportError as exc:
            if not _client.is_not_found(exc):
                raise
            raise self._not_found(exc) from exc

    def __repr__(self) -> str:
        status: Any = None
        if self._details is not None:
            status = self._details.action
        elif self._summary is not None:
            status = self._summary
        if status is None:
            return f"Run(name={self.run_id!r}, project={self.project!r}, domain={self.domain!r})"
        phase = _client.phase_name(status.status.phase)
        task = status.metadata.task.id.name
        return (
            f"Run(name={self.run_id!r}, task={task!r}, phase={phase}, "
            f"project={self.project!r}, domain={self.domain!r})"
        )


class _Watcher:
    """Follows ``watch_run_details`` on a daemon thread so the waiting thread can time out and take Ctrl-C."""

    def __init__(self, run: Run, timeout: float | None) -> None:
        import queue

        self._updates: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self.alive = True
        self._run = run
        self._thread = threading.Thread(target=self._follow, args=(timeout,), daemon=True, name="union-watch")
        self._thread.start()

    def _follow(self, timeout: float | None) -> None:
        from flyteidl2.workflow.run_service_pb2 import WatchRunDetailsRequest

        deadline = None if timeout is None else time.monotonic() + timeout
        request = WatchRunDetailsRequest(run_id=self._run._rid())
        try:
            while not self._stop.is_set():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                # Watch in bounded chunks, so a waiter that gave up (Ctrl-C) frees this thread soon.
                chunk = WATCH_CHUNK_S if left is None else min(WATCH_CHUNK_S, left)
                try:
                    for response in self._run._client().watch_run_details(request, timeout=chunk):
                        if self._stop.is_set():
                            return
                        self._updates.put(response.details)
                        if _client.phase_name(response.details.action.status.phase) in TERMINAL:
                            return
                except TimeoutError:  # the chunk's deadline (DeadlineExceededError): watch again
                    continue
                return  # the stream ended without a terminal phase: the waiter polls from here
        except Exception:  # no watch here (NotImplementedError, UNIMPLEMENTED...): the waiter polls
            pass
        finally:
            self.alive = False
            self._updates.put(None)

    def next(self, timeout: float) -> RunDetails | None:
        """The next update, or None when none came within ``timeout`` or the stream has ended."""
        import queue

        try:
            item: RunDetails | None = self._updates.get(timeout=max(timeout, 0.0))
            # Skip to the newest update so a burst is handled at once.
            while not self._updates.empty():
                newer = self._updates.get_nowait()
                if newer is not None:
                    item = newer
            return item
        except queue.Empty:
            return None

    def stop(self) -> None:
        self._stop.set()
