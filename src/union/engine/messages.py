"""Store rows -> the flyteidl2 messages Flyte 2 returns, filled field for field.

A run has one action, the root ``a0``. Kept apart from the store so the worker supervisor, which only
writes rows, never imports protobuf.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flyteidl2.common import identifier_pb2
from flyteidl2.core import execution_pb2
from flyteidl2.task import common_pb2, run_pb2, task_definition_pb2
from flyteidl2.workflow import run_definition_pb2 as rd
from google.protobuf import timestamp_pb2

from union.engine.store import ABORTED, LIST_FIELDS

ROOT_ACTION = "a0"


def timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    ts = timestamp_pb2.Timestamp()
    _set_time(ts, seconds)
    return ts


def _set_time(target: timestamp_pb2.Timestamp, seconds: float) -> None:
    """Every timestamp goes through here, so one instant always becomes the same message."""
    whole, nanos = divmod(int(seconds * 1e9), 1_000_000_000)
    target.seconds = whole
    target.nanos = nanos


def run_identifier(row: sqlite3.Row) -> identifier_pb2.RunIdentifier:
    return identifier_pb2.RunIdentifier(
        org=row["org"], project=row["project"], domain=row["domain"], name=row["name"]
    )


def action_identifier(row: sqlite3.Row) -> identifier_pb2.ActionIdentifier:
    return identifier_pb2.ActionIdentifier(run=run_identifier(row), name=ROOT_ACTION)


def task_identifier(row: sqlite3.Row, prefix: str = "task_") -> task_definition_pb2.TaskIdentifier:
    return task_definition_pb2.TaskIdentifier(
        org=row[f"{prefix}org"],
        project=row[f"{prefix}project"],
        domain=row[f"{prefix}domain"],
        name=row[f"{prefix}name"],
        version=row[f"{prefix}version"],
    )


def error_info(kind: int | None, code: str | None, message: str | None) -> rd.ErrorInfo | None:
    if kind is None and not code and not message:
        return None
    return rd.ErrorInfo(kind=rd.ErrorInfo.Kind.Name(kind or 0), code=code or "", message=message or "")


def action_metadata(row: sqlite3.Row) -> rd.ActionMetadata:
    return rd.ActionMetadata(
        task=rd.TaskActionMetadata(
            id=task_identifier(row), task_type=row["task_type"], short_name=row["short_name"]
        ),
        action_type=rd.ACTION_TYPE_TASK,
        funtion_name=row["short_name"],
    )


def action_status(row: sqlite3.Row) -> rd.ActionStatus:
    started, ended = row["started_at"], row["ended_at"]
    status = rd.ActionStatus(
        phase=row["phase"],
        start_time=timestamp(started),
        end_time=timestamp(ended),
        attempts=row["attempts"],
    )
    if started is not None and ended is not None:
        status.duration_ms = max(0, int((ended - started) * 1000))
    return status


def run_message(row: sqlite3.Row) -> rd.Run:
    run = rd.Run()
    fill_run(run, tuple(row[field] for field in LIST_FIELDS))
    return run


def fill_run(run: rd.Run, fields: tuple[Any, ...]) -> None:
    """Fill a Run in place from a LIST_FIELDS tuple: listing ten thousand runs is dominated by building
    these, so no temporary messages and no lookups by column name."""
    (_, org, project, domain, name, t_org, t_project, t_domain, t_name, t_version) = fields[:10]
    (task_type, short_name, phase, started, ended, attempts) = fields[10:]
    action = run.action
    ident = action.id
    ident.name = ROOT_ACTION
    r = ident.run
    r.org, r.project, r.domain, r.name = org, project, domain, name
    meta = action.metadata
    meta.action_type = rd.ACTION_TYPE_TASK
    meta.funtion_name = short_name
    task = meta.task
    task.task_type, task.short_name = task_type, short_name
    t = task.id
    t.org, t.project, t.domain, t.name, t.version = t_org, t_project, t_domain, t_name, t_version
    status = action.status
    status.phase = phase
    status.attempts = attempts
    if started is not None:
        _set_time(status.start_time, started)
    if ended is not None:
        _set_time(status.end_time, ended)
        if started is not None:
            status.duration_ms = max(0, int((ended - started) * 1000))


def action_message(row: sqlite3.Row) -> rd.Action:
    return run_message(row).action


def _attempt(row: sqlite3.Row) -> rd.ActionAttempt:
    logs = [
        execution_pb2.TaskLog(uri=Path(row[f"{stream}_path"]).as_uri(), name=stream)
        for stream in ("stdout", "stderr")
    ]
    attempt = rd.ActionAttempt(
        phase=row["phase"],
        start_time=timestamp(row["started_at"]),
        end_time=timestamp(row["ended_at"]),
        error_info=error_info(row["error_kind"], row["error_code"], row["error_message"]),
        attempt=row["attempt"],
        log_info=logs,
        logs_available=True,
    )
    if row["outputs_uri"]:
        attempt.outputs.output_uri = row["outputs_uri"]
    return attempt


def action_details(row: sqlite3.Row, attempts: Sequence[sqlite3.Row]) -> rd.ActionDetails:
    details = rd.ActionDetails(
        id=action_identifier(row),
        metadata=action_metadata(row),
        status=action_status(row),
        error_info=error_info(row["error_kind"], row["error_code"], row["error_message"]),
        task=task_definition_pb2.TaskSpec.FromString(row["task_spec"]),
        attempts=[_attempt(a) for a in attempts],
    )
    if row["phase"] == ABORTED:
        details.abort_info.reason = row["abort_reason"] or ""
    return details


def run_details(row: sqlite3.Row, attempts: Sequence[sqlite3.Row]) -> rd.RunDetails:
    return rd.RunDetails(
        run_spec=run_pb2.RunSpec.FromString(row["run_spec"]), action=action_details(row, attempts)
    )


def inputs(row: sqlite3.Row) -> common_pb2.Inputs:
    return common_pb2.Inputs.FromString(row["inputs"])


def _task_metadata(row: sqlite3.Row, spec: task_definition_pb2.TaskSpec) -> task_definition_pb2.TaskMetadata:
    return task_definition_pb2.TaskMetadata(
        short_name=spec.short_name or row["name"].rsplit(".", 1)[-1],
        deployed_at=timestamp(row["deployed_at"]),
    )


def task_message(row: sqlite3.Row) -> task_definition_pb2.Task:
    spec = task_definition_pb2.TaskSpec.FromString(row["spec"])
    return task_definition_pb2.Task(
        task_id=task_identifier(row, prefix=""), metadata=_task_metadata(row, spec)
    )


def task_details(row: sqlite3.Row) -> task_definition_pb2.TaskDetails:
    spec = task_definition_pb2.TaskSpec.FromString(row["spec"])
    return task_definition_pb2.TaskDetails(
        task_id=task_identifier(row, prefix=""), metadata=_task_metadata(row, spec), spec=spec
    )
