"""``EmbeddedTransport``: the Transport protocol served by this machine, with no server and no network.

State lives in one SQLite file (``<data dir>/engine.sqlite`` by default), runs execute in detached worker
processes (see :mod:`union.engine.worker`). There is no daemon: every call that submits or polls also
"ticks" the scheduler (starts queued runs, notices dead workers), rate-limited so polling stays cheap.

Embedded specifics, documented here because the wire has no room for them:

- ``create_upload_location`` returns a location under the configured raw-data prefix (a ``file://`` URI
  by default) as both ``signed_url`` and ``native_url``: write the bytes there with fsspec, or simply use
  ``union.remote.upload_file``. No signing, no expiry is enforced.
- ``watch_run_details`` and ``tail_logs`` raise :class:`union.errors.DeadlineExceededError` when their
  ``timeout`` expires first.
- Attempts are numbered from 1; ``TailLogsRequest.attempt = 0`` means the latest attempt.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flyteidl2.common import identifier_pb2
from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy
from flyteidl2.logs.dataplane import payload_pb2
from flyteidl2.task import common_pb2
from flyteidl2.task import task_service_pb2 as tasks
from flyteidl2.workflow import run_logs_service_pb2 as logs
from flyteidl2.workflow import run_service_pb2 as runs

from union.config import Config, current
from union.engine import messages, procs, scheduler
from union.engine.messages import ROOT_ACTION
from union.engine.store import ACTIVE, TERMINAL, NewRun, Store, default_path
from union.errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    InvalidArgumentError,
    RunNotFoundError,
    TaskNotFoundError,
    TransportError,
    UnavailableError,
    UnimplementedError,
)

# 50 ms keeps a waiting process near 0.5% of a core while still noticing the end of a run ~25 ms
# (median) after it is recorded; 20 ms cost about 1.7%.
WATCH_POLL_S = 0.05
LOG_POLL_S = 0.1
MAINTAIN_EVERY_S = 0.5
DEFAULT_PAGE = 100
MAX_PAGE = 10_000
LOG_BATCH = 1000
TASK_TYPE = "python-task"


def _encode_token(value: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{value}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int | None:
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "v1":
            raise ValueError(prefix)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgumentError(
            f"invalid page token {token!r}: pass back the token a previous list call returned."
        ) from None


def _page_size(request: Any) -> int:
    limit = int(request.limit) if request.limit else DEFAULT_PAGE
    return max(1, min(limit, MAX_PAGE))


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


class EmbeddedTransport:
    """The embedded local control plane (see the module docstring).

    ``config`` supplies the defaults for empty project/domain/org fields and the storage settings runs
    use; ``path`` overrides the database file; ``concurrency`` overrides ``$UNION_ENGINE_CONCURRENCY``
    (and is handed to the workers this transport starts).
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        path: str | Path | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.config = config or current()
        self.store = Store(Path(path) if path is not None else default_path())
        self.concurrency = scheduler.concurrency_limit(concurrency)
        self._lock = threading.Lock()
        self._last_maintained = 0.0
        self._interrupted = threading.Event()

    def __repr__(self) -> str:
        return f"EmbeddedTransport(path={str(self.store.path)!r}, concurrency={self.concurrency})"

    @property
    def path(self) -> Path:
        """The SQLite file holding this engine's state."""
        return self.store.path

    # -- housekeeping ------------------------------------------------------------------------------

    def tick(self) -> list[int]:
        """Notice dead workers and start queued runs now; returns the ids of the runs started."""
        with self._lock:
            self._last_maintained = time.monotonic()
        return scheduler.tick(self.store, self.concurrency)

    def _maintain(self) -> bool:
        """Tick at most every MAINTAIN_EVERY_S per transport, so tight polling stays cheap."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_maintained < MAINTAIN_EVERY_S:
                return False
            self._last_maintained = now
        scheduler.tick(self.store, self.concurrency)
        return True

    def _check_alive(self, row: sqlite3.Row) -> sqlite3.Row:
        """A run that looks active but whose worker is gone is marked now, not on the next tick."""
        if (
            row["phase"] in ACTIVE
            and row["worker_pid"]
            and not procs.is_alive(row["worker_pid"], row["worker_start"])
        ):
            scheduler.reap(self.store, {row["id"]})
            fresh = self.store.run_by_id(row["id"])
            return fresh if fresh is not None else row
        return row

    def interrupt(self) -> None:
        """End every open watch and log tail with :class:`UnavailableError` (a server shutting down
        calls this so its streams close promptly; clients reconnect). Runs themselves are not touched."""
        self._interrupted.set()

    def _pause(self, seconds: float, cancel: threading.Event | None = None) -> None:
        """Sleep between polls; a server's shutdown (``interrupt``) or a gone client (``cancel``) ends it."""
        if (cancel or self._interrupted).wait(seconds) or self._interrupted.is_set():
            if cancel is not None and cancel.is_set():
                raise TransportError("the watcher went away", code="canceled")
            raise UnavailableError("the control plane is shutting down: reconnect to keep watching")

    def kill_all(self) -> None:
        """SIGKILL every active worker and task of this engine (they are then marked FAILED/ABORTED)."""
        scheduler.kill_all(self.store)

    # -- identifiers -------------------------------------------------------------------------------

    def _org(self, org: str) -> str:
        return org or self.config.org or ""

    def _project(self, project: str) -> str:
        return project or self.config.project or "default"

    def _domain(self, domain: str) -> str:
        return domain or self.config.domain or "development"

    def _run_row(self, run_id: identifier_pb2.RunIdentifier) -> sqlite3.Row:
        if not run_id.name:
            raise RunNotFoundError("no run name given: set run_id.name.")
        key = (self._org(run_id.org), self._project(run_id.project), self._domain(run_id.domain), run_id.name)
        row = self.store.get_run(*key)
        if row is None:
            raise RunNotFoundError(
                f"no run named {run_id.name!r} in project {key[1]!r}, domain {key[2]!r}"
                + (f", org {key[0]!r}" if key[0] else "")
                + f" (engine state {self.store.path}). Check the name with `union get runs`."
            )
        return row

    def _action_row(self, action_id: identifier_pb2.ActionIdentifier) -> sqlite3.Row:
        row = self._run_row(action_id.run)
        if action_id.name not in ("", ROOT_ACTION):
            raise RunNotFoundError(
                f"run {action_id.run.name!r} has no action {action_id.name!r}: the embedded engine runs "
                f"one action per run, {ROOT_ACTION!r}."
            )
        return row

    def _task_row(self, task_id: Any) -> sqlite3.Row:
        key = (
            self._org(task_id.org),
            self._project(task_id.project),
            self._domain(task_id.domain),
            task_id.name,
        )
        row = self.store.get_task(*key, task_id.version) if task_id.name else None
        if row is None:
            version = f" version {task_id.version!r}" if task_id.version else ""
            raise TaskNotFoundError(
                f"no task named {task_id.name!r}{version} is deployed in project {key[1]!r}, domain "
                f"{key[2]!r} (engine state {self.store.path}). Deploy it first, or check the name with "
                "`union get tasks`."
            )
        return row

    # -- flyteidl2.workflow.RunService -------------------------------------------------------------

    def create_run(
        self, request: runs.CreateRunRequest, *, timeout: float | None = None
    ) -> runs.CreateRunResponse:
        from flyteidl2.task import task_definition_pb2

        from union._task_context import refuse_run_in_task

        refuse_run_in_task()
        if request.HasField("task_spec"):
            spec = request.task_spec
            tid = spec.task_template.id
            task_key = (
                self._org(tid.org),
                self._project(tid.project),
                self._domain(tid.domain),
                tid.name,
                tid.version,
            )
        elif request.HasField("task_id"):
            task = self._task_row(request.task_id)
            spec = task_definition_pb2.TaskSpec.FromString(task["spec"])
            task_key = (task["org"], task["project"], task["domain"], task["name"], task["version"])
        else:
            raise InvalidArgumentError("create_run needs a task_id (a deployed task) or a task_spec.")
        if request.HasField("run_id"):
            org, project, domain = request.run_id.org, request.run_id.project, request.run_id.domain
            name: str | None = request.run_id.name or None
        else:
            pid = request.project_id
            org, project, domain, name = pid.organization, pid.name, pid.domain, None
        metadata = spec.task_template.metadata
        seconds = metadata.timeout.ToNanoseconds() / 1e9 if metadata.HasField("timeout") else 0.0
        new = NewRun(
            org=self._org(org),
            project=self._project(project),
            domain=self._domain(domain),
            name=name,
            task=task_key,
            task_type=spec.task_template.type or TASK_TYPE,
            short_name=spec.short_name or task_key[3].rsplit(".", 1)[-1],
            task_spec=spec.SerializeToString(deterministic=True),
            inputs=(
                self._offloaded_inputs(request.offloaded_input_data.uri)
                if request.HasField("offloaded_input_data") and not request.inputs.literals
                else request.inputs
            ).SerializeToString(deterministic=True),
            run_spec=request.run_spec.SerializeToString(deterministic=True),
            settings=self._settings(),
            retries=max(0, int(metadata.retries.retries)),
            timeout=seconds if seconds > 0 else None,
        )
        try:
            row = self.store.insert_run(new)
        except ValueError as exc:
            raise AlreadyExistsError(
                f"{exc}: choose another run name, or leave it empty for a generated one."
            ) from None
        self.tick()
        return runs.CreateRunResponse(run=messages.run_message(self.store.run_by_id(row["id"]) or row))

    def _settings(self) -> dict[str, Any]:
        """What a worker needs to reach the same storage as this process."""
        c = self.config
        return {
            "org": c.org,
            "project": c.project,
            "domain": c.domain,
            "raw_data_prefix": c.raw_data_prefix,
            "storage_options": dict(c.storage_options),
            "upload_concurrency": c.upload_concurrency,
        }

    def get_run_details(
        self, request: runs.GetRunDetailsRequest, *, timeout: float | None = None
    ) -> runs.GetRunDetailsResponse:
        row = self._check_alive(self._run_row(request.run_id))
        if self._maintain():
            row = self.store.run_by_id(row["id"]) or row
        return runs.GetRunDetailsResponse(details=messages.run_details(row, self.store.attempts(row["id"])))

    def watch_run_details(
        self,
        request: runs.WatchRunDetailsRequest,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[runs.WatchRunDetailsResponse]:
        """Details on each phase change until terminal. ``cancel`` (set from another thread) ends the
        watch early with a ``canceled`` error: ``union serve`` sets it when the client hangs up."""
        row = self._run_row(request.run_id)  # unknown runs fail here, not on the first next()
        return (
            runs.WatchRunDetailsResponse(details=details)
            for details in self._watch(row["id"], _deadline(timeout), timeout, cancel=cancel)
        )

    def watch_action_details(
        self,
        request: runs.WatchActionDetailsRequest,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[runs.WatchActionDetailsResponse]:
        """Like ``watch_run_details`` for the run's one action: its details on each phase change."""
        row = self._action_row(request.action_id)
        return self._watch_action(row["id"], _deadline(timeout), timeout, cancel)

    def _watch_action(
        self, run_id: int, deadline: float | None, timeout: float | None, cancel: threading.Event | None
    ) -> Iterator[runs.WatchActionDetailsResponse]:
        for _ in self._watch(run_id, deadline, timeout, build=False, cancel=cancel):
            row = self.store.run_by_id(run_id)
            assert row is not None
            yield runs.WatchActionDetailsResponse(
                details=messages.action_details(row, self.store.attempts(run_id))
            )

    def _watch(
        self,
        run_id: int,
        deadline: float | None,
        timeout: float | None,
        *,
        build: bool = True,
        cancel: threading.Event | None = None,
    ) -> Iterator[Any]:
        """Yield details whenever the phase changes, until it is terminal. Polls ``PRAGMA data_version``
        (no table read) every WATCH_POLL_S; only a change reads the run's row."""
        last_phase: int | None = None
        last_version: int | None = None
        next_check = 0.0
        while True:
            now = time.monotonic()
            if now >= next_check:
                next_check = now + MAINTAIN_EVERY_S
                row = self.store.run_by_id(run_id)
                if row is not None:
                    self._check_alive(row)
                self._maintain()
                last_version = None  # our own writes do not move data_version
            version = self.store.data_version()
            if version != last_version:
                last_version = version
                state = self.store.run_version(run_id)
                if state is None:
                    raise RunNotFoundError(f"run {run_id} disappeared from {self.store.path}")
                if state[1] != last_phase:
                    row = self.store.run_by_id(run_id)
                    assert row is not None
                    last_phase = row["phase"]
                    yield messages.run_details(row, self.store.attempts(run_id)) if build else row
                    if last_phase in TERMINAL:
                        return
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceededError(f"the run did not finish within {timeout:g}s")
            self._pause(WATCH_POLL_S, cancel)

    def list_runs(
        self, request: runs.ListRunsRequest, *, timeout: float | None = None
    ) -> runs.ListRunsResponse:
        self._maintain()
        filters: dict[str, Any] = {}
        if request.HasField("project_id"):
            p = request.project_id
            filters.update(
                org=self._org(p.organization or request.org),
                project=self._project(p.name),
                domain=self._domain(p.domain),
            )
        elif request.org:
            filters["org"] = request.org
        if request.HasField("task_name") or request.HasField("task_id"):
            t = request.task_id if request.HasField("task_id") else request.task_name
            filters.update(
                task_org=self._org(t.org),
                task_project=self._project(t.project),
                task_domain=self._domain(t.domain),
                task_name=t.name,
            )
            if request.HasField("task_id") and request.task_id.version:
                filters["task_version"] = request.task_id.version
        for f in request.request.filters:
            if f.field == "phase" and f.function == f.EQUAL and len(f.values) == 1:
                from flyteidl2.common import phase_pb2

                value = f.values[0]
                filters["phase"] = int(value) if value.isdigit() else phase_pb2.ActionPhase.Value(value)
            else:
                raise InvalidArgumentError(
                    f"unsupported list filter on {f.field!r}: the embedded engine filters runs by project, "
                    "task and phase (EQUAL)."
                )
        limit = _page_size(request.request)
        rows = self.store.list_runs(filters, _decode_token(request.request.token), limit + 1)
        token = _encode_token(rows[limit - 1][0]) if len(rows) > limit else ""
        response = runs.ListRunsResponse(token=token)
        for row in rows[:limit]:
            messages.fill_run(response.runs.add(), row)
        return response

    def abort_run(
        self, request: runs.AbortRunRequest, *, timeout: float | None = None
    ) -> runs.AbortRunResponse:
        row = self._run_row(request.run_id)
        before = self.store.request_abort(row["id"], request.reason or "aborted by user")
        if before is not None and before["phase"] in ACTIVE and before["worker_pid"]:
            # The worker turns SIGTERM into ABORTED (and stops its task); a dead one is reaped below.
            procs.signal_group(before["worker_pid"], before["worker_start"], signal.SIGTERM)
        self._check_alive(self.store.run_by_id(row["id"]) or row)
        self.tick()
        return runs.AbortRunResponse()

    def list_actions(
        self, request: runs.ListActionsRequest, *, timeout: float | None = None
    ) -> runs.ListActionsResponse:
        row = self._check_alive(self._run_row(request.run_id))
        return runs.ListActionsResponse(actions=[messages.action_message(row)])

    def get_action_details(
        self, request: runs.GetActionDetailsRequest, *, timeout: float | None = None
    ) -> runs.GetActionDetailsResponse:
        row = self._check_alive(self._action_row(request.action_id))
        return runs.GetActionDetailsResponse(
            details=messages.action_details(row, self.store.attempts(row["id"]))
        )

    def get_action_data(
        self, request: runs.GetActionDataRequest, *, timeout: float | None = None
    ) -> runs.GetActionDataResponse:
        row = self._action_row(request.action_id)
        response = runs.GetActionDataResponse(inputs=messages.inputs(row))
        if row["outputs_uri"]:
            response.outputs.CopyFrom(self._read_outputs(row["outputs_uri"]))
        return response

    def _read_outputs(self, uri: str) -> common_pb2.Outputs:
        from union.storage.protocols import filesystem_for

        fs, _, path = filesystem_for(uri, self.config.storage_options)
        try:
            data = fs.cat_file(path)
        except FileNotFoundError:
            raise TransportError(
                code="data_loss",
                message=f"the run's outputs at {uri} are gone from storage (deleted?). Run the task again.",
            ) from None
        return common_pb2.Outputs.FromString(data)

    # -- flyteidl2.task.TaskService ----------------------------------------------------------------

    def deploy_task(
        self, request: tasks.DeployTaskRequest, *, timeout: float | None = None
    ) -> tasks.DeployTaskResponse:
        t = request.task_id
        if not t.name or not t.version:
            raise InvalidArgumentError("deploy_task needs task_id.name and task_id.version.")
        key = (self._org(t.org), self._project(t.project), self._domain(t.domain), t.name, t.version)
        try:
            self.store.deploy_task(key, request.spec.SerializeToString(deterministic=True))
        except ValueError:
            raise AlreadyExistsError(
                f"task {t.name!r} version {t.version!r} is already deployed with a different spec. "
                "Versions are immutable: deploy the change under a new version."
            ) from None
        return tasks.DeployTaskResponse()

    def get_task_details(
        self, request: tasks.GetTaskDetailsRequest, *, timeout: float | None = None
    ) -> tasks.GetTaskDetailsResponse:
        return tasks.GetTaskDetailsResponse(details=messages.task_details(self._task_row(request.task_id)))

    def list_tasks(
        self, request: tasks.ListTasksRequest, *, timeout: float | None = None
    ) -> tasks.ListTasksResponse:
        p = request.project_id
        org = self._org(p.organization or request.org)
        project = self._project(p.name) if request.HasField("project_id") else None
        domain = self._domain(p.domain) if request.HasField("project_id") else None
        name = None
        for f in request.request.filters:
            if f.field == "name" and f.function == f.EQUAL and len(f.values) == 1:
                name = f.values[0]
            else:
                raise InvalidArgumentError(
                    f"unsupported list filter on {f.field!r}: the embedded engine filters tasks by project "
                    "and name (EQUAL)."
                )
        limit = _page_size(request.request)
        after = _decode_token(request.request.token)
        rows = self.store.list_tasks(org, project, domain, after, limit + 1, name=name)
        token = _encode_token(rows[limit - 1]["seq"]) if len(rows) > limit else ""
        return tasks.ListTasksResponse(tasks=[messages.task_message(r) for r in rows[:limit]], token=token)

    # -- flyteidl2.dataproxy.DataProxyService ------------------------------------------------------

    def create_upload_location(
        self, request: dataproxy.CreateUploadLocationRequest, *, timeout: float | None = None
    ) -> dataproxy.CreateUploadLocationResponse:
        import uuid

        from union.storage.destination import upload_destination

        if not request.filename:
            raise InvalidArgumentError("create_upload_location needs a filename.")
        config = dataclasses.replace(
            self.config, project=self._project(request.project), domain=self._domain(request.domain)
        )
        dest = upload_destination(config, self)
        folder = request.filename_root or (
            request.content_md5.hex() if request.content_md5 else uuid.uuid4().hex
        )
        uri = dest.uri(dest.path(folder, request.filename))
        response = dataproxy.CreateUploadLocationResponse(signed_url=uri, native_url=uri)
        seconds = request.expires_in.seconds if request.HasField("expires_in") else 3600
        response.expires_at.FromSeconds(int(time.time()) + seconds)
        return response

    def upload_inputs(
        self, request: dataproxy.UploadInputsRequest, *, timeout: float | None = None
    ) -> dataproxy.UploadInputsResponse:
        """Store the inputs under the raw-data prefix, content-addressed; ``create_run`` accepts the
        returned ``offloaded_input_data`` in place of inline inputs."""
        import hashlib

        from flyteidl2.common import run_pb2

        from union.storage.destination import upload_destination

        if request.HasField("run_id"):
            project, domain = request.run_id.project, request.run_id.domain
        else:
            project, domain = request.project_id.name, request.project_id.domain
        config = dataclasses.replace(self.config, project=self._project(project), domain=self._domain(domain))
        data = request.inputs.SerializeToString(deterministic=True)
        digest = hashlib.sha256(data).hexdigest()
        dest = upload_destination(config, self)
        path = dest.path("inputs", digest, "inputs.pb")
        dest.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        dest.fs.pipe_file(path, data)
        return dataproxy.UploadInputsResponse(
            offloaded_input_data=run_pb2.OffloadedInputData(uri=dest.uri(path), inputs_hash=digest)
        )

    def _offloaded_inputs(self, uri: str) -> common_pb2.Inputs:
        from union.storage.protocols import filesystem_for

        fs, _, path = filesystem_for(uri, self.config.storage_options)
        try:
            return common_pb2.Inputs.FromString(fs.cat_file(path))
        except FileNotFoundError:
            raise InvalidArgumentError(
                f"no offloaded inputs at {uri}: upload them with upload_inputs first."
            ) from None

    def create_download_link(
        self, request: dataproxy.CreateDownloadLinkRequest, *, timeout: float | None = None
    ) -> dataproxy.CreateDownloadLinkResponse:
        """The code bundle of a deployed task, as its storage URI (nothing is signed on this machine)."""
        import json

        from google.protobuf import json_format

        if request.artifact_type != dataproxy.ARTIFACT_TYPE_CODE_BUNDLE or not request.HasField("task_id"):
            raise InvalidArgumentError(
                "the embedded engine links code bundles of deployed tasks only: set task_id and "
                "artifact_type ARTIFACT_TYPE_CODE_BUNDLE."
            )
        from flyteidl2.task import task_definition_pb2

        row = self._task_row(request.task_id)
        spec = task_definition_pb2.TaskSpec.FromString(row["spec"])
        custom = json.loads(json_format.MessageToJson(spec.task_template.custom) or "{}")
        uri = (custom.get("union") or {}).get("code") if isinstance(custom, dict) else None
        if not uri:
            raise TaskNotFoundError(f"task {request.task_id.name!r} has no code bundle recorded")
        response = dataproxy.CreateDownloadLinkResponse()
        response.pre_signed_urls.signed_url.append(uri)
        seconds = request.expires_in.seconds if request.HasField("expires_in") else 3600
        response.pre_signed_urls.expires_at.FromSeconds(int(time.time()) + seconds)
        return response

    # -- flyteidl2.auth: answered by ``union serve`` itself -----------------------------------------

    def get_oauth2_metadata(self, request: Any, *, timeout: float | None = None) -> Any:
        raise UnimplementedError("the embedded engine needs no authentication: there is no OAuth2 server")

    def get_public_client_config(self, request: Any, *, timeout: float | None = None) -> Any:
        raise UnimplementedError("the embedded engine needs no authentication: there is no client config")

    def user_info(self, request: Any, *, timeout: float | None = None) -> Any:
        raise UnimplementedError("the embedded engine has no users: everything runs as you")

    # -- flyteidl2.workflow.RunLogsService ---------------------------------------------------------

    def tail_logs(
        self,
        request: logs.TailLogsRequest,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[logs.TailLogsResponse]:
        row = self._action_row(request.action_id)
        return self._tail(row["id"], int(request.attempt), _deadline(timeout), timeout, cancel)

    def _tail(
        self,
        run_id: int,
        wanted: int,
        deadline: float | None,
        timeout: float | None,
        cancel: threading.Event | None = None,
    ) -> Iterator[logs.TailLogsResponse]:
        """Lines of the attempt's stdout then stderr, following them until the attempt has ended."""
        offsets: dict[str, int] = {}
        while True:
            run = self.store.run_by_id(run_id)
            assert run is not None
            run = self._check_alive(run)
            attempts = self.store.attempts(run_id)
            number = wanted or (attempts[-1]["attempt"] if attempts else 0)
            attempt = next((a for a in attempts if a["attempt"] == number), None)
            if attempt is None:
                if run["phase"] in TERMINAL:
                    if wanted:
                        raise RunNotFoundError(f"run {run['name']!r} has no attempt {wanted}")
                    return
            else:
                finished = attempt["ended_at"] is not None or run["phase"] in TERMINAL
                for stream in ("stdout", "stderr"):
                    lines = _read_lines(attempt[f"{stream}_path"], offsets, stream, final=finished)
                    for start in range(0, len(lines), LOG_BATCH):
                        batch = [
                            payload_pb2.LogLine(
                                message=text,
                                originator=payload_pb2.SYSTEM
                                if text.startswith("[union engine] ")
                                else payload_pb2.USER,
                            )
                            for text in lines[start : start + LOG_BATCH]
                        ]
                        yield logs.TailLogsResponse(logs=[logs.TailLogsResponse.Logs(lines=batch)])
                if finished:
                    return
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceededError(f"the attempt's logs were still open after {timeout:g}s")
            self._maintain()
            self._pause(LOG_POLL_S, cancel)

    def close(self) -> None:
        self.store.close()


def _read_lines(path: str, offsets: dict[str, int], key: str, *, final: bool) -> list[str]:
    """New complete lines of ``path`` since the last call (a trailing partial line too when ``final``)."""
    try:
        with open(path, "rb") as f:
            f.seek(offsets.get(key, 0))
            data = f.read()
    except FileNotFoundError:
        return []
    if not final:
        cut = data.rfind(b"\n") + 1
        data = data[:cut]
    offsets[key] = offsets.get(key, 0) + len(data)
    return data.decode("utf-8", errors="replace").splitlines()
