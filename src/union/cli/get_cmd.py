"""``union get runs|run NAME|tasks|task NAME``: list or show runs and tasks, as a table or JSON."""

from __future__ import annotations

import argparse
import json


def positive_int(text: str) -> int:
    """``--limit``: a whole number of at least 1 (argparse reports the ValueError's message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number (1 or more), got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("get", help="list or show runs and tasks")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for name, help_text, takes_name in (
        ("runs", "list runs, newest first", False),
        ("run", "show one run, with its outputs or error", True),
        ("tasks", "list deployed task versions, newest first", False),
        ("task", "show one task (NAME or NAME@VERSION; latest by default)", True),
    ):
        k = kinds.add_parser(name, help=help_text)
        if takes_name:
            k.add_argument("name", metavar="NAME", help="a name or a union:// URI")
        else:
            k.add_argument(
                "--limit", type=positive_int, default=20, help="show at most this many (default 20)"
            )
        k.add_argument("--json", action="store_true", help="print JSON instead of a table")
        k.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from union.cli import _remote
    from union.cli.table import render
    from union.remote import Run, Task

    if args.kind == "runs":
        runs = list(Run.search(limit=args.limit))
        if args.json:
            print(json.dumps([_remote.run_dict(r) for r in runs], indent=2))
        else:
            print(render(_remote.RUN_HEADERS, [_remote.run_row(r) for r in runs]))
        return 0
    if args.kind == "tasks":
        tasks = list(Task.search(limit=args.limit))
        if args.json:
            print(json.dumps([_remote.task_dict(t) for t in tasks], indent=2))
        else:
            rows = [[t.name, t.version[:12], _remote.when(t.deployed_at)] for t in tasks]
            print(render(["NAME", "VERSION", "DEPLOYED"], rows))
        return 0
    if args.kind == "run":
        found = Run.get(uri=args.name) if args.name.startswith("union://") else Run.get(name=args.name)
        info = _remote.run_dict(found, with_outputs=True)
        if args.json:
            print(json.dumps(info, indent=2))
            return 0
        for key in ("name", "uri", "task", "phase"):
            print(f"{key + ':':<10} {info[key]}")
        print(f"{'started:':<10} {_remote.when(found.started_at)}")
        print(f"{'finished:':<10} {_remote.when(found.finished_at)}  ({_remote.duration(found)})")
        if "error" in info:
            print(f"{'error:':<10} {found.error}")
        if "outputs" in info:
            _remote.print_outputs(found)
        return 0
    lazy = Task.get(uri=args.name) if args.name.startswith("union://") else Task.get(name=args.name)
    task = lazy.fetch()
    info = {
        **_remote.task_dict(task),
        "inputs": task.inputs,
        "defaults": {k: "..." if v is ... else v for k, v in task.defaults.items()},
        "outputs": task.outputs,
        "retries": task.retries,
        "timeout": task.timeout.total_seconds() if task.timeout else None,
    }
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for key in ("name", "version", "uri", "deployed_at", "retries", "timeout"):
        print(f"{key + ':':<12} {info[key] if info[key] is not None else '-'}")
    for key in ("inputs", "outputs"):
        print(f"{key}:")
        for name, kind in info[key].items():
            default = f" = {info['defaults'][name]!r}" if key == "inputs" and name in info["defaults"] else ""
            print(f"  {name}: {kind}{default}")
    return 0
