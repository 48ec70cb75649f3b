"""``union create api-key``, ``union get api-key``, ``union delete api-key``: manage ``union serve``'s keys.

They work on the server's data directory directly (not over the network), so they are run where the server
keeps its state; a running server sees the changes at once. The key is printed once, alone on stdout, so
``export UNION_API_KEY=$(union create api-key --name ci)`` works; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from union.server.auth import ServerAuth

_DEFAULT_ENDPOINT = "http://127.0.0.1:8080"


def _kinds(sub: argparse._SubParsersAction, command: str, help_text: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The KIND sub-parsers of ``union <command>``, creating the command if no other module did."""
    parser: argparse.ArgumentParser | None = sub.choices.get(command)
    if parser is None:
        parser = sub.add_parser(command, help=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    kinds: argparse._SubParsersAction = parser.add_subparsers(dest="kind", metavar="KIND", required=True)  # type: ignore[type-arg]
    return kinds


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        help="the server's data directory (default: the one `union serve` uses, under $UNION_DATA_DIR)",
    )


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    create = _kinds(sub, "create", "create server-side objects (API keys)")
    p = create.add_parser("api-key", help="create an API key for `union serve` and print it once")
    p.add_argument("--name", required=True, help="a unique name for the key (letters, digits, _ . -)")
    p.add_argument(
        "--endpoint",
        default=_DEFAULT_ENDPOINT,
        help=f"the server URL clients reach, baked into the key (default {_DEFAULT_ENDPOINT})",
    )
    p.add_argument("--org", default="", help="the organization written into the key (default none)")
    _common(p)
    p.set_defaults(func=run_create)

    get = _kinds(sub, "get", "list or show runs and tasks")
    p = get.add_parser("api-key", help="list the API keys of `union serve` (never their secrets)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--all", action="store_true", help="include deleted (revoked) keys")
    _common(p)
    p.set_defaults(func=run_get)

    delete = _kinds(sub, "delete", "delete server-side objects (API keys)")
    p = delete.add_parser("api-key", help="revoke an API key and every token issued for it")
    p.add_argument("name", metavar="NAME", help="the key's name, as `union get api-key` lists it")
    _common(p)
    p.set_defaults(func=run_delete)


def _data_dir(args: argparse.Namespace) -> Path:
    from union.server.auth import default_server_dir

    return Path(args.data_dir if args.data_dir is not None else default_server_dir()).expanduser()


def _auth(args: argparse.Namespace, endpoint: str = _DEFAULT_ENDPOINT) -> ServerAuth:
    from union.server.auth import ServerAuth

    return ServerAuth(data_dir=_data_dir(args), public_url=endpoint, enabled=True)


def _has_store(args: argparse.Namespace) -> bool:
    """Listing or deleting must not create an empty database where the user mistyped a directory."""
    from union.server.credentials import DB_NAME

    return (_data_dir(args) / DB_NAME).is_file()


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).isoformat()


def run_create(args: argparse.Namespace) -> int:
    from union.server.auth import check_key_name

    check_key_name(args.name)
    auth = _auth(args, args.endpoint)
    try:
        key = auth.create_api_key(args.name, endpoint=args.endpoint, org=args.org)
    finally:
        auth.close()
    print(
        f"Created API key {args.name!r} for {args.endpoint}. It is shown only this once; store it now and "
        "give it to clients as UNION_API_KEY:",
        file=sys.stderr,
    )
    print(key)
    return 0


def run_get(args: argparse.Namespace) -> int:
    from union.cli.table import render

    if not _has_store(args):
        if args.json:
            print("[]")
        else:
            print(f"no API keys: {_data_dir(args)} holds no server data yet", file=sys.stderr)
        return 0
    auth = _auth(args)
    try:
        keys = auth.list_api_keys(include_revoked=args.all)
    finally:
        auth.close()
    if args.json:
        rows = [
            {
                "name": k.name,
                "client_id": k.client_id,
                "created_at": _iso(k.created_at),
                "revoked_at": _iso(k.revoked_at),
            }
            for k in keys
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not keys:
        print("no API keys; create one with `union create api-key --name NAME`", file=sys.stderr)
        return 0
    headers = ["NAME", "CLIENT ID", "CREATED"] + (["DELETED"] if args.all else [])
    table = [
        [k.name, k.client_id, _when(k.created_at)] + ([_when(k.revoked_at)] if args.all else []) for k in keys
    ]
    print(render(headers, table))
    return 0


def run_delete(args: argparse.Namespace) -> int:
    if not _has_store(args):
        from union.errors import NotFoundError

        raise NotFoundError(
            f"no API key named {args.name!r}: {_data_dir(args)} holds no server data; pass the server's "
            "--data-dir"
        )
    auth = _auth(args)
    try:
        key = auth.revoke_api_key(args.name)
    finally:
        auth.close()
    print(f"Deleted API key {key.name!r}; tokens issued for it are refused from now on.")
    return 0
