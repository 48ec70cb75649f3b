"""Build real (unpacked) distributions with ``union`` entry points, so tests load plugins the way users do."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def install_plugin(
    site: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str, version: str = "1.0"
) -> None:
    """Write module ``name`` and a ``<name>-<version>.dist-info`` declaring it in the ``union`` group."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"{name}-{version}.dist-info"  # the dist-info stem must not contain '-'
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(f"[union]\n{name} = {name}\n")
    monkeypatch.syspath_prepend(str(site))
