"""A throwaway moto S3 server on a free local port, with dummy credentials (never real ones)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._harness import env

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _executable() -> str:
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    if not found:
        raise RuntimeError("moto_server not found: install the dev extra (pip install 'moto[server]')")
    return found


@contextmanager
def moto_s3(bucket: str, log: Path) -> Iterator[dict[str, Any]]:
    """Start moto, create ``bucket``, and yield s3fs storage options pointing at it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with env(**DUMMY_ENV), open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [_executable(), "-H", "127.0.0.1", "-p", str(port)], stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(url, timeout=1).close()
                    break
                except (urllib.error.URLError, ConnectionError, OSError):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"moto_server did not start; see {log}") from None
                    time.sleep(0.1)
            options: dict[str, Any] = {
                "key": "testing",
                "secret": "testing",
                "endpoint_url": url,  # region comes from AWS_DEFAULT_REGION (us-east-1)
            }
            import s3fs

            s3fs.S3FileSystem(**options).mkdir(bucket)
            yield options
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
