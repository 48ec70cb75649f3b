"""Every hook is prefixed, typed, documented in docs/plugins.md and exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from union.plugins import hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(
    name for name, obj in vars(hookspecs).items() if inspect.isfunction(obj) and hasattr(obj, "union_spec")
)


def test_hooks_exist():
    assert len(HOOKS) >= 3, HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_prefixed_typed_and_has_a_one_line_purpose(name):
    func = getattr(hookspecs, name)
    assert name.startswith("union_")
    assert func.__doc__ and "\n" not in func.__doc__.strip(), "one-line purpose"
    assert "return" in func.__annotations__
    assert all(p in func.__annotations__ for p in inspect.signature(func).parameters)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented(name):
    assert f"## {name}" in (ROOT / "docs" / "plugins.md").read_text(), f"document {name} in docs/plugins.md"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_tested(name):
    this = Path(__file__).name
    texts = [p.read_text() for p in (ROOT / "tests").rglob("test_*.py") if p.name != this]
    assert any(name in text for text in texts), f"no test mentions {name}"
