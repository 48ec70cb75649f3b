"""``union demo``: deploy the sample task shipped with union, run it, wait, print its outputs.

With no configuration this runs on the embedded local control plane, so it works on a fresh machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run a sample task end to end and print its result")
    p.add_argument("--name", default="world", help="who to greet (default: world)")
    p.add_argument("--timeout", type=float, default=120, help="give up waiting after this many seconds")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import union
    from union.cli import _remote
    from union.config import current

    sample = Path(__file__).resolve().parents[1] / "_demo" / "union_demo.py"
    task = _remote.load_task(f"{sample}:hello")
    config = current()
    where = config.endpoint or "the embedded local control plane (no server needed)"
    print(f"union demo: running task {task.name} on {where}")
    started = union.run(task, name=args.name)
    print(f"run {started.name} started: {started.uri}")
    _remote.follow(started, timeout=args.timeout)
    code = _remote.report_result(started)
    print(f"next: union get runs | union get run {started.name} | union logs {started.name}")
    return code
