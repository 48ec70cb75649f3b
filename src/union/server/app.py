"""``union serve`` assembled: the embedded engine, the data proxy and auth behind one HTTP server.

:class:`Server` is what ``union serve`` runs and what tests start in-process::

    with Server(ServeConfig(port=0, data_dir=tmp, auth=False)) as server:
        union.init(endpoint=server.url, insecure=True)

The router sends ``/_data/...`` to the data proxy, the OAuth2 and device endpoints to auth, and
``POST /<package.Service>/<Method>`` to the Connect routes, after :meth:`ServerAuth.authenticate` for every
service but ``AuthMetadataService`` (clients need it to learn how to authenticate). Because there is no
client polling an idle server, a maintenance thread ticks the engine's scheduler (starts queued runs,
notices dead workers) every half second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from union import errors
from union.server.exchange import Request, Response
from union.server.logs import JsonLog

if TYPE_CHECKING:
    from union.server.connect_routes import ConnectRoutes
    from union.server.http import HTTPServer

RUN_SERVICE = "flyteidl2.workflow.RunService"
TASK_SERVICE = "flyteidl2.task.TaskService"
LOGS_SERVICE = "flyteidl2.workflow.RunLogsService"
DATAPROXY_SERVICE = "flyteidl2.dataproxy.DataProxyService"
AUTH_METADATA_SERVICE = "flyteidl2.auth.AuthMetadataService"
IDENTITY_SERVICE = "flyteidl2.auth.IdentityService"
DATA_PREFIX = "/_data/"
MAINTAIN_EVERY_S = 0.5
DEFAULT_MAX_BODY = 64 * 1024 * 1024
DEFAULT_MAX_STREAMS = 256


def default_data_dir() -> Path:
    """Where ``union serve`` keeps its engine, auth database and store unless ``--data-dir`` says
    (``$UNION_DATA_DIR/server``; the ``api-key`` commands use the same default)."""
    from union.config import paths

    return paths.data_dir() / "server"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses: the only hosts a server without auth may bind."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class ServeConfig:
    """How to serve. ``port=0`` picks a free port; ``public_url`` is how clients reach the server (the
    signed URLs and OAuth2 metadata name it), by default ``http://host:port``."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path | None = None
    store: str | None = None
    auth: bool = True
    max_body: int = DEFAULT_MAX_BODY
    max_streams: int = DEFAULT_MAX_STREAMS
    public_url: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    concurrency: int | None = None
    log: bool = True
    log_stream: TextIO | None = None

    def check(self) -> None:
        """Refuse settings that would expose the engine: no auth on a non-loopback address."""
        if not self.auth and not is_loopback(self.host):
            raise errors.ConfigError(
                f"refusing to serve without authentication on {self.host!r}: anyone who can reach it could "
                "run code as you. Bind to 127.0.0.1 (--host 127.0.0.1) or turn auth on (drop --no-auth)."
            )
        if self.max_body < 1024:
            raise errors.ConfigError(f"max_body {self.max_body} is too small: use at least 1024 bytes.")
        if self.max_streams < 1:
            raise errors.ConfigError(f"max_streams {self.max_streams} must be at least 1.")
        if not 0 <= self.port <= 65535:
            raise errors.ConfigError(f"port {self.port} is not a TCP port: use 0-65535 (0: any free port).")


class DataProxyLike(Protocol):
    """What the server needs of :class:`union.server.dataproxy.DataProxy`."""

    def handle(self, request: Request) -> Response: ...


class AuthLike(Protocol):
    """What the server needs of :class:`union.server.auth.ServerAuth`."""

    def authenticate(self, request: Request) -> str: ...

    def handle(self, request: Request) -> Response: ...


class _AuthRPCs:
    """``AuthMetadataService`` and ``IdentityService`` answered from :class:`ServerAuth`."""

    def __init__(self, auth: Any) -> None:
        self._auth = auth

    def get_oauth2_metadata(self, message: Any) -> Any:
        return self._auth.oauth2_metadata()

    def get_public_client_config(self, message: Any) -> Any:
        return self._auth.public_client_config()

    def user_info(self, message: Any, request: Request) -> Any:
        return self._auth.user_info(request)


