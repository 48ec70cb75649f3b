"""``LazyEntity``: a handle that fetches its entity on first use, so ``Task.get`` costs no round trip."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class LazyEntity(Generic[T]):
    """Stands for an entity (a ``Task``) that is fetched the first time an attribute is read.

    ``fetch()`` returns the entity itself; attribute access is forwarded to it. A fetch that fails (say,
    the task does not exist) raises then, and is tried again on the next use.
    """

    def __init__(self, name: str, getter: Callable[[], T], *, description: str | None = None) -> None:
        self._name = name
        self._getter = getter
        self._description = description or name
        self._entity: T | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The name, known without fetching."""
        return self._name

    @property
    def fetched(self) -> bool:
        return self._entity is not None

    def fetch(self) -> T:
        """The entity, fetched now if it was not already."""
        if self._entity is None:
            with self._lock:
                if self._entity is None:
                    self._entity = self._getter()
        return self._entity

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__") or item in ("_name", "_getter", "_description", "_entity", "_lock"):
            raise AttributeError(item)
        return getattr(self.fetch(), item)

    def __repr__(self) -> str:
        if self._entity is not None:
            return f"LazyEntity({self._entity!r})"
        return f"LazyEntity({self._description}, not fetched yet)"
