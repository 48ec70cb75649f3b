"""A terminal progress bar fed by upload progress snapshots; quiet when stderr is not a terminal."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from union.storage.progress import UploadProgress


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class ProgressBar:
    def __init__(self, stream: TextIO = sys.stderr, width: int = 30, interval: float = 0.1) -> None:
        self.stream = stream
        self.width = width
        self.interval = interval
        self.enabled = stream.isatty()
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, p: UploadProgress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if p.phase != "done" and now - self._last < self.interval:
                return
            self._last = now
            frac = p.bytes_done / p.bytes_total if p.bytes_total else (1.0 if p.phase == "done" else 0.0)
            filled = int(self.width * min(frac, 1.0))
            bar = "#" * filled + "-" * (self.width - filled)
            skipped = f", {p.files_skipped} unchanged" if p.files_skipped else ""
            self.stream.write(
                f"\r{p.phase:<9} [{bar}] {p.files_done}/{p.files_total} files, "
                f"{_size(p.bytes_done)}/{_size(p.bytes_total)}{skipped}\033[K"
            )
            if p.phase == "done":
                self.stream.write("\n")
            self.stream.flush()
