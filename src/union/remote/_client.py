"""What Run and Task share: the transport for the current configuration, scopes, URIs, phases, times.

Run and Task reach the control plane only through :func:`transport`, which asks the ``union_transport``
hook, so the embedded engine, a Connect client or a test fake are interchangeable.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from union.errors import InvalidURIError

if TYPE_CHECKING:
    from union.config import Config
    from union.transport import Transport

SCHEME = "union"
T = TypeVar("T")

PHASES = (
    "UNSPECIFIED",
    "QUEUED",
    "WAITING_FOR_RESOURCES",
    "INITIALIZING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "ABORTED",
    "TIMED_OUT",
    "PAUSED",
    "RECOVERED",
)
"""flyteidl2 ActionPhase names without the ``ACTION_PHASE_`` prefix, indexed by enum number."""

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT", "RECOVERED"})

_lock = threading.Lock()
_cached: tuple[Config, Transport] | None = None


def transport(config: Config | None = None) -> Transport:
    """The transport for ``config`` (default: the current configuration), reused while it is current."""
    global _cached
    from union.config import current
    from union.transport import transport_for

    cfg = config or current()
    with _lock:
        if _cached is not None and _cached[0] is cfg:
            return _cached[1]
    found = transport_for(cfg)
    with _lock:
        _cached = (cfg, found)
    return found


def reset() -> None:
    """Forget the cached transport (tests; after ``union.init``, a new Config is noticed by itself)."""
    global _cached
    with _lock:
        _cached = None


def is_not_found(exc: BaseException) -> bool:
    """A transport's "no such run/task": a TransportError that is also a LookupError."""
    from union.errors import TransportError

    return isinstance(exc, TransportError) and isinstance(exc, LookupError)


def phase_name(phase: int) -> str:
    return PHASES[phase] if 0 <= phase < len(PHASES) else f"UNKNOWN({phase})"


def timestamp(ts: Any) -> dt.datetime | None:
    """A protobuf Timestamp as an aware UTC datetime, or None when it is unset."""
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return dt.datetime.fromtimestamp(ts.seconds, tz=dt.timezone.utc) + dt.timedelta(
        microseconds=ts.nanos // 1000
    )


def seconds(value: dt.timedelta | float | None, what: str) -> float | None:
    """Seconds from a number or a timedelta (the seed's ``Union[timedelta, int]`` arguments)."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be seconds or a datetime.timedelta, got {type(value).__name__}")
    return float(value)


class Scope(NamedTuple):
    """Where runs and tasks live: an org (may be empty), a project and a domain."""

    org: str
    project: str
    domain: str


def scope(project: str | None = None, domain: str | None = None, org: str | None = None) -> Scope:
    """The scope to use: explicit arguments, else the configuration (whose defaults always set both)."""
    from union.config import current

    cfg = current()
    return Scope(
        org=org if org is not None else (cfg.org or ""),
        project=project or cfg.project or "default",
        domain=domain or cfg.domain or "development",
    )


class EntityURI(NamedTuple):
    """A parsed ``union://<org>/<project>/<domain>/<runs|tasks>/<name>[@<version>]``."""

    scope: Scope
    kind: str
    name: str
    version: str | None = None


def format_uri(kind: str, s: Scope, name: str, version: str | None = None) -> str:
    tail = f"{name}@{version}" if version else name
    return f"{SCHEME}://{s.org}/{s.project}/{s.domain}/{kind}/{tail}"


def parse_uri(uri: str, kind: str) -> EntityURI:
    """Parse a run or task URI; the org may be empty (``union:///project/domain/runs/name``)."""
    forms = f"{SCHEME}://<org>/<project>/<domain>/{kind}/<name>" + ("[@<version>]" if kind == "tasks" else "")
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    segments = parts.path.strip("/").split("/") if parts.path else []
    if parts.scheme != SCHEME or len(segments) != 4 or parts.query or parts.fragment:
        raise InvalidURIError(f"{uri!r} is not a {kind[:-1]} URI; expected {forms}")
    project, domain, found_kind, tail = segments
    if found_kind != kind:
        raise InvalidURIError(f"{uri!r} names {found_kind!r}, not {kind!r}; expected {forms}")
    name, version = tail, None
    if kind == "tasks" and "@" in tail:
        name, version = tail.rsplit("@", 1)
    if not (project and domain and name) or (version is not None and not version):
        raise InvalidURIError(f"{uri!r} has an empty part; expected {forms}")
    return EntityURI(Scope(parts.netloc, project, domain), kind, name, version)


__all__ = [
    "PHASES",
    "TERMINAL",
    "EntityURI",
    "Scope",
    "format_uri",
    "parse_uri",
    "phase_name",
    "reset",
    "scope",
    "seconds",
    "timestamp",
    "transport",
]


def list_request(limit: int, token: str, filters: Sequence[Any] = ()) -> Any:
    """A flyteidl2 ListRequest for one page, newest first."""
    from flyteidl2.common import list_pb2

    return list_pb2.ListRequest(
        limit=limit,
        token=token,
        sort_by=list_pb2.Sort(key="created_at", direction=list_pb2.Sort.DESCENDING),
        filters=list(filters),
    )


def paged(fetch: Callable[[int, str], tuple[Sequence[T], str]], limit: int, page: int) -> Iterator[T]:
    """At most ``limit`` items of a paged List RPC, fetching each page only when it is reached.

    ``fetch(page_size, token)`` returns one page and the token of the next ("" at the end).
    """
    token, left = "", limit
    while left > 0:
        items, token = fetch(min(left, page), token)
        for item in items[:left]:
            yield item
            left -= 1
        if not token or not items:
            return
