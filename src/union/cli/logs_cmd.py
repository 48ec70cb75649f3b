"""``union logs NAME``: what a run's task printed (stdout and stderr), read back with TailLogs."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("logs", help="print a run's output")
    p.add_argument("name", metavar="NAME", help="a run name or union:// URI")
    p.add_argument("--attempt", type=int, default=None, help="which attempt (default: the latest)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from union.remote import Run

    found = Run(args.name)
    for line in found.logs(attempt=args.attempt):
        print(line.rstrip("\n"), flush=True)
    return 0
