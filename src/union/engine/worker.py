"""The worker process: ``python -m union.engine.worker run DB RUN_ID``.

A worker supervises one run. It records RUNNING with its pid, runs each attempt in a child process
(forked from itself, or ``... worker attempt DB RUN_ID ATTEMPT RESULT`` where there is no fork) in its own
session, whose stdout and stderr go to the attempt's log files,
enforces the task's timeout, retries, turns SIGTERM (an abort) into ABORTED, and records the terminal
phase itself. Keeping the task in a child means a task killed by a signal or the out-of-memory killer
still gets a clear error from its supervisor, and a timeout can stop the task's whole process group.
The supervisor imports neither protobuf nor the task's code (only its forked child does), so it starts in
a few tens of milliseconds and stays small.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any, Union

from union.engine import procs, scheduler
from union.engine.store import (
    ABORTED,
    FAILED,
    KIND_SYSTEM,
    KIND_USER,
    SUCCEEDED,
    TIMED_OUT,
    ErrorRecord,
    Store,
)

KILL_GRACE_S = 2.0
ABORT_POLL_S = 1.0


def _note(path: Path, text: str) -> None:
    """Append an engine message to an attempt's stderr log, where the user will look for it."""
    with contextlib.suppress(OSError), open(path, "a", encoding="utf-8") as f:
        f.write(f"[union engine] {text}\n")


