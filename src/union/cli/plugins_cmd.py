"""``union plugins``: what is installed, which versions, and which hooks each implements."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from union.cli.table import render


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plugins", help="list installed plugins and the hooks they implement")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from union.plugins import plugin_infos

    infos = plugin_infos()
    if args.json:
        print(json.dumps([asdict(i) for i in infos], indent=2))
        return 0
    rows = [[i.name, i.distribution, i.version, ", ".join(i.hooks)] for i in infos]
    print(render(["NAME", "DISTRIBUTION", "VERSION", "HOOKS"], rows))
    return 0
