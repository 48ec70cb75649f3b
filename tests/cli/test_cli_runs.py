"""The run/get/wait/cancel/logs/demo commands against the fake transport."""

from __future__ import annotations

import json

import pytest
from fake_transport import FakeTransport

from union.cli.main import main


def test_run_and_wait(fake: FakeTransport, tasks_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", f"{tasks_file}:add", "--a", "40", "--wait"]) == 0
    out = capsys.readouterr().out
    assert "run r00000 of rt_tasks.add started" in out
    assert "o0: 42" in out


def test_run_without_wait_prints_the_name(
    fake: FakeTransport, tasks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--json", f"{tasks_file}:divide", "--a", "7", "--b", "2"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "r00000" and info["task"] == "rt.divide"


def test_run_parses_values_by_annotation(
    fake: FakeTransport, tasks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "run",
        f"{tasks_file}:echo_all",
        "--i", "1",
        "--f", "2.5",
        "--s", "text",
        "--b", "true",
        "--raw", "bytes!",
        "--when", "2024-01-02T03:04:05+00:00",
        "--span", "90",
        "--maybe", "none",
        "--nothing", "none",
        "--color", "green",
        "--items", "[1, 2]",
        "--mapping", '{"x": 1.5}',
        "--point", '{"x": 1, "y": 2.0, "label": "p"}',
        "--json",
        "--wait",
    ]  # fmt: skip
    assert main(argv) == 0
    outputs = json.loads(capsys.readouterr().out)["outputs"]
    assert outputs["o0"] == 1 and outputs["o2"] == "text" and outputs["o3"] is True
    assert outputs["o5"] == "2024-01-02T03:04:05+00:00" and outputs["o6"] == 90.0
    assert outputs["o7"] is None and outputs["o9"] == "green"
    assert outputs["o10"] == [1, 2] and outputs["o11"] == {"x": 1.5}
    assert outputs["o12"] == {"x": 1, "y": 2.0, "label": "p"}


def test_run_bad_values(fake: FakeTransport, tasks_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", f"{tasks_file}:add", "--a", "x"]) == 1
    assert "--a" in capsys.readouterr().err
    assert main(["run", f"{tasks_file}:nope"]) == 1
    assert "its tasks are" in capsys.readouterr().err
    assert main(["run", "missing.py:add"]) == 1
    assert main(["run", f"{tasks_file}:add", "--a", "1", "--zzz", "2"]) == 1
    assert fake.calls == []


def test_run_failure_exit_code(
    fake: FakeTransport, tasks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", f"{tasks_file}:fail_value", "--message", "nope", "--wait"]) == 1
    assert "builtins.ValueError: nope" in capsys.readouterr().err


def test_get_runs_and_run(fake: FakeTransport, tasks_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    for a in ("1", "2"):
        assert main(["run", f"{tasks_file}:add", "--a", a]) == 0
    capsys.readouterr()
    assert main(["get", "runs"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "TASK", "PHASE", "STARTED", "DURATION"]
    assert table[2].startswith("r00001") and "SUCCEEDED" in table[2]
    assert main(["get", "runs", "--json", "--limit", "1"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["r00001"]
    assert main(["get", "run", "r00000"]) == 0
    out = capsys.readouterr().out
    assert "SUCCEEDED" in out and "o0: 3" in out
    assert main(["get", "run", "r00000", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"] == {"o0": 3}
    assert main(["get", "run", "nope"]) == 1
    assert "no run 'nope'" in capsys.readouterr().err


def test_get_tasks_and_task(fake: FakeTransport, tasks_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", f"{tasks_file}:divide", "--a", "1", "--b", "1"]) == 0
    capsys.readouterr()
    assert main(["get", "tasks"]) == 0
    out = capsys.readouterr().out
    assert "rt.divide" in out and "VERSION" in out
    assert main(["get", "task", "rt.divide", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["inputs"] == {"a": "float", "b": "float"} and info["retries"] == 1 and info["timeout"] == 30
    assert main(["get", "task", "rt.divide"]) == 0
    assert "retries:" in capsys.readouterr().out
    assert main(["get", "task", "nope"]) == 1


def test_wait_cancel_logs(fake: FakeTransport, tasks_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    fake.execute = False
    assert main(["run", f"{tasks_file}:sleepy", "--seconds", "0"]) == 0
    assert main(["wait", "r00000", "--timeout", "0.2"]) == 1
    assert "still QUEUED" in capsys.readouterr().err
    assert main(["cancel", "r00000"]) == 0
    assert "ABORTED" in capsys.readouterr().out
    assert main(["cancel", "r00000"]) == 0
    assert "already finished" in capsys.readouterr().out
    assert main(["wait", "r00000"]) == 1
    fake.runs["r00000"].logs = ["hello", "world"]
    assert main(["logs", "r00000"]) == 0
    assert capsys.readouterr().out.splitlines() == ["hello", "world"]
    assert main(["logs", "nope"]) == 1


def test_demo(fake: FakeTransport, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--name", "tester"]) == 0
    out = capsys.readouterr().out
    assert "Hello, tester!" in out and "[2, 3, 5, 7, 11" in out
