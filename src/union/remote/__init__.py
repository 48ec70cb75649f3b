"""Remote entities that are accessible from the Union server once deployed or created.

Heavy modules (fsspec backends, SQLite, protobuf) load on first use, so importing this is cheap.
"""

from __future__ import annotations

from union.remote._lazy import LazyEntity
from union.remote._run import Run, RunError
from union.remote._task import Task
from union.remote._upload import upload_dir, upload_file

__all__ = ["LazyEntity", "Run", "RunError", "Task", "upload_dir", "upload_file"]
