"""``union.remote.Task``: a task deployed on the control plane, by name and version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from union import _args
from union.errors import ArgumentValueError, TaskNotFoundError, TransportError
from union.remote import _client
from union.remote._client import Scope
from union.remote._lazy import LazyEntity

if TYPE_CHECKING:
    from flyteidl2.core.interface_pb2 import TypedInterface
    from flyteidl2.task.task_definition_pb2 import TaskDetails, TaskIdentifier

    from union.transport import Transport

_PAGE = 100


def _list_request(s: Scope, limit: int, token: str, name: str | None = None) -> Any:
    from flyteidl2.common import identifier_pb2, list_pb2
    from flyteidl2.task.task_service_pb2 import ListTasksRequest

    filters = []
    if name is not None:
        filters.append(list_pb2.Filter(function=list_pb2.Filter.EQUAL, field="name", values=[name]))
    return ListTasksRequest(
        request=_client.list_request(limit, token, filters),
        project_id=identifier_pb2.ProjectIdentifier(organization=s.org, domain=s.domain, name=s.project),
    )


class Task:
    """A deployed task. ``Task(name)`` is its latest version in the configured project and domain.

    The URI form ``union://<org>/<project>/<domain>/tasks/<name>@<version>`` (``@<version>`` optional:
    latest) is what ``Task.get(uri=...)`` accepts and ``task.uri`` returns. Details are fetched on first use.
    """

    def __init__(
        self,
        name: str,
        *,
        version: str | None = None,
        project: str | None = None,
        domain: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a task name must be a non-empty string, got {name!r}")
        if "@" in name and version is None:
            name, version = name.rsplit("@", 1)
        self.name = name
        self._version = version or None
        self._scope = _client.scope(project, domain)
        self._details: TaskDetails | None = None
        self._deployed_at: dt.datetime | None = None
        self._transport: Transport | None = None

    # -- lookup ------------------------------------------------------------------------------------

    @classmethod
    def get(
        cls,
        uri: str | None = None,
        name: str | None = None,
        project: str | None = None,
        domain: str | None = None,
        *,
        version: str | None = None,
    ) -> LazyEntity[Task]:
        """The task with this URI, or this name (``name@version`` or ``version=``; latest otherwise).

        Lazy: nothing is fetched until the returned entity is used (``union.run`` accepts it as it is).
        """
        for arg, value in (
            ("uri", uri),
            ("name", name),
            ("project", project),
            ("domain", domain),
            ("version", version),
        ):
            _args.optional_str(value, "Task.get", arg)
        if (uri is None) == (name is None):
            raise ArgumentValueError("Task.get needs exactly one of uri= or name=")
        if uri is not None:
            parsed = _client.parse_uri(uri, "tasks")
            task = cls(parsed.name, version=version or parsed.version)
            task._scope = parsed.scope
        else:
            assert name is not None
            task = cls(name, version=version, project=project, domain=domain)
        return LazyEntity(task.name, task._fetched, description=f"Task {task._label()}")

    @classmethod
    def search(
        cls, limit: int = 100, *, project: str | None = None, domain: str | None = None
    ) -> Iterator[Task]:
        """Deployed task versions in the project and domain, newest first, at most ``limit``.

        The arguments are checked here, at the call, not when the first task is asked for.
        """
        _args.search("Task.search", limit, project, domain)
        return cls._search(limit, project, domain)

    @classmethod
    def _search(cls, limit: int, project: str | None, domain: str | None) -> Iterator[Task]:
        s = _client.scope(project, domain)
        transport = _client.transport()

        def fetch(size: int, token: str) -> tuple[Sequence[Any], str]:
            response = transport.list_tasks(_list_request(s, size, token))
            return response.tasks, response.token

        for message in _client.paged(fetch, limit, _PAGE):
            yield cls._from_message(message.task_id, transport, message.metadata.deployed_at)

    @classmethod
    def _from_message(cls, tid: TaskIdentifier, transport: Transport | None, deployed_at: Any = None) -> Task:
        task = cls.__new__(cls)
        task.name = tid.name
        task._version = tid.version
        task._scope = Scope(tid.org, tid.project, tid.domain)
        task._details = None
        task._deployed_at = _client.timestamp(deployed_at)
        task._transport = transport
        return task

    # -- fetching ----------------------------------------------------------------------------------

    def _client(self) -> Transport:
        if self._transport is None:
            self._transport = _client.transport()
        return self._transport

    def _label(self) -> str:
        s = self._scope
        return f"{self.name}@{self._version or 'latest'} in {s.project}/{s.domain}"

    def _latest_version(self) -> str:
        """The newest version: ListTasks filtered by name, newest first, scanning pages if need be."""
        token = ""
        while True:
            response = self._client().list_tasks(_list_request(self._scope, _PAGE, token, self.name))
            matches = [t for t in response.tasks if t.task_id.name == self.name]
            if matches:
                best = max(
                    matches, key=lambda t: (t.metadata.deployed_at.seconds, t.metadata.deployed_at.nanos)
                )
                return str(best.task_id.version)
            token = response.token
            if not token or not response.tasks:
                raise TaskNotFoundError(
                    f"no task {self.name!r} in project {self._scope.project!r}, domain {self._scope.domain!r}"
                )

    def _task_id(self) -> TaskIdentifier:
        from flyteidl2.task.task_definition_pb2 import TaskIdentifier

        if self._version is None:
            self._version = self._latest_version()
        s = self._scope
        return TaskIdentifier(
            org=s.org, project=s.project, domain=s.domain, name=self.name, version=self._version
        )

    def fetch(self) -> Task:
        """Fetch the task's details now (raises :class:`union.errors.TaskNotFoundError`)."""
        from flyteidl2.task.task_service_pb2 import GetTaskDetailsRequest

        task_id = self._task_id()
        try:
            response = self._client().get_task_details(GetTaskDetailsRequest(task_id=task_id))
        except TransportError as exc:
            if not _client.is_not_found(exc):
                raise
            if isinstance(exc, TaskNotFoundError):
                raise
            raise TaskNotFoundError(f"no task {self._label()} ({exc})") from exc
        self._details = response.details
        self._deployed_at = _client.timestamp(response.details.metadata.deployed_at) or self._deployed_at
        return self

    def _fetched(self) -> Task:
        return self.fetch() if self._details is None else self

    def details(self) -> TaskDetails:
        """The flyteidl2 TaskDetails message (id, metadata, spec), for callers that want the wire model."""
        return self._fetched()._details  # type: ignore[return-value]

    # -- properties --------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The version (a content hash of the task's code); resolving "latest" asks the control plane."""
        if self._version is None:
            self._version = self._latest_version()
        return self._version

    @property
    def project(self) -> str:
        return self._scope.project

    @property
    def domain(self) -> str:
        return self._scope.domain

    @property
    def uri(self) -> str:
        """``union://<org>/<project>/<domain>/tasks/<name>@<version>``."""
        return _client.format_uri("tasks", self._scope, self.name, self.version)

    @property
    def task_id(self) -> TaskIdentifier:
        return self._task_id()

    @property
    def interface(self) -> TypedInterface:
        """The flyteidl2 TypedInterface inputs are checked against."""
        return self.details().spec.task_template.interface

    @property
    def inputs(self) -> dict[str, str]:
        """Input names and their types, as ``union.types`` describes them."""
        return _describe(self.interface.inputs)

    @property
    def defaults(self) -> dict[str, Any]:
        """The deployed defaults of inputs that may be left out (``TaskSpec.default_inputs``), as values;
        ``...`` for an optional input whose default has no literal form (a local path)."""
        from union.types.schema import RemoteDefault, signature_of
        from union.types.transformers.base import Ctx

        result: dict[str, Any] = {}
        for name, param in signature_of(self.details().spec).inputs.items():
            if isinstance(param.default, RemoteDefault):
                literal = param.default.literal
                result[name] = ... if literal is None else param.transformer.decode(literal, Ctx(name, None))
        return result

    @property
    def outputs(self) -> dict[str, str]:
        """Output names (``o0``...) and their types."""
        return _describe(self.interface.outputs)

    @property
    def retries(self) -> int:
        return int(self.details().spec.task_template.metadata.retries.retries)

    @property
    def timeout(self) -> dt.timedelta | None:
        metadata = self.details().spec.task_template.metadata
        return metadata.timeout.ToTimedelta() if metadata.HasField("timeout") else None

    @property
    def deployed_at(self) -> dt.datetime | None:
        if self._deployed_at is None:
            self._fetched()
        return self._deployed_at

    def __repr__(self) -> str:
        version = self._version or "latest"
        return (
            f"Task(name={self.name!r}, version={version!r}, project={self.project!r}, domain={self.domain!r})"
        )


def _describe(variables: Any) -> dict[str, str]:
    from union.types.registry import transformer_for_literal_type

    described = {}
    for entry in variables.variables:
        try:
            described[entry.key] = transformer_for_literal_type(entry.value.type, entry.key).describe()
        except Exception:
            described[entry.key] = str(entry.value.type).replace("\n", " ").strip()
    return described
