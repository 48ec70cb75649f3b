"""The commands end to end on the embedded engine (the default transport on a fresh machine)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from union.cli.main import main


def test_demo_prints_a_useful_result(engine: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    captured = capsys.readouterr()
    assert "embedded local control plane" in captured.out
    assert "greeting: Hello, world! This ran as a union task." in captured.out
    assert "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]" in captured.out
    assert "SUCCEEDED" in captured.err
    name = captured.out.split("run ", 1)[1].split()[0]
    assert main(["logs", name]) == 0
    assert "hello from worker process" in capsys.readouterr().out


def test_run_get_wait_cancel(engine: Any, tasks_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", f"{tasks_file}:add", "--a", "1", "--b", "2", "--wait"]) == 0
    assert "o0: 3" in capsys.readouterr().out
    assert main(["run", "--json", f"{tasks_file}:sleepy", "--seconds", "60"]) == 0
    slow = json.loads(capsys.readouterr().out)["name"]
    assert main(["get", "runs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == slow and listed[1]["task"] == "rt_tasks.add"
    assert main(["wait", slow, "--timeout", "0.5"]) == 1
    assert main(["cancel", slow]) == 0
    assert main(["wait", slow]) == 1
    assert "ABORTED" in capsys.readouterr().err
    assert main(["get", "task", "rt_tasks.sleepy", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["inputs"] == {"seconds": "float"}
    assert main(["get", "task", "rt_tasks.add", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["defaults"] == {"b": 2}
    assert main(["get", "task", "rt_tasks.add"]) == 0
    out = capsys.readouterr().out
    assert "  a: int\n" in out and "  b: int = 2\n" in out
    assert main(["get", "tasks"]) == 0
    assert "rt_tasks.sleepy" in capsys.readouterr().out
    assert main(["get", "run", "nope"]) == 1


def test_cancel_from_another_process(engine: Any, tasks_file: str) -> None:
    import os
    import subprocess
    import sys

    import rt_tasks

    import union

    run = union.run(rt_tasks.sleepy, seconds=60)
    done = subprocess.run(
        [sys.executable, "-m", "union.cli.main", "cancel", run.name],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run.wait(timeout=60)
    assert run.phase == "ABORTED"


def test_ctrl_c_stops_waiting_and_leaves_the_run_running(engine: Any) -> None:
    import os
    import signal
    import subprocess
    import sys

    import rt_tasks

    import union

    run = union.run(rt_tasks.sleepy, seconds=60)
    waiter = subprocess.Popen(
        [sys.executable, "-m", "union.cli.main", "wait", run.name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert waiter.stderr is not None
        first = waiter.stderr.readline()  # the first phase line: the waiter is following the run now
        assert first.split()[-1] in ("QUEUED", "INITIALIZING", "RUNNING"), first
        waiter.send_signal(signal.SIGINT)
        _, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 130, err
    assert "keeps running" in err
    assert not run.done()
    run.cancel()
