"""``union cancel NAME``: stop a run (from any process); a finished run is left as it is."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("cancel", help="cancel a run")
    p.add_argument("name", metavar="NAME", help="a run name or union:// URI")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from union.remote import Run

    found = Run.get(uri=args.name) if args.name.startswith("union://") else Run.get(name=args.name)
    if found.done():
        print(f"run {found.name} already finished: {found.phase}")
        return 0
    found.cancel()
    print(f"run {found.name}: {found.phase}")
    return 0
