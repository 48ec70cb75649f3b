"""Entry point of the ``union`` command: global options, then one subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from union import __version__
from union.cli import (
    apikey_cmd,
    cancel_cmd,
    demo_cmd,
    get_cmd,
    logs_cmd,
    plugins_cmd,
    run_cmd,
    serve_cmd,
    upload_cmd,
    wait_cmd,
)
from union.errors import UnionError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="union", description="Work with Union and Flyte from the shell.")
    parser.add_argument("--version", action="version", version=f"union {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: $UNION_CONFIG, ./.union/config.yaml, ~/.union/config.yaml)",
    )
    parser.add_argument("--project", help="project to use")
    parser.add_argument("--domain", help="domain to use")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (
        demo_cmd,
        run_cmd,
        get_cmd,
        wait_cmd,
        cancel_cmd,
        logs_cmd,
        upload_cmd,
        plugins_cmd,
        serve_cmd,
    ):
        module.add_parser(sub)
    apikey_cmd.add_parser(sub)  # after get_cmd: adds `get api-key` to its kinds
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if args.config or args.project or args.domain:
            from union.config import init

            init(args.config, project=args.project, domain=args.domain)
        return int(args.func(args))
    except UnionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
