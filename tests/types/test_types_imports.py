"""flyteidl2/protobuf load only with union.types, and pydantic never because of it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import union


def _run(code: str) -> str:
    # Import the same union as this test does, however it was put on the path.
    src = str(Path(union.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_union_does_not_load_protobuf() -> None:
    out = _run(
        "import sys, union; import union.errors;"
        "print(sorted(m for m in sys.modules if m.startswith(('flyteidl2', 'google.protobuf', 'pydantic'))))"
    )
    assert out.strip() == "[]"


def test_import_union_types_does_not_load_pydantic() -> None:
    out = _run(
        "import sys, union.types as t;"
        "t.literal_type_for(int); t.to_literal([1], list[int]);"
        "print('flyteidl2' in sys.modules, 'pydantic' in sys.modules)"
    )
    assert out.split() == ["True", "False"]
