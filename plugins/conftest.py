"""Shared by every plugin's tests in this repository: the core suite's isolation and object-store server
fixtures (moto S3, Azurite, the GCS emulator), from tests/conftest.py and tests/servers.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

_spec = importlib.util.spec_from_file_location("union_core_conftest", TESTS / "conftest.py")
assert _spec is not None and _spec.loader is not None
_core = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_core)

isolated_user = _core.isolated_user
moto_s3 = _core.moto_s3
azurite = _core.azurite
fake_gcs = _core.fake_gcs


def _installed(distribution: str) -> bool:
    import importlib.metadata

    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


# A plain `pytest` in a dev install without the plugins runs the core's tests only; tox installs all four
# (extras flyte, byoc, byok, serverless), and tests/test_variants.py fails there if one is missing.
collect_ignore_glob = [
    f"{name}/*" for name in ("flyte", "byoc", "byok", "serverless") if not _installed(f"union-{name}")
]
