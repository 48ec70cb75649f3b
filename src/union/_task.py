"""``@union.task``: a plain, type-annotated function that knows how to become a deployed flyteidl2 task.

The module is ``union._task`` rather than ``union.task`` so that importing it never replaces the
``union.task`` decorator with a module object (Python binds a submodule as an attribute of its package).
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar, overload

from union.errors import TaskDefinitionError

if TYPE_CHECKING:
    from flyteidl2.core.interface_pb2 import TypedInterface
    from flyteidl2.task.task_definition_pb2 import TaskIdentifier, TaskSpec

P = ParamSpec("P")
R = TypeVar("R")

TASK_TYPE = "python-task"


def _as_timeout(timeout: dt.timedelta | float | None) -> dt.timedelta | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float, dt.timedelta)):
        raise TaskDefinitionError(
            f"timeout must be seconds (a number) or a datetime.timedelta, got {type(timeout).__name__}"
        )
    value = timeout if isinstance(timeout, dt.timedelta) else dt.timedelta(seconds=timeout)
    if value <= dt.timedelta(0):
        raise TaskDefinitionError(f"timeout must be positive, got {value}")
    return value


def bundle_root(source_file: Path) -> tuple[Path, str]:
    """The code bundle of a source file and the file's dotted module name inside it.

    The bundle is the directory holding the file's top-level package (walking up while a directory has an
    ``__init__.py``), so that the worker can import the module by the same dotted name.
    """
    source_file = source_file.resolve()
    parts = [source_file.stem]
    directory = source_file.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        parts.insert(0, directory.name)
        directory = directory.parent
    if parts[-1] == "__init__":
        parts.pop()
    return directory, ".".join(parts)


class TaskFunction(Generic[P, R]):
    """A function decorated with ``@union.task``: still callable locally, and deployable as a task.

    Its interface is checked when it is decorated, so an unsupported annotation fails at import time
    rather than after code has been uploaded and a run started.
    """

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        retries: int = 0,
        timeout: dt.timedelta | float | None = None,
    ) -> None:
        if not inspect.isfunction(func):
            raise TaskDefinitionError(
                f"@union.task needs a plain function defined with 'def', got {type(func).__qualname__} {func!r}"
            )
        if inspect.iscoroutinefunction(func) or inspect.isgeneratorfunction(func):
            raise TaskDefinitionError(
                f"@union.task: {func.__qualname__} is async or a generator; tasks are plain functions"
            )
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise TaskDefinitionError(f"retries must be a whole number >= 0, got {retries!r}")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise TaskDefinitionError(f"a task name must be a non-empty string, got {name!r}")
        from union.types import interface_for

        self._interface: TypedInterface = interface_for(func)  # raises UnsupportedTypeError now
        self.func: Callable[P, R] = func
        self.retries = retries
        self.timeout = _as_timeout(timeout)
        self.function = func.__name__
        self._name = name
        functools.update_wrapper(self, func)

    # -- local use ---------------------------------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function here, in this process (no run is created)."""
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<union task {self.name!r} ({self.module}.{self.function})>"

    # -- identity ----------------------------------------------------------------------------------

    @property
    def source_file(self) -> Path:
        """The file that defines the function; its package root is uploaded as the code bundle."""
        path = inspect.getsourcefile(self.func)
        if not path:
            raise TaskDefinitionError(f"cannot find the source file of {self.func.__qualname__}")
        return Path(path)

    @property
    def module(self) -> str:
        """The dotted module the worker imports: the real one, or the file's own name for ``__main__``."""
        module = self.func.__module__
        if module == "__main__" or not module:
            return bundle_root(self.source_file)[1]
        return module

    @property
    def name(self) -> str:
        """The task's name: the one given to the decorator, or ``<module>.<function>``."""
        return self._name or f"{self.module}.{self.function}"

    @property
    def interface(self) -> TypedInterface:
        """The flyteidl2 TypedInterface, built from the hints when the task was decorated."""
        return self._interface

    def bundle(self) -> tuple[Path, str]:
        """The directory uploaded as code and the module name inside it; checked to be importable."""
        if "<locals>" in self.func.__qualname__ or self.func.__qualname__ != self.function:
            raise TaskDefinitionError(
                f"{self.func.__qualname__} is defined inside another function or class; a task must be a "
                "module-level function so the worker can import it"
            )
        root, module = bundle_root(self.source_file)
        if self.func.__module__ not in ("__main__", module):
            # Loaded under another name (e.g. through sys.path tricks): trust the import name, whose
            # top-level package must then sit in the bundle root.
            top = self.func.__module__.split(".")[0]
            candidate = root / top
            if not (candidate.is_dir() or candidate.with_suffix(".py").is_file()):
                raise TaskDefinitionError(
                    f"{self.func.__qualname__} is imported as {self.func.__module__!r} but its file "
                    f"{self.source_file} is module {module!r} of the bundle {root}"
                )
            module = self.func.__module__
        return root, module

    def task_id(self, version: str, *, org: str, project: str, domain: str) -> TaskIdentifier:
        from flyteidl2.task.task_definition_pb2 import TaskIdentifier

        return TaskIdentifier(org=org, project=project, domain=domain, name=self.name, version=version)

    def spec(self, *, code_uri: str, version: str, org: str, project: str, domain: str) -> TaskSpec:
        """The TaskSpec DeployTask sends, per docs/control-plane-contract.md."""
        from flyteidl2.core import identifier_pb2, literals_pb2, tasks_pb2
        from flyteidl2.task.task_definition_pb2 import TaskSpec
        from google.protobuf import duration_pb2, struct_pb2

        _, module = self.bundle()
        metadata = tasks_pb2.TaskMetadata(retries=literals_pb2.RetryStrategy(retries=self.retries))
        if self.timeout is not None:
            duration = duration_pb2.Duration()
            duration.FromTimedelta(self.timeout)
            metadata.timeout.CopyFrom(duration)
        custom = struct_pb2.Struct()
        custom.update({"union": {"code": code_uri, "module": module, "function": self.function}})
        template = tasks_pb2.TaskTemplate(
            id=identifier_pb2.Identifier(
                resource_type=identifier_pb2.TASK,
                org=org,
                project=project,
                domain=domain,
                name=self.name,
                version=version,
            ),
            type=TASK_TYPE,
            metadata=metadata,
            interface=self._interface,
            custom=custom,
        )
        from union.types.schema import default_inputs_for

        return TaskSpec(
            task_template=template, short_name=self.function, default_inputs=default_inputs_for(self.func)
        )


@overload
def task(func: Callable[P, R], /) -> TaskFunction[P, R]: ...


@overload
def task(
    *, name: str | None = None, retries: int = 0, timeout: dt.timedelta | float | None = None
) -> Callable[[Callable[P, R]], TaskFunction[P, R]]: ...


def task(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    timeout: dt.timedelta | float | None = None,
) -> TaskFunction[P, R] | Callable[[Callable[P, R]], TaskFunction[P, R]]:
    """Make a type-annotated function a task: ``@union.task`` or ``@union.task(retries=2, timeout=60)``.

    ``name`` defaults to ``<module>.<function>``; ``retries`` is how many times a failed attempt is tried
    again; ``timeout`` (seconds or a timedelta) bounds each attempt.
    """

    def wrap(f: Callable[P, R]) -> TaskFunction[P, R]:
        return TaskFunction(f, name=name, retries=retries, timeout=timeout)

    if func is not None:
        return wrap(func)
    return wrap
