"""Progress reporting for uploads: a plain callable receives snapshots, from any worker thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class UploadProgress:
    """A snapshot: ``phase`` is "hashing", "uploading" or "done"; skipped files count as done."""

    phase: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    files_skipped: int = 0


ProgressCallback = Callable[[UploadProgress], None]


class Tracker:
    """Thread-safe counters that call the user's callback with consistent snapshots."""

    def __init__(
        self, callback: ProgressCallback | None, files_total: int, bytes_total: int, phase: str = "uploading"
    ) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.phase = phase
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.files_done = 0
        self.bytes_done = 0
        self.files_skipped = 0

    @property
    def reports(self) -> bool:
        return self._callback is not None

    def start(self, phase: str, files_total: int, bytes_total: int) -> None:
        with self._lock:
            self.phase, self.files_total, self.bytes_total = phase, files_total, bytes_total
            self.files_done = self.bytes_done = self.files_skipped = 0
        self._emit()

    def add_bytes(self, n: int) -> None:
        if self._callback is None:
            return
        with self._lock:
            self.bytes_done += n
        self._emit()

    def file_done(self, size: int = 0, *, skipped: bool = False, count_bytes: bool = False) -> None:
        with self._lock:
            self.files_done += 1
            if skipped:
                self.files_skipped += 1
            if skipped or count_bytes:
                self.bytes_done += size
        self._emit()

    def all_skipped(self) -> None:
        """Everything was already stored: one update instead of one per file."""
        with self._lock:
            self.files_done = self.files_skipped = self.files_total
            self.bytes_done = self.bytes_total
        self._emit()

    def finish(self) -> None:
        with self._lock:
            self.phase = "done"
        self._emit()

    def _emit(self) -> None:
        if self._callback is None:
            return
        with self._lock:
            snap = UploadProgress(
                self.phase,
                self.files_done,
                self.files_total,
                self.bytes_done,
                self.bytes_total,
                self.files_skipped,
            )
        self._callback(snap)
