"""One attempt of a task, inside the child process a worker starts for it.

Loads the code bundle named in the TaskSpec (a ``file://`` tree is used in place, anything else is
downloaded once per digest into the cache directory), imports the module, takes the function (a union
task object's ``.func``), converts the inputs, calls it, converts and stores the outputs as
``flyteidl2.task.Outputs`` through union.storage, and leaves a small ``result.json`` for the supervisor:
``{"outputs_uri": ...}`` or ``{"error": {"kind", "code", "message"}}``. The traceback goes to stderr.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from union._task_context import mark_task_process
from union.config import Config
from union.engine.store import Store
from union.storage.files import StorageFiles


def settings_config(settings: dict[str, Any]) -> Config:
    """The submitter's storage settings, recorded with the run, as a Config for this process."""
    from union.config.settings import FIELDS

    return Config(**{k: v for k, v in settings.items() if k in FIELDS})


def bundle_root(code: str, config: Config) -> Path:
    """The local folder holding the code bundle at ``code``."""
    from union.storage.protocols import split_protocol

    protocol, rest = split_protocol(code)
    if protocol in ("file", "local"):
        local = Path(rest)
        if not local.is_dir():
            raise FileNotFoundError(f"code bundle {code} does not exist any more. Deploy the task again.")
        return local
    from union.config import paths

    digest = code.rstrip("/").rsplit("/", 1)[-1]
    cached = paths.cache_dir() / "engine" / "bundles" / digest
    if cached.is_dir():
        return cached
    staging = cached.with_name(f".{digest}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    StorageFiles(config, staging.parent).download_dir(code, target=staging)
    try:
        os.rename(staging, cached)
    except OSError:  # another attempt won the race: use its copy
        shutil.rmtree(staging, ignore_errors=True)
    return cached


def load_function(spec: Any, config: Config) -> Callable[..., Any]:
    """Import the task's function as the TaskSpec's ``custom["union"]`` describes it."""
    from google.protobuf import json_format

    custom = json_format.MessageToDict(spec.task_template.custom).get("union") or {}
    missing = [k for k in ("code", "module", "function") if not custom.get(k)]
    if missing:
        raise ValueError(
            f"the task spec's custom['union'] lacks {', '.join(missing)}: it was not deployed by union "
            "(see docs/control-plane-contract.md)."
        )
    root = bundle_root(str(custom["code"]), config)
    sys.path.insert(0, str(root))
    obj: Any = importlib.import_module(str(custom["module"]))
    for part in str(custom["function"]).split("."):
        obj = getattr(obj, part)
    if not inspect.isfunction(obj) and callable(getattr(obj, "func", None)):
        obj = obj.func
    if not callable(obj):
        raise TypeError(f"{custom['module']}.{custom['function']} is not callable")
    return obj  # type: ignore[no-any-return]


def execute(store: Store, run_id: int, folder: Path) -> str:
    """Run the task once; returns the URI of its stored Outputs."""
    from flyteidl2.task import common_pb2, run_pb2, task_definition_pb2

    import union.types as ut

    row = store.run_by_id(run_id)
    if row is None:
        raise LookupError(f"run {run_id} is not in {store.path}")
    store.close()  # the task may run for hours: hold no database handle meanwhile
    config = settings_config(json.loads(row["settings"]))
    files = StorageFiles(config, folder / "downloads")
    spec = task_definition_pb2.TaskSpec.FromString(row["task_spec"])
    inputs = common_pb2.Inputs.FromString(row["inputs"])
    for pair in run_pb2.RunSpec.FromString(row["run_spec"]).envs.values:  # RunSpec.envs, as Flyte does
        os.environ[pair.key] = pair.value
    mark_task_process(str(row["name"]))  # after the envs, which must not be able to unset it
    func = load_function(spec, config)
    kwargs = ut.literals_to_inputs(func, {nl.name: nl.value for nl in inputs.literals}, files=files)
    value = func(**kwargs)
    literals = ut.outputs_to_literals(func, value, files=files).literals
    order = [v.key for v in spec.task_template.interface.outputs.variables] or sorted(literals)
    order += sorted(set(literals) - set(order))
    outputs = common_pb2.Outputs(
        literals=[common_pb2.NamedLiteral(name=n, value=literals[n]) for n in order if n in literals]
    )
    out = folder / "outputs.pb"
    out.write_bytes(outputs.SerializeToString(deterministic=True))
    return files.upload_file(out)


def _write_result(path: Path, result: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, path)


def run_attempt(store: Store, run_id: int, attempt: int, result: Path) -> int:
    """The child process's whole life: 0 with outputs stored, 1 with the error described in ``result``."""
    try:
        uri = execute(store, run_id, result.parent)
    except BaseException as exc:
        traceback.print_exc()
        error_type = type(exc)
        _write_result(
            result,
            {
                "error": {
                    "kind": "user",
                    "code": f"{error_type.__module__}.{error_type.__qualname__}",
                    "message": str(exc),
                }
            },
        )
        return 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    _write_result(result, {"outputs_uri": uri})
    return 0
