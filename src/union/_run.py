"""``union.run(task, **inputs)``: deploy a task if its code is new, then start a run of it."""

from __future__ import annotations

import contextlib
import glob
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from union.errors import AlreadyExistsError, TaskDefinitionError, TransportError, UnionError

if TYPE_CHECKING:
    from flyteidl2.task.task_definition_pb2 import TaskIdentifier

    from union._task import TaskFunction
    from union.config import Config
    from union.remote import Run
    from union.transport import Transport


MAX_BUNDLE_FILES = 10_000
MAX_BUNDLE_BYTES = 1 << 30
# Never part of a task's code: caches and tool state change without the code changing.
BUNDLE_EXCLUDE = (
    "__pycache__",
    "*.pyc",
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    ".jj",
    ".venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    ".DS_Store",
    "node_modules",
    ".union",
)


def _union_dirs() -> set[str]:
    """Union's own cache, data (engine state, local store) and config folders, wherever they resolve.

    They change while a run is being deployed (the hash cache, the engine's database), so a bundle that
    held them would fail to upload or carry another run's state.
    """
    from union.config import paths

    folders = (paths.cache_dir(), paths.data_dir(), paths.user_config_file().parent)
    return {os.path.realpath(folder) for folder in folders}


def _never_bundled(dirpath: str, name: str, union_dirs: set[str]) -> bool:
    """A folder that is never code: union's own folders and virtualenvs (a folder holding pyvenv.cfg)."""
    path = os.path.join(dirpath, name)
    return os.path.realpath(path) in union_dirs or os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def check_bundle(root: Path) -> tuple[str, ...]:
    """Refuse an accidentally huge code bundle; return the exclude patterns the upload must use.

    The bundle is the whole folder holding the task's top-level package, so a task file dropped into a
    large folder would upload all of it; stop early and say how to fix it instead. The same walk finds
    the folders that are never code wherever they sit (union's cache, data and config folders,
    virtualenvs by their pyvenv.cfg) and adds their paths, relative to the root, to ``BUNDLE_EXCLUDE``.
    """
    from union.storage.walk import excluded

    union_dirs = _union_dirs()
    # By path, not only by the walk: the hash cache may first be created by this very upload.
    root_real = os.path.realpath(root)
    skipped = [
        os.path.relpath(d, root_real).replace(os.sep, "/")
        for d in union_dirs
        if d.startswith(root_real.rstrip(os.sep) + os.sep)
    ]
    files = size = 0
    for dirpath, dirs, names in os.walk(root):
        kept = []
        for d in dirs:
            if excluded(d, d, BUNDLE_EXCLUDE):
                continue
            if _never_bundled(dirpath, d, union_dirs):
                skipped.append(os.path.relpath(os.path.join(dirpath, d), root).replace(os.sep, "/"))
                continue
            kept.append(d)
        dirs[:] = kept
        names = [n for n in names if not excluded(n, n, BUNDLE_EXCLUDE)]
        files += len(names)
        for name in names:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, name)).st_size
        if files > MAX_BUNDLE_FILES or size > MAX_BUNDLE_BYTES:
            raise TaskDefinitionError(
                f"the code bundle {root} holds more than {MAX_BUNDLE_FILES} files or 1 GiB (at {dirpath}). "
                "A task uploads the whole folder holding its top-level package: move the task's file (or "
                "package) into a folder of its own, without virtualenvs or data."
            )
    return (*BUNDLE_EXCLUDE, *sorted({glob.escape(rel) for rel in skipped}))


