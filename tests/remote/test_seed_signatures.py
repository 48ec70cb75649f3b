"""union.remote keeps the seed's public signatures (shared/spec/union-remote-0.1.0.md) exactly.

The seed's parameters come first, in order, by the same names; anything added is keyword-only or optional.
"""

from __future__ import annotations

import inspect

import pytest

from union.remote import LazyEntity, Run, Task, upload_dir, upload_file

SEED = {
    (Run, "__init__"): ["run_id", "_outputs"],
    (Run, "cancel"): [],
    (Run, "done"): [],
    (Run, "exception"): [],
    (Run, "get"): ["uri", "name", "project", "domain"],
    (Run, "get_typed_outputs"): ["hints"],
    (Run, "result"): [],
    (Run, "search"): ["limit"],
    (Run, "sync"): [],
    (Run, "wait"): ["timeout", "poll_interval", "sync_nodes"],
    (Task, "__init__"): ["name"],
    (Task, "get"): ["uri", "name", "project", "domain"],
    (Task, "search"): ["limit"],
}


@pytest.mark.parametrize(("owner", "method"), list(SEED), ids=[f"{o.__name__}.{m}" for o, m in SEED])
def test_seed_parameters_come_first_and_extras_are_optional(owner: type, method: str) -> None:
    params = [
        p
        for p in inspect.signature(getattr(owner, method)).parameters.values()
        if p.name not in ("self", "cls")
    ]
    seed = SEED[(owner, method)]
    assert [p.name for p in params[: len(seed)]] == seed
    for p in params[: len(seed)]:
        assert p.kind in (p.POSITIONAL_OR_KEYWORD,), p
    for p in params[len(seed) :]:
        assert p.kind is p.KEYWORD_ONLY or p.default is not p.empty, p


def test_classmethods_and_properties() -> None:
    for name in ("get", "search"):
        assert isinstance(inspect.getattr_static(Run, name), classmethod)
        assert isinstance(inspect.getattr_static(Task, name), classmethod)
    for name in ("error", "finished_at", "is_running", "outputs", "started_at"):
        assert isinstance(inspect.getattr_static(Run, name), property)
    assert [p for p in inspect.signature(upload_file).parameters][:1] == ["fp"]
    assert [p for p in inspect.signature(upload_dir).parameters][:1] == ["dir_path"]
    assert LazyEntity.__class_getitem__  # LazyEntity[Task] is a valid annotation


def test_run_and_task_never_import_the_engine() -> None:
    """They reach a control plane only through the Transport the union_transport hook returns."""
    from pathlib import Path

    import union

    src = Path(union.__file__).parent
    files = [*sorted((src / "remote").glob("*.py")), src / "_run.py", src / "_task.py"]
    offenders = [
        f.name
        for f in files
        if "union.engine" in f.read_text() or "from union import engine" in f.read_text()
    ]
    assert offenders == []