class _DataProxyEngineRPCs:
    """``DataProxyService.GetActionData`` and ``.TailLogs`` answered by the engine's RunService and
    RunLogsService methods: the dataproxy messages are wire-compatible supersets of those."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def get_action_data(self, message: Any, *, timeout: float | None = None) -> Any:
        from flyteidl2.dataproxy import dataproxy_service_pb2 as dp
        from flyteidl2.workflow import run_service_pb2 as runs

        request = runs.GetActionDataRequest(action_id=message.action_id)
        answer = self._engine.get_action_data(request, timeout=timeout)
        return dp.GetActionDataResponse.FromString(answer.SerializeToString())

    def tail_logs(
        self, message: Any, *, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> Any:
        from flyteidl2.dataproxy import dataproxy_service_pb2 as dp
        from flyteidl2.workflow import run_logs_service_pb2 as logs

        request = logs.TailLogsRequest(action_id=message.action_id, attempt=message.attempt)
        kwargs: dict[str, Any] = {"timeout": timeout}
        from union.server.connect_routes import _accepted_kwargs

        if cancel is not None and "cancel" in _accepted_kwargs(self._engine.tail_logs):
            kwargs["cancel"] = cancel
        for answer in self._engine.tail_logs(request, **kwargs):
            yield dp.TailLogsResponse.FromString(answer.SerializeToString())


class Server:
    """The engine behind the Connect API over HTTP (see the module docstring).

    ``transport``, ``dataproxy`` and ``auth`` default to the embedded engine,
    :class:`~union.server.dataproxy.DataProxy` and :class:`~union.server.auth.ServerAuth` on
    ``config.data_dir``; pass objects to serve something else (tests do).
    """

    def __init__(
        self,
        config: ServeConfig | None = None,
        *,
        transport: Any = None,
        dataproxy: Any = None,
        auth: Any = None,
    ) -> None:
        self.config = config or ServeConfig()
        self.config.check()
        self.data_dir = Path(self.config.data_dir or default_data_dir()).expanduser().resolve()
        self.store = self.config.store or (self.data_dir / "store").as_uri()
        self.log = JsonLog(self.config.log_stream, enabled=self.config.log)
        self._transport = transport
        self._dataproxy = dataproxy
        self._auth = auth
        self._owns_transport = transport is None
        self._http: HTTPServer | None = None
        self._routes: ConnectRoutes | None = None
        self._maintainer: threading.Thread | None = None
        self._stop = threading.Event()
        self.url = ""

    def __repr__(self) -> str:
        return f"Server(url={self.url!r}, data_dir={str(self.data_dir)!r})"

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> str:
        """Bind, build the pieces and serve on a background thread; returns the base URL."""
        from union.server.connect_routes import ConnectRoutes
        from union.server.http import HTTPServer

        self.data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.data_dir, 0o700)
        try:
            self._http = HTTPServer(
                (self.config.host, self.config.port), self.handle, max_body=self.config.max_body, log=self.log
            )
        except OSError as exc:
            raise errors.ConfigError(
                f"cannot listen on {self.config.host}:{self.config.port} ({exc.strerror or exc}): choose "
                "another --port, or stop what is using it."
            ) from None
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self._http.port}"
        public = (self.config.public_url or self.url).rstrip("/")
        try:
            if self._transport is None:
                self._transport = self._engine()
            if self._dataproxy is None:
                self._dataproxy = self._make_dataproxy(public)
            if self._auth is None:
                self._auth = self._make_auth(public)
        except BaseException:
            self._http.server_close()
            raise
        self._routes = ConnectRoutes(
            self._targets(),
            public_services=frozenset({AUTH_METADATA_SERVICE}),
            authenticate=self._authenticate if self._auth is not None else None,
            max_streams=self.config.max_streams,
            closing=self._http.closing,
            log=self.log,
        )
        interrupt = getattr(self._transport, "interrupt", None)
        if interrupt is not None:
            self._http.on_close.append(interrupt)
        self._http.start()
        if hasattr(self._transport, "tick"):
            self._maintainer = threading.Thread(target=self._maintain, name="union-serve-engine", daemon=True)
            self._maintainer.start()
        self.log.write(
            "serving",
            url=self.url,
            public_url=public,
            data_dir=str(self.data_dir),
            auth=self._auth is not None and bool(getattr(self._auth, "enabled", True)),
        )
        return self.url

    def stop(self, grace: float = 10.0) -> None:
        """Graceful: refuse new connections, end open streams (``unavailable``), finish busy requests."""
        self._stop.set()
        if self._http is not None:
            self._http.stop(grace)
        if self._maintainer is not None:
            self._maintainer.join(5)
        if self._owns_transport and self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.close()
        close = getattr(self._auth, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()
        self.log.write("stopped", url=self.url)

    def serve_forever(self) -> None:
        """Block until :meth:`request_stop` or :meth:`stop` is called."""
        while not self._stop.wait(1.0):  # a timed wait, so signal handlers run promptly
            pass

    def request_stop(self) -> None:
        """Make :meth:`serve_forever` return (safe from a signal handler); then call :meth:`stop`."""
        self._stop.set()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def transport(self) -> Any:
        return self._transport

    @property
    def auth(self) -> Any:
        return self._auth

    @property
    def dataproxy(self) -> Any:
        return self._dataproxy

    # -- the pieces --------------------------------------------------------------------------------

    def _engine(self) -> Any:
        from union.config import current
        from union.engine.transport import EmbeddedTransport

        config = dataclasses.replace(
            current(),
            endpoint=None,
            raw_data_prefix=self.store,
            storage_options=dict(self.config.storage_options),
        )
        return EmbeddedTransport(
            config, path=self.data_dir / "engine.sqlite", concurrency=self.config.concurrency
        )

    def _secret(self) -> bytes:
        """The data proxy's signing key, kept in the data dir so signed URLs survive a restart."""
        path = self.data_dir / "signing.key"
        try:
            kept = bytes.fromhex(path.read_text().strip())
            if len(kept) >= 32:
                return kept
        except (FileNotFoundError, ValueError):
            pass  # missing or damaged: a new key (links signed with the old one stop working)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
        return key

    def _make_dataproxy(self, public_url: str) -> Any:
        try:
            from union.server.dataproxy import DataProxy  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            return None
        kwargs: dict[str, Any] = {}
        locate_through = getattr(DataProxy, "locate_through", None)
        if locate_through is not None and hasattr(self._transport, "create_download_link"):
            kwargs["locate"] = locate_through(self._transport)  # code bundles the engine knows of
        return DataProxy(
            store=self.store,
            secret=self._secret(),
            public_url=public_url,
            storage_options=dict(self.config.storage_options) or None,
            **kwargs,
        )

    def _make_auth(self, public_url: str) -> Any:
        try:
            from union.server.auth import ServerAuth  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            if self.config.auth:
                raise errors.ConfigError(
                    "server authentication is not available in this installation: serve on 127.0.0.1 with "
                    "--no-auth."
                ) from None
            return None
        return ServerAuth(data_dir=self.data_dir, public_url=public_url, enabled=self.config.auth)

    def _targets(self) -> dict[str, object | Mapping[str, object]]:
        engine = self._transport
        proxy = self._dataproxy
        adapted = _DataProxyEngineRPCs(engine)
        data_rpcs: dict[str, object] = {"GetActionData": adapted, "TailLogs": adapted}
        for name in ("CreateUploadLocation", "CreateDownloadLink", "UploadInputs"):
            from union.server.connect_routes import snake_case

            data_rpcs[name] = proxy if proxy is not None and hasattr(proxy, snake_case(name)) else engine
        targets: dict[str, object | Mapping[str, object]] = {
            RUN_SERVICE: engine,
            TASK_SERVICE: engine,
            LOGS_SERVICE: engine,
            DATAPROXY_SERVICE: data_rpcs,
        }
        if self._auth is not None:
            rpcs = _AuthRPCs(self._auth)
            targets[AUTH_METADATA_SERVICE] = rpcs
            targets[IDENTITY_SERVICE] = rpcs
        return targets

    def _authenticate(self, request: Request) -> None:
        assert self._auth is not None
        self._auth.authenticate(request)

    def _maintain(self) -> None:
        """Tick the engine: with no client polling, queued runs would otherwise wait for a finishing one."""
        tick = self._transport.tick
        while not self._stop.wait(MAINTAIN_EVERY_S):
            try:
                tick()
            except Exception as exc:
                self.log.write("engine_tick_failed", error=type(exc).__name__, message=str(exc))

    # -- routing -----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route one request (see the module docstring)."""
        path = request.path
        if path.startswith(DATA_PREFIX):
            if self._dataproxy is None or not hasattr(self._dataproxy, "handle"):
                return Response.text(404, "this server has no data proxy\n")
            response: Response = self._dataproxy.handle(request)
            return response
        if self._auth is not None and _auth_path(self._auth, path):
            response = self._auth.handle(request)
            return response
        if path == "/healthz":
            return Response.text(200, "ok\n")
        assert self._routes is not None
        return self._routes(request)


def _auth_path(auth: Any, path: str) -> bool:
    handles = getattr(auth, "handles", None)
    if handles is not None:
        return bool(handles(path))
    return path.startswith(("/oauth2/", "/.well-known/")) or path in ("/device", "/device/")
