"""``union serve``: the embedded engine behind the Connect API over HTTP (see docs/serve.md)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve the local engine over HTTP (Connect API, data proxy, auth)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    p.add_argument("--port", type=int, default=8080, help="TCP port (default: 8080; 0 picks a free one)")
    p.add_argument(
        "--data-dir",
        type=Path,
        help="engine, auth and store state (default: $UNION_DATA_DIR/server)",
    )
    p.add_argument("--store", help="where uploads and outputs go: an fsspec URI (default: <data-dir>/store)")
    p.add_argument(
        "--auth",
        dest="auth",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="require API keys / tokens (default); --no-auth only on a loopback host",
    )
    p.add_argument("--public-url", help="the URL clients use to reach this server, if not http://host:port")
    p.add_argument("--max-body", type=int, default=64 * 1024 * 1024, help="largest request body in bytes")
    p.add_argument("--max-streams", type=int, default=256, help="most server streams open at once")
    p.add_argument(
        "--concurrency",
        type=int,
        help="most runs executing at once (default: $UNION_ENGINE_CONCURRENCY, else the CPU count)",
    )
    p.add_argument("--quiet", action="store_true", help="no request log lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from union.server.app import ServeConfig, Server

    config = ServeConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        store=args.store,
        auth=args.auth,
        max_body=args.max_body,
        max_streams=args.max_streams,
        public_url=args.public_url,
        concurrency=args.concurrency,
        log=not args.quiet,
    )
    server = Server(config)  # refuses --no-auth on a non-loopback host before binding anything

    def stop(signum: int, frame: FrameType | None) -> None:
        print(f"union serve: {signal.Signals(signum).name}, shutting down", file=sys.stderr, flush=True)
        server.request_stop()

    # Before the URL is printed: whoever reads it may signal at once, and must get a graceful stop.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        url = server.start()
    except BaseException:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise
    print(f"union serve: listening on {url}", flush=True)
    print(f"  data dir: {server.data_dir}", flush=True)
    if not config.auth:
        print("  authentication is OFF (loopback only)", flush=True)
    if config.host in ("0.0.0.0", "::", "[::]") and not config.public_url:
        print(
            f"  note: signed URLs and OAuth2 metadata name {url}, which other machines cannot reach: "
            "pass --public-url with the address they use",
            flush=True,
        )
    print(f"  use it with: union.init(endpoint={url!r}, insecure=True)", flush=True)

    try:
        server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
    return 0
