"""The CLI's progress bar: drawn on a terminal, silent otherwise."""

from __future__ import annotations

import io

from union.cli.progress_bar import ProgressBar
from union.storage.progress import UploadProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_draws_phases_counts_and_sizes_on_a_terminal():
    out = Terminal()
    bar = ProgressBar(stream=out, width=10, interval=0)
    bar(UploadProgress("uploading", 1, 4, 512 * 1024, 2 * 1024 * 1024))
    bar(UploadProgress("done", 4, 4, 2 * 1024 * 1024, 2 * 1024 * 1024, files_skipped=3))
    text = out.getvalue()
    assert "uploading [##--------] 1/4 files, 512.0 KiB/2.0 MiB" in text
    assert "done      [##########] 4/4 files, 2.0 MiB/2.0 MiB, 3 unchanged" in text
    assert text.endswith("\n")


def test_silent_when_not_a_terminal():
    out = io.StringIO()
    ProgressBar(stream=out, interval=0)(UploadProgress("done", 1, 1, 1, 1))
    assert out.getvalue() == ""
