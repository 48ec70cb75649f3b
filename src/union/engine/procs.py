"""Process identity: a pid plus its start time, so a recycled pid is never mistaken for our worker.

Workers are recorded as ``(pid, start)``. ``start`` is the kernel's start time of the process (clock ticks
since boot on Linux, read from ``/proc``); where it cannot be read it is ``""`` and only the pid is
checked. A zombie counts as dead: it runs nothing and will never record its own state.
"""

from __future__ import annotations

import contextlib
import os
import signal

# Linux (and anything else with a procfs that has per-process stat files).
_PROCFS = os.path.exists("/proc/self/stat")


def start_time(pid: int) -> str | None:
    """The start time of ``pid`` as an opaque string, ``""`` if unknowable here, None if it is not alive."""
    if _PROCFS:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            return None
        except OSError:
            return ""
        # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if not fields or fields[0] in (b"Z", b"X"):
            return None
        return fields[19].decode() if len(fields) > 19 else ""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""


def is_alive(pid: int | None, start: str | None) -> bool:
    """Whether the process recorded as ``(pid, start)`` is still the same running process."""
    if not pid:
        return False
    now = start_time(pid)
    if now is None:
        return False
    return not start or not now or now == start


def signal_group(pid: int, start: str | None, sig: int) -> bool:
    """Signal the process group led by ``pid`` if ``pid`` is still the process recorded; True if sent."""
    if not is_alive(pid, start):
        return False
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_orphans(pgid: int | None) -> None:
    """SIGKILL what is left of a process group whose leader is gone (its pid is not reused while they live)."""
    if not pgid or start_time(pgid) is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
