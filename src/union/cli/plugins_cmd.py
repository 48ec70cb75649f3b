"""``union plugins``: what is installed, which versions, which hooks, and the deployment variants each adds."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from union.cli.table import render


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "plugins", help="list installed plugins, the hooks they implement and the variants they add"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _variant_row(variant: Any) -> dict[str, Any]:
    return {
        "name": variant.name,
        "plugin": variant.plugin,
        "description": variant.description,
        "extra": variant.extra,
        "endpoints": list(variant.endpoints),
        **variant.provides(),
    }


def run(args: argparse.Namespace) -> int:
    from union.plugins import plugin_infos
    from union.plugins.variants import installed_variants

    infos = plugin_infos()
    variants = [_variant_row(v) for v in installed_variants()]
    if args.json:
        rows = [{**asdict(i), "variants": [v for v in variants if v["plugin"] == i.name]} for i in infos]
        print(json.dumps(rows, indent=2))
        return 0
    rows_ = [[i.name, i.distribution, i.version, ", ".join(i.hooks)] for i in infos]
    print(render(["NAME", "DISTRIBUTION", "VERSION", "HOOKS"], rows_))
    print()
    table = [
        [
            v["name"],
            v["plugin"],
            ", ".join(v["endpoints"]) or ("(no endpoint)" if v["name"] == "embedded" else "(by name)"),
            v["transport"],
            v["auth"],
            v["storage"],
            v["defaults"],
        ]
        for v in variants
    ]
    print(render(["VARIANT", "PLUGIN", "ENDPOINTS", "TRANSPORT", "AUTH", "STORAGE", "DEFAULTS"], table))
    return 0
