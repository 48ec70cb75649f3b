"""Where tokens live between processes: the OS keyring when a usable one exists, else a private file.

``keyring`` is optional (``pip install 'union[keyring]'``) and imported only here, when a cache is first
needed. A keyring whose backend is the "fail" or "null" one (no desktop secret service, as on most
servers and CI machines), or that raises, counts as unusable; tokens then go to
``<cache dir>/auth/<key>.json``, created with mode 0600 in a 0700 directory. Setting
``PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring`` forces the file cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

from union.auth.base import Token

log = logging.getLogger("union.auth")

KEYRING_SERVICE = "union"


def cache_key(*parts: str | None) -> str:
    """A stable, filename-safe key for a token: a hash of the endpoint, client and flow."""
    text = "\0".join(part or "" for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


class TokenCache(Protocol):
    """Stores tokens by key. Failures are never fatal: a broken cache behaves as an empty one."""

    def get(self, key: str) -> Token | None: ...

    def put(self, key: str, token: Token) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryTokenCache:
    """Tokens held by this process only."""

    def __init__(self) -> None:
        self._items: dict[str, Token] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<MemoryTokenCache entries={len(self._items)}>"

    def get(self, key: str) -> Token | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, token: Token) -> None:
        with self._lock:
            self._items[key] = token

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class FileTokenCache:
    """One JSON file per key, mode 0600, replaced atomically; files others could read are ignored."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"<FileTokenCache {str(self.directory)!r}>"

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> Token | None:
        path = self.path(key)
        try:
            st = path.stat()
            if st.st_mode & 0o077 or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
                log.warning("ignoring token cache file %s: it is readable by others or not ours", path)
                return None
            return Token.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.debug("token cache file %s unreadable: %s", path, type(exc).__name__)
            return None

    def put(self, key: str, token: Token) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            with contextlib.suppress(OSError):
                self.directory.chmod(0o700)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")  # mode 0600
            try:
                with os.fdopen(fd, "w") as fh:
                    json.dump(token.to_json(), fh)
                os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
                os.replace(tmp, self.path(key))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            log.warning("could not write the token cache in %s: %s", self.directory, type(exc).__name__)

    def delete(self, key: str) -> None:
        with contextlib.suppress(OSError):
            self.path(key).unlink()


class KeyringTokenCache:
    """Tokens in the OS keyring (service ``union``, one entry per key); errors fall back to ``fallback``."""

    def __init__(self, backend: Any, fallback: TokenCache | None = None) -> None:
        self.backend = backend
        self.fallback = fallback

    def __repr__(self) -> str:
        return f"<KeyringTokenCache {type(self.backend).__name__}>"

    def get(self, key: str) -> Token | None:
        try:
            raw = self.backend.get_password(KEYRING_SERVICE, key)
        except Exception as exc:
            log.debug("keyring read failed (%s): using the file cache", type(exc).__name__)
            return self.fallback.get(key) if self.fallback is not None else None
        if raw is None:
            # a token written while the keyring was failing lives in the file
            return self.fallback.get(key) if self.fallback is not None else None
        try:
            return Token.from_json(json.loads(raw))
        except ValueError:
            return None

    def put(self, key: str, token: Token) -> None:
        try:
            self.backend.set_password(KEYRING_SERVICE, key, json.dumps(token.to_json()))
        except Exception as exc:
            log.debug("keyring write failed (%s): using the file cache", type(exc).__name__)
            if self.fallback is not None:
                self.fallback.put(key, token)

    def delete(self, key: str) -> None:
        with contextlib.suppress(Exception):  # keyring raises PasswordDeleteError for a missing entry
            self.backend.delete_password(KEYRING_SERVICE, key)
        if self.fallback is not None:
            self.fallback.delete(key)


def usable_keyring() -> Any | None:
    """The active keyring backend if ``keyring`` is installed and it can really store secrets."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return None
        with contextlib.suppress(ImportError):
            from keyring.backends import null

            if isinstance(backend, null.Keyring):
                return None
        if float(backend.priority) <= 0:
            return None
    except Exception as exc:
        log.debug("keyring unusable: %s", type(exc).__name__)
        return None
    return backend


def file_cache() -> FileTokenCache:
    from union.config import paths

    return FileTokenCache(paths.cache_dir() / "auth")


def default_cache() -> TokenCache:
    """The keyring when usable (falling back to the file on errors), else the file cache."""
    files = file_cache()
    backend = usable_keyring()
    if backend is None:
        return files
    return KeyringTokenCache(backend, fallback=files)
