"""Shared by the run/get/wait/cancel/logs/demo commands: loading a task from a file, parsing input values
from the command line by annotation, and showing runs, tasks and values as text or JSON."""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import enum
import importlib
import json
import sys
import time
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from union.errors import UnionError

if TYPE_CHECKING:
    from union._task import TaskFunction
    from union.remote import Run, Task


class CliUsageError(UnionError, ValueError):
    """A command-line argument cannot be used: the message says which and what is expected."""


# -- loading a task ---------------------------------------------------------------------------------


def load_task(spec: str) -> TaskFunction[Any, Any]:
    """``path/to/file.py:name`` -> the ``@union.task`` object, imported by its bundle-relative module name."""
    from union._task import TaskFunction, bundle_root

    file_part, sep, attr = spec.rpartition(":")
    if not sep or not file_part or not attr:
        raise CliUsageError(f"expected FILE:TASK (for example hello.py:greet), got {spec!r}")
    path = Path(file_part)
    if not path.is_file():
        raise CliUsageError(f"{file_part}: no such file")
    root, module_name = bundle_root(path)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    module = importlib.import_module(module_name)
    found = getattr(module, attr, None)
    if found is None:
        tasks = sorted(n for n, v in vars(module).items() if isinstance(v, TaskFunction))
        raise CliUsageError(f"{file_part} has no {attr!r}; its tasks are: {', '.join(tasks) or '(none)'}")
    if not isinstance(found, TaskFunction):
        raise CliUsageError(f"{file_part}:{attr} is not decorated with @union.task")
    return found


# -- values from the command line -------------------------------------------------------------------

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _from_json(value: Any, annotation: Any, where: str) -> Any:
    """Shape a JSON value into ``annotation`` (dataclasses, enums, datetimes... inside containers)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _from_json(value, args[0], where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _from_json(value, arg, where)
            except (ValueError, TypeError, KeyError):
                continue
        raise CliUsageError(f"{where}: {value!r} fits none of {annotation}")
    if origin in (list, Sequence) and isinstance(value, list):
        return [_from_json(v, args[0] if args else Any, where) for v in value]
    if origin is dict and isinstance(value, dict):
        return {k: _from_json(v, args[1] if len(args) > 1 else Any, where) for k, v in value.items()}
    if isinstance(annotation, type):
        if dataclasses.is_dataclass(annotation) and isinstance(value, dict):
            hints = typing.get_type_hints(annotation)
            return annotation(**{k: _from_json(v, hints.get(k, Any), where) for k, v in value.items()})
        if hasattr(annotation, "model_validate"):
            return annotation.model_validate(value)
        if issubclass(annotation, enum.Enum):
            try:
                return annotation(value)
            except ValueError:
                return annotation[value]
        if annotation is dt.datetime and isinstance(value, str):
            return dt.datetime.fromisoformat(value)
        if annotation is dt.timedelta and isinstance(value, (int, float)):
            return dt.timedelta(seconds=value)
        if annotation is bytes and isinstance(value, str):
            return value.encode()
        if issubclass(annotation, Path) and isinstance(value, str):
            return Path(value)
    return value


def parse_value(raw: str, annotation: Any, where: str) -> Any:
    """One value typed on the command line: plain text for scalars, JSON for anything structured."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return parse_value(raw, args[0], where)
    if origin in (typing.Union, types.UnionType):
        if raw.lower() in ("none", "null") and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return parse_value(raw, options[0], where)
    try:
        if annotation is str:
            return raw
        if annotation is bool:
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError("use true or false")
        if annotation is int:
            return int(raw)
        if annotation is float:
            return float(raw)
        if annotation is bytes:
            return raw.encode()
        if annotation is type(None) or annotation is None:
            if raw.lower() in ("none", "null", ""):
                return None
            raise ValueError("use none")
        if annotation is dt.datetime:
            return dt.datetime.fromisoformat(raw)
        if annotation is dt.timedelta:
            return dt.timedelta(seconds=float(raw))
        if isinstance(annotation, type) and issubclass(annotation, Path):
            return Path(raw)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return _from_json(raw, annotation, where)
        return _from_json(json.loads(raw), annotation, where)
    except (ValueError, TypeError, KeyError) as exc:
        raise CliUsageError(
            f"{where}: cannot read {raw!r} as {getattr(annotation, '__name__', annotation)} ({exc})"
        ) from exc


