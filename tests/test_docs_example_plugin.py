"""docs/plugin-authors.md's example plugin: built, installed and run through union.testing's contract
suite the way a third party would, outside this repository's test configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "union-example-plugin"


def _installer() -> list[str] | None:
    """uv when there is one (tox-uv's envs have no pip), else this interpreter's pip."""
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--python", sys.executable]
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    return [sys.executable, "-m", "pip", "install"] if probe.returncode == 0 else None


def test_the_guide_shows_the_example_in_full():
    guide = (ROOT / "docs" / "plugin-authors.md").read_text()
    assert "docs/examples/union-example-plugin" in guide
    module = (EXAMPLE / "union_example.py").read_text()
    for hook in ("union_variants", "union_config_defaults", "union_upload_destination"):
        assert f"def {hook}" in module and hook in guide


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example built into a wheel and installed into a directory of its own (``--target``)."""
    installer = _installer()
    if installer is None:
        pytest.skip("neither uv nor pip is available to build the example plugin")
    site = tmp_path_factory.mktemp("example-site")
    built = subprocess.run(
        [*installer, "--no-deps", "--target", str(site), str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return site


def test_the_example_plugin_builds_and_installs_as_a_distribution(installed_example):
    site = installed_example
    assert (site / "union_example.py").is_file()
    entry_points = list(site.glob("union_example_plugin-*.dist-info/entry_points.txt"))
    assert entry_points and "example = union_example" in entry_points[0].read_text()


def test_the_example_plugin_passes_the_contract_suite(installed_example, tmp_path):
    site = installed_example
    # Run the example's tests from a copy, as their author would: no repository conftest or settings.
    copy = tmp_path / "author"
    shutil.copytree(EXAMPLE / "tests", copy / "tests")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UNION_", "FLYTE", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and " failed" not in result.stdout
    # Every contract test ran (none skipped: the example has endpoints, refuses auth kinds, runs tasks),
    # plus the example's own test.
    from union.testing import VariantContract

    expected = sum(name.startswith("test_") for name in dir(VariantContract)) + 1
    counts = result.stdout.strip().splitlines()[-1]
    assert f"{expected} passed" in counts, counts


def _code_lines(text: str) -> list[str]:
    """Lines of code without comments, indentation or type annotations' signature lines."""
    lines = []
    for raw in text.splitlines():
        line = raw.split("  #", 1)[0].strip()
        if line and not line.startswith(("#", "def ")):
            lines.append(line)
    return lines


def test_the_guides_code_is_the_examples_code():
    """The guide's module snippets are the example's code (signatures aside: the example is typed)."""
    import re

    guide = (ROOT / "docs" / "plugin-authors.md").read_text()
    module = set(_code_lines((EXAMPLE / "union_example.py").read_text()))
    blocks = [b for b in re.findall(r"```python\n(.*?)```", guide, re.S) if "@hookimpl" in b]
    assert len(blocks) >= 2
    for block in blocks:
        for line in _code_lines(block):
            assert line in module, line
