"""``union wait NAME``: follow a run, printing each phase, then its outputs or error."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("wait", help="wait for a run to finish, showing its progress")
    p.add_argument("name", metavar="NAME", help="a run name or union:// URI")
    p.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from union.cli import _remote
    from union.remote import Run

    found = Run.get(uri=args.name) if args.name.startswith("union://") else Run.get(name=args.name)
    _remote.follow(found, timeout=args.timeout)
    return _remote.report_result(found)
