"""``union upload PATH``: upload a file or a directory and print its digest and URI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("upload", help="upload a file or directory, content-addressed")
    p.add_argument("path", type=Path, help="a file or a directory")
    p.add_argument(
        "--allow-outside-symlinks",
        action="store_true",
        help="follow symlinks that point outside the directory",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from union.cli.progress_bar import ProgressBar
    from union.config import current
    from union.storage.upload import upload_dir, upload_file

    bar = None if args.no_progress else ProgressBar()
    config = current()
    if args.path.is_dir():
        digest, uri = upload_dir(
            args.path, config=config, progress=bar, allow_outside_symlinks=args.allow_outside_symlinks
        )
    else:
        digest, uri = upload_file(args.path, config=config, progress=bar)
    if args.json:
        print(json.dumps({"digest": digest, "uri": uri}))
    else:
        print(f"digest: {digest}\nuri:    {uri}")
    return 0
