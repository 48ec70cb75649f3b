"""CLI tests reuse the remote tests' task bundle and fake transport (the ``fake`` fixture is shared)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REMOTE = Path(__file__).parents[1] / "remote"
for folder in (REMOTE, REMOTE / "bundle"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture
def tasks_file() -> str:
    return str(REMOTE / "bundle" / "rt_tasks.py")