def parse_inputs(
    task: TaskFunction[Any, Any], argv: Sequence[str], prog: str
) -> tuple[dict[str, Any], list[str]]:
    """``--name value`` pairs for the task's parameters, typed by its hints; returns (inputs, leftovers)."""
    import inspect

    hints = typing.get_type_hints(task.func, include_extras=True)
    parser = argparse.ArgumentParser(prog=prog, add_help=True)
    params = inspect.signature(task.func).parameters
    for name, param in params.items():
        required = param.default is param.empty
        default = "" if required else f" (default: {param.default!r})"
        annotation = hints[name]
        shown = (
            annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")
        )
        if annotation is type(None):
            shown = "None"
        parser.add_argument(
            f"--{name}",
            dest=name,
            metavar="VALUE",
            required=required,
            default=argparse.SUPPRESS,
            help=f"{shown}{default}",
        )
    parsed, rest = parser.parse_known_args(list(argv))
    values = {
        name: parse_value(raw, hints[name], f"--{name}")
        for name, raw in vars(parsed).items()
        if name in params
    }
    return values, rest


# -- showing things ---------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it: dataclasses as objects, times as ISO text, bytes as base64."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def when(value: dt.datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def duration(run: Run) -> str:
    start, end = run.started_at, run.finished_at
    if start is None:
        return "-"
    seconds = ((end or dt.datetime.now(dt.timezone.utc)) - start).total_seconds()
    return f"{seconds:.1f}s"


def run_row(run: Run) -> list[str]:
    return [run.name, run.task_name, run.phase, when(run.started_at), duration(run)]


RUN_HEADERS = ["NAME", "TASK", "PHASE", "STARTED", "DURATION"]


def run_dict(run: Run, *, with_outputs: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": run.name,
        "uri": run.uri,
        "task": run.task_name,
        "phase": run.phase,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if with_outputs and run.phase in ("FAILED", "ABORTED", "TIMED_OUT"):
        error = run.error
        out["error"] = error._asdict() if error else None
    if with_outputs and run.phase == "SUCCEEDED":
        out["outputs"] = jsonable(run.outputs)
    return out


def task_dict(task: Task) -> dict[str, Any]:
    return {
        "name": task.name,
        "version": task.version,
        "uri": task.uri,
        "deployed_at": task.deployed_at.isoformat() if task.deployed_at else None,
    }


def print_outputs(run: Run) -> None:
    outputs = run.outputs
    if not outputs:
        print("outputs: (none)")
        return
    print("outputs:")
    for name, value in outputs.items():
        fields = jsonable(value)
        if isinstance(fields, dict) and (dataclasses.is_dataclass(value) or hasattr(value, "model_dump")):
            print(f"  {name}: {type(value).__name__}")
            for key, item in fields.items():
                print(f"    {key}: {item if isinstance(item, str) else json.dumps(item)}")
        else:
            print(f"  {name}: {show(value)}")


def show(value: Any) -> str:
    shaped = jsonable(value)
    return shaped if isinstance(shaped, str) else json.dumps(shaped)


def follow(run: Run, timeout: float | None = None, stream: Any = None) -> Run:
    """Wait for ``run`` and print each phase it goes through with the time since waiting began."""
    out = stream or sys.stderr
    began = time.monotonic()

    def update(r: Run) -> None:
        print(f"  {time.monotonic() - began:6.1f}s  {r.phase}", file=out, flush=True)

    try:
        return run.wait(timeout=timeout, on_update=update)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        print(f"stopped waiting; run {run.name} keeps running (union cancel {run.name} stops it)", file=out)
        raise


def report_result(run: Run) -> int:
    """Print a finished run's outputs (exit 0) or its error (exit 1)."""
    if run.phase == "SUCCEEDED":
        print_outputs(run)
        return 0
    error = run.error
    print(f"run {run.name} {run.phase}: {error}", file=sys.stderr)
    return 1
