"""``union run FILE:TASK --name value ...``: deploy the task if its code changed and start a run."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "run",
        help="run a @union.task from a file",
        description="Inputs are given as --NAME VALUE and read by the task's annotations: plain text for "
        "str, numbers, true/false, ISO datetimes, seconds for timedeltas, paths for Path, JSON for lists, "
        "dicts and dataclasses. Run options may come before or after FILE:TASK.",
    )
    p.add_argument("--wait", action="store_true", help="follow the run and print its outputs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("task", metavar="FILE:TASK", help="a file and the name of a @union.task in it")
    p.add_argument("inputs", nargs=argparse.REMAINDER, help="--NAME VALUE for each input")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import union
    from union.cli import _remote

    task = _remote.load_task(args.task)
    inputs, rest = _remote.parse_inputs(task, args.inputs, prog=f"union run {args.task}")
    wait, as_json = args.wait, args.json
    for extra in rest:
        if extra == "--wait":
            wait = True
        elif extra == "--json":
            as_json = True
        else:
            raise _remote.CliUsageError(f"unexpected argument {extra!r} for {task.name}")
    started = union.run(task, **inputs)
    if not as_json:
        print(f"run {started.name} of {task.name} started: {started.uri}")
    if not wait:
        if as_json:
            print(json.dumps(_remote.run_dict(started)))
        else:
            print(f"follow it with: union wait {started.name}")
        return 0
    if as_json:
        started.wait()
        print(json.dumps(_remote.run_dict(started, with_outputs=True), indent=2))
        return 0 if started.phase == "SUCCEEDED" else 1
    _remote.follow(started)
    return _remote.report_result(started)
