"""The sample task ``union demo`` deploys and runs (its own code bundle: this folder, no package parents)."""

from __future__ import annotations

import dataclasses
import os
import platform

import union


@dataclasses.dataclass
class Report:
    greeting: str
    primes: list[int]
    worker_pid: int
    python: str


@union.task(retries=0, timeout=60)
def hello(name: str = "world", limit: int = 30) -> Report:
    """Greets, finds the primes below ``limit``, and says which process did the work."""
    print(f"hello from worker process {os.getpid()}", flush=True)
    primes = [n for n in range(2, limit) if all(n % d for d in range(2, int(n**0.5) + 1))]
    return Report(
        greeting=f"Hello, {name}! This ran as a union task.",
        primes=primes,
        worker_pid=os.getpid(),
        python=platform.python_version(),
    )
