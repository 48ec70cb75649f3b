"""What a contract run points at: a :class:`Deployment` description, and ``union serve`` to stand one up."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Deployment:
    """A deployment as its users configure it, and what the contract suite must then observe.

    ``settings`` go to ``union.init`` and ``env`` into the environment (``FLYTE_PLATFORM_URL``...), exactly
    as a user would write them. The rest is what to expect: ``variant`` (the selected variant's name;
    ``"embedded"`` for the default), ``project`` and ``domain``, ``auth_kind`` (the effective
    ``auth_type``; None for no auth), ``transport`` (the class name ``union_transport`` returns),
    ``storage`` (``signed``, ``direct`` or ``local``: how uploads travel) and ``data_root`` (the URI
    prefix uploaded data must land under, read back with ``storage_options``). ``runs`` False skips the
    run/task checks, with ``runs_skip_reason`` saying why.
    """

    variant: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    project: str = "default"
    domain: str = "development"
    auth_kind: str | None = None
    transport: str = "ConnectTransport"
    storage: str = "direct"
    data_root: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    runs: bool = True
    runs_skip_reason: str = ""
    server: RunningServer | None = None

    def read(self, uri: str) -> bytes:
        """The bytes stored at ``uri`` (where the deployment keeps data), read independently of union."""
        import fsspec

        with fsspec.open(uri, "rb", **dict(self.storage_options)) as f:
            data: bytes = f.read()
        return data


@dataclass
class RunningServer:
    """A ``union serve`` started by :func:`serve`: its URL, data directory and store."""

    server: Any
    url: str
    data_dir: Path
    store: str
    auth: bool

    def api_key(self, name: str = "contract", org: str = "") -> str:
        """A fresh API key (base64 of ``endpoint:client_id:client_secret:org``) for this server."""
        if not self.auth:
            raise RuntimeError("this server runs without auth: start it with serve(..., auth=True)")
        key: str = self.server.auth.create_api_key(name, endpoint=self.url, org=org)
        return key

    def client_settings(self, variant: str, **extra: Any) -> dict[str, Any]:
        """The ``union.init`` settings of a client of this server: ``variant``, the server's plain-HTTP
        endpoint and, when auth is on, a fresh API key; ``extra`` adds settings or overrides these."""
        settings: dict[str, Any] = {"variant": variant, "endpoint": self.url, "insecure": True}
        if self.auth:
            settings["api_key"] = self.api_key()
        return {**settings, **extra}


@contextlib.contextmanager
def serve(
    data_dir: str | Path,
    *,
    auth: bool = False,
    store: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[RunningServer]:
    """``union serve`` on 127.0.0.1 (a free port) in this process, stopped on exit.

    ``store`` (an fsspec URI, default ``<data_dir>/store``) is where the server keeps data: signed-URL
    uploads land there and its workers read code bundles from there, so a deployment whose clients write
    straight to a bucket passes that bucket here. The server's engine takes the process configuration
    current at start, so the client configuration a test sets afterwards never leaks into it.
    """
    import union.config
    from union.server.app import ServeConfig, Server

    union.config.reset()
    config = ServeConfig(
        host="127.0.0.1",
        port=0,
        data_dir=Path(data_dir),
        store=store,
        auth=auth,
        storage_options=dict(storage_options or {}),
        log=False,
    )
    server = Server(config)
    url = server.start()
    try:
        union.config.reset()
        yield RunningServer(server=server, url=url, data_dir=server.data_dir, store=server.store, auth=auth)
    finally:
        server.stop(grace=2.0)
        union.config.reset()
