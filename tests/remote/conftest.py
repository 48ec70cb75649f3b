"""Run/Task/union.run tests import the tasks' bundle and the fake transport (the ``fake`` fixture is shared)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
for folder in (HERE, HERE / "bundle"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
