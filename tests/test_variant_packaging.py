"""The four variant plugins as distributions: one module each with its tests and README, registered in the
``union`` entry-point group, and installed from a fresh clone of this repository through the core's
extras (``[flyte]``, ``[byoc]``, ``[byok]``, ``[serverless]``, ``[all]``), never by name from PyPI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("flyte", "byoc", "byok", "serverless")


@pytest.mark.parametrize("name", VARIANTS)
def test_each_plugin_is_one_module_with_tests_and_a_readme_in_the_union_group(name):
    folder = ROOT / "plugins" / name
    assert (folder / f"union_{name}.py").is_file()
    assert f"`pip install -e '.[{name}]'`" in (folder / "README.md").read_text()
    assert (folder / "tests" / f"test_{name}.py").is_file()
    project = (folder / "pyproject.toml").read_text()
    assert f'name = "union-{name}"' in project
    assert f'[project.entry-points.union]\n{name} = "union_{name}"' in project
    assert f'only-include = ["union_{name}.py"]' in project  # the wheel holds that one module
    # No dependency by name: "union" on PyPI is an unrelated SDK.
    assert "dependencies = []" in project


def _fresh_clone(tmp_path: Path) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and this repository's history")
    clone = tmp_path / "clone"
    done = subprocess.run(
        ["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return clone


def _sources(python: Path) -> dict[str, str]:
    """Each installed union distribution of ``python``'s environment and the URL it was installed from."""
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        "for d in m.distributions():\n"
        "    n = d.metadata['Name'].lower()\n"
        "    if n == 'union' or n.startswith('union-'):\n"
        "        u = d.read_text('direct_url.json')\n"
        "        out[n] = json.loads(u)['url'] if u else 'index'\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, str] = json.loads(done.stdout)
    return result


def _expected(clone: Path, names: tuple[str, ...]) -> dict[str, str]:
    return {
        "union": clone.as_uri(),
        **{f"union-{name}": (clone / "plugins" / name).as_uri() for name in names},
    }


def _install_from_clone(tmp_path: Path, make_venv: list[str], install: list[str], extra: str) -> None:
    """In a fresh clone: make a venv (``make_venv`` + its path), run ``install`` + ``-e <clone>[extra]``
    with that venv's interpreter in place of ``{python}``, and check where every union distribution
    came from."""
    clone = _fresh_clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    venv = tmp_path / "venv"
    made = subprocess.run([*make_venv, str(venv)], capture_output=True, text=True, env=env)
    if made.returncode != 0:
        pytest.skip(f"cannot make a venv here: {made.stderr[-300:]}")
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    command = [str(python) if arg == "{python}" else arg for arg in install]
    done = subprocess.run(
        [*command, "-e", f"{clone}[{extra}]"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert _sources(python) == _expected(clone, VARIANTS if extra == "all" else (extra,))


@pytest.mark.slow
def test_a_fresh_clone_installs_all_with_uv_from_the_repository(tmp_path):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    make = [uv, "venv", "-q", "--python", sys.executable]
    _install_from_clone(tmp_path, make, [uv, "pip", "install", "--python", "{python}"], "all")


@pytest.mark.slow
def test_a_fresh_clone_installs_one_extra_with_pip_from_the_repository(tmp_path):
    install = ["{python}", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _install_from_clone(tmp_path, [sys.executable, "-m", "venv"], install, "byoc")


@pytest.mark.parametrize("name", VARIANTS)
def test_each_variant_has_a_docs_page_on_set_up_config_auth_and_data(name):
    page = (ROOT / "docs" / "variants" / f"{name}.md").read_text()
    assert page.startswith(f"# Variant: {name} ")
    assert f"`pip install -e '.[{name}]'` from this repository" in page
    for section in ("**Set-up.**", "**Config file.**", "**Auth.**", "**Where data goes.**"):
        assert section in page, (name, section)
    assert f"variants/{name}.md" in (ROOT / "README.md").read_text()
