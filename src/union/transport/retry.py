"""Deadlines and retry pacing for the Connect client and the signed-URL uploads.

Retries use exponential backoff with full jitter (a uniform delay between 0 and the exponential cap), so
many clients hitting one overloaded server spread out instead of retrying in lockstep. A server's
``Retry-After`` wins over the computed delay. Every wait is bounded by the call's deadline: a retry that
could not start before the deadline is not attempted, and the caller gets the last error at once.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how fast to retry. ``max_attempts`` counts the first try."""

    max_attempts: int = 6
    initial_backoff: float = 0.1
    max_backoff: float = 10.0
    multiplier: float = 2.0
    max_stream_reconnects: int = 20

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """The delay before retry number ``retry`` (0-based): uniform in [0, min(max, initial * mult**retry)]."""
        cap = min(self.max_backoff, self.initial_backoff * self.multiplier ** max(retry, 0))
        return (rng or random).uniform(0.0, cap)


NO_RETRY = RetryPolicy(max_attempts=1, max_stream_reconnects=0)


_SECONDS = re.compile(r"^\d+(\.\d+)?$")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (decimals, which some stores send,
    included) or an HTTP date; None if absent or malformed."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.match(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class Deadline:
    """A point in (monotonic) time a call must finish by; ``None`` timeout means no deadline."""

    __slots__ = ("at", "timeout")

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.at = None if timeout is None else time.monotonic() + max(timeout, 0.0)

    def remaining(self) -> float | None:
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def allows(self, delay: float) -> bool:
        """True when sleeping ``delay`` seconds still leaves time to make an attempt."""
        left = self.remaining()
        return left is None or delay < left

    def bound(self, value: float | None) -> float | None:
        """``value`` (a socket timeout) capped at the time left; None stays None only without a deadline."""
        left = self.remaining()
        if left is None:
            return value
        return left if value is None else min(value, left)