def deploy(task: TaskFunction[Any, Any], *, config: Config | None = None) -> TaskIdentifier:
    """Upload the task's code bundle and deploy it, unless this exact version is already deployed.

    The version is the bundle's content digest, so unchanged code costs a hash check and one
    GetTaskDetails call, never a second DeployTask.
    """
    from flyteidl2.task.task_service_pb2 import DeployTaskRequest, GetTaskDetailsRequest

    from union.config import current
    from union.remote import _client
    from union.storage.upload import upload_dir

    cfg = config or current()
    transport = _client.transport(cfg)  # no control plane for this config: fail before uploading
    root, _ = task.bundle()
    exclude = check_bundle(root)
    digest, code_uri = upload_dir(root, config=cfg, exclude=exclude)
    s = _client.scope()
    task_id = task.task_id(digest, org=s.org, project=s.project, domain=s.domain)
    try:
        transport.get_task_details(GetTaskDetailsRequest(task_id=task_id))
        return task_id
    except TransportError as exc:
        if not _client.is_not_found(exc):
            raise
    spec = task.spec(code_uri=code_uri, version=digest, org=s.org, project=s.project, domain=s.domain)
    # AlreadyExists: deployed by someone else meanwhile, same content, same version.
    with contextlib.suppress(AlreadyExistsError):
        transport.deploy_task(DeployTaskRequest(task_id=task_id, spec=spec))
    return task_id


def _start(transport: Transport, task_id: TaskIdentifier, literals: Any) -> Any:
    from flyteidl2.common.identifier_pb2 import ProjectIdentifier
    from flyteidl2.task.common_pb2 import Inputs, NamedLiteral
    from flyteidl2.workflow.run_service_pb2 import CreateRunRequest

    request = CreateRunRequest(
        project_id=ProjectIdentifier(organization=task_id.org, domain=task_id.domain, name=task_id.project),
        task_id=task_id,
        inputs=Inputs(literals=[NamedLiteral(name=k, value=v) for k, v in literals.literals.items()]),
    )
    return transport.create_run(request).run


def run(task: Any, /, **inputs: Any) -> Run:
    """Start a run of ``task`` with ``inputs``: a ``@union.task`` function, or what ``Task.get`` returns.

    Inputs are checked against the task's interface before anything is uploaded or sent (wrong names
    or types raise union.types errors). A ``@union.task`` is deployed first if its code changed.
    Called inside an engine task (a script's top level being imported by a worker) it raises
    RunInsideTaskError before doing anything, so an unguarded script cannot start a chain of runs.
    """
    from union._task_context import refuse_run_in_task

    refuse_run_in_task()
    from union._task import TaskFunction
    from union.remote import Run, Task, _client
    from union.remote._lazy import LazyEntity
    from union.storage.files import StorageFiles
    from union.types import inputs_to_literals

    files = StorageFiles()
    if isinstance(task, TaskFunction):
        inputs_to_literals(task.func, inputs, files=_NoFiles())  # names and types, before any upload
        literals = inputs_to_literals(task.func, inputs, files=files)
        task_id = deploy(task)
        decode_with: Any = task.func
    elif isinstance(task, (LazyEntity, Task)):
        remote = task.fetch()
        interface = remote.interface
        spec = remote.details().spec  # the interface and the deployed defaults
        inputs_to_literals(spec, inputs, files=_NoFiles())
        literals = inputs_to_literals(spec, inputs, files=files)
        task_id = remote.task_id
        decode_with = interface
    else:
        raise TypeError(
            f"union.run needs a @union.task function or a deployed task (union.remote.Task.get(...)), "
            f"got {type(task).__qualname__}"
        )
    transport = _client.transport()
    message = _start(transport, task_id, literals)
    result = Run._from_id(message.action.id.run, transport)
    result._summary = message.action
    result._decode_with = decode_with
    return result


class _NoFiles:
    """A FileHandler that checks a path exists and uploads nothing, so validation has no side effects."""

    def upload_file(self, path: Any) -> str:
        return "file:///dev/null"

    def upload_dir(self, path: Any) -> str:
        return "file:///dev/null"

    def download_file(self, uri: str) -> Any:
        raise UnionError("not used")

    def download_dir(self, uri: str) -> Any:
        raise UnionError("not used")