class ForkedTask:
    """A forked attempt process with the part of Popen's interface the supervisor uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode


Child = Union[ForkedTask, "subprocess.Popen[bytes]"]


class Supervisor:
    """One run's worker: runs its attempts as child processes and records how the run ended."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store = store
        self.run_id = run_id
        self.pid = os.getpid()
        self.aborted = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)
        self._last_abort_check = time.monotonic()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag: the wakeup fd interrupts the wait, and the main loop stops the task and records
        # ABORTED outside of any half-done database write.
        self.aborted = True

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        signal.set_wakeup_fd(self._wake_w)
        row = self.store.start_run(self.run_id, self.pid, procs.start_time(self.pid))
        if row is None:
            return 0
        max_attempts = int(row["retries"]) + 1
        timeout = row["timeout"]
        attempt = int(row["attempts"])
        phase, error, outputs = FAILED, None, None
        try:
            while True:
                attempt += 1
                phase, error, outputs = self.attempt(attempt, timeout)
                if phase in (SUCCEEDED, ABORTED) or self.aborted or attempt >= max_attempts:
                    break
                self.store.finish_attempt(self.run_id, attempt, phase, error, None)
        except Exception as exc:  # the engine's own failure: say so rather than leave it to the reaper
            traceback.print_exc()
            message = f"the engine's worker failed: {type(exc).__name__}: {exc}"
            phase, error, outputs = (
                FAILED,
                ErrorRecord(KIND_SYSTEM, "union.engine.WorkerError", message),
                None,
            )
        if self.aborted:
            phase, error, outputs = ABORTED, None, None
        self.store.finish_run(self.run_id, attempt, phase, error, outputs, worker_pid=self.pid)
        return 0

    def attempt(self, attempt: int, timeout: float | None) -> tuple[int, ErrorRecord | None, str | None]:
        folder = self.store.runs_dir / str(self.run_id) / str(attempt)
        work = folder / "work"
        work.mkdir(parents=True, exist_ok=True)
        stdout, stderr, result = folder / "stdout.log", folder / "stderr.log", folder / "result.json"
        with contextlib.suppress(FileNotFoundError):
            result.unlink()
        self.store.start_attempt(self.run_id, attempt, str(stdout), str(stderr))
        if self.aborted:
            return ABORTED, None, None
        child = self.start_task(attempt, work, stdout, stderr, result)
        self.store.set_attempt_pid(self.run_id, attempt, child.pid, procs.start_time(child.pid))
        deadline = time.monotonic() + timeout if timeout else None
        outcome = self.wait(child, deadline)
        if outcome != "exited":
            self.stop(child)
            if outcome == "abort":
                _note(stderr, f"attempt {attempt} aborted; its process was stopped")
                return ABORTED, None, None
            message = f"task exceeded its timeout of {timeout:g}s (attempt {attempt}); its process was killed"
            _note(stderr, message)
            return TIMED_OUT, ErrorRecord(KIND_SYSTEM, "builtins.TimeoutError", message), None
        code = child.poll()
        assert code is not None
        return self.outcome(code, result, stderr, attempt)

    def start_task(self, attempt: int, work: Path, stdout: Path, stderr: Path, result: Path) -> Child:
        """Start the attempt's process. Forked from this (single-threaded, light) supervisor where
        possible, which saves an interpreter start per attempt; a fresh interpreter otherwise."""
        if not hasattr(os, "fork"):
            command = [sys.executable, "-m", "union.engine.worker", "attempt", str(self.store.path)]
            command += [str(self.run_id), str(attempt), str(result)]
            with open(stdout, "ab") as out, open(stderr, "ab") as err:
                return subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=work,
                    start_new_session=True,
                )
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        pid = os.fork()
        if pid:
            return ForkedTask(pid)
        code = 1
        try:  # the child: never return into the supervisor's code
            self._become_task(work, stdout, stderr)
            from union.engine.executor import run_attempt

            code = run_attempt(Store(self.store.path), self.run_id, attempt, result)
        except BaseException:
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)

    def _become_task(self, work: Path, stdout: Path, stderr: Path) -> None:
        """In the forked child: its own session (so a timeout can stop its whole group), default signal
        handling, the attempt's folder as working directory and its log files as stdout and stderr."""
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.close(self._wake_r)
        os.close(self._wake_w)
        os.chdir(work)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        err = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        sys.argv = [sys.argv[0], "attempt"]

    def outcome(
        self, code: int, result: Path, stderr: Path, attempt: int
    ) -> tuple[int, ErrorRecord | None, str | None]:
        report: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            report = json.loads(result.read_text(encoding="utf-8"))
        if code == 0 and report.get("outputs_uri"):
            return SUCCEEDED, None, str(report["outputs_uri"])
        if "error" in report:
            e = report["error"]
            kind = KIND_USER if e.get("kind") == "user" else KIND_SYSTEM
            return FAILED, ErrorRecord(kind, str(e.get("code", "")), str(e.get("message", ""))), None
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            message = (
                f"the task's process was killed by {name} (attempt {attempt}): out of memory, or stopped "
                "by another program"
            )
            _note(stderr, message)
            return FAILED, ErrorRecord(KIND_SYSTEM, "union.engine.TaskKilled", message), None
        message = f"the task's process exited with status {code} without reporting a result (see its stderr)"
        _note(stderr, message)
        return FAILED, ErrorRecord(KIND_SYSTEM, "union.engine.TaskCrashed", message), None

    def wait(self, child: Child, deadline: float | None) -> str:
        """Until the child exits ("exited"), the deadline passes ("timeout") or an abort arrives ("abort")."""
        pidfd: int | None = None
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                pidfd = os.pidfd_open(child.pid)
        try:
            while True:
                if child.poll() is not None:
                    return "exited"
                if self.aborted:
                    return "abort"
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return "timeout"
                pause = ABORT_POLL_S if deadline is None else min(ABORT_POLL_S, deadline - now)
                if pidfd is not None:
                    select.select([pidfd, self._wake_r], [], [], pause)
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 64)
                else:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        child.wait(timeout=min(pause, 0.05))
                if time.monotonic() - self._last_abort_check >= ABORT_POLL_S:
                    self._last_abort_check = time.monotonic()
                    if self.store.abort_requested(self.run_id):
                        self.aborted = True
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def stop(self, child: Child) -> None:
        """SIGTERM the task's process group, SIGKILL it after a grace period. The child is not reaped
        before that, so its pid (the group id) cannot have been reused."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=KILL_GRACE_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 3 and args[0] == "run":
        store = Store(Path(args[1]))
        run_id = int(args[2])
        try:
            return Supervisor(store, run_id).run()
        finally:
            # Drain the queue even when no client is alive any more.
            scheduler.tick(store, scheduler.concurrency_limit())
    if len(args) == 5 and args[0] == "attempt":
        from union.engine.executor import run_attempt

        return run_attempt(Store(Path(args[1])), int(args[2]), int(args[3]), Path(args[4]))
    print(
        "usage: python -m union.engine.worker run DB RUN_ID | attempt DB RUN_ID ATTEMPT RESULT",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
