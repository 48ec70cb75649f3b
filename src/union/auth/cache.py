"""Where tokens live between processes: the OS keyring when a usable one exists, else a private file.

``keyring`` is optional (``pip install 'union[keyring]'``) and imported only here, when a cache is first
needed. A keyring whose backend is the "fail" or "null" one (no desktop secret service, as on most
servers and CI machines), or that raises, counts as unusable; tokens then go to
``<cache dir>/auth/<key>.json``, created with mode 0600 in a 0700 directory. Setting
``PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring`` forces the file cache.

A confidential client's tokens are keyed by a fingerprint of its secret too (:func:`credential_fingerprint`),
so a rotated or mistyped secret never finds the tokens a good one obtained: it goes to the token endpoint,
which refuses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
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


FINGERPRINT_KEY_FILE = ".fingerprint-key"
FINGERPRINT_KEY_ENTRY = "fingerprint-key"
_fingerprint_keys: dict[Path, bytes] = {}
_fingerprint_lock = threading.Lock()


def credential_fingerprint(secret: str, cache: object | None) -> str | None:
    """A keyed hash (HMAC-SHA256) of a credential, for cache keys: never the secret, nor a plain hash of it.

    The key is 32 random bytes kept where ``cache`` keeps tokens (its ``fingerprint_key()``: the keyring,
    or ``<cache dir>/auth/.fingerprint-key`` with mode 0600; the file for caches without one), so a cache
    key seen elsewhere (a keyring listing, a file name) cannot be used to test guesses of the secret.
    None when no key can be had: the tokens are then not cached between processes, rather than cached
    under a key a wrong secret would also find.
    """
    source = getattr(cache, "fingerprint_key", None)
    key = source() if callable(source) else file_cache().fingerprint_key()
    if not isinstance(key, bytes):
        return None
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def _fingerprint_key(path: Path) -> bytes | None:
    with _fingerprint_lock:
        if path not in _fingerprint_keys:
            key = _read_or_make_key(path)
            if key is None:
                return None
            _fingerprint_keys[path] = key
        return _fingerprint_keys[path]


def _read_or_make_key(path: Path) -> bytes | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:  # first use: write the key, then read it back below like everyone else
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
        st = path.stat()
        if st.st_mode & 0o077 or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            log.warning("not caching tokens: %s is readable by others or not ours", path)
            return None
        key = path.read_bytes()
    except OSError as exc:
        log.warning("not caching tokens: the key file %s is unusable (%s)", path, type(exc).__name__)
        return None
    if len(key) < 32:  # a concurrent first use is still writing it, or it was truncated
        log.warning("not caching tokens: the key file %s is incomplete", path)
        return None
    return key


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
        self._key = secrets.token_bytes(32)

    def fingerprint_key(self) -> bytes:
        """This cache's key for credential fingerprints (credential_fingerprint)."""
        return self._key

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

    def fingerprint_key(self) -> bytes | None:
        """This cache's key for credential fingerprints (credential_fingerprint): a private file beside
        the tokens, made on first use."""
        return _fingerprint_key(self.directory / FINGERPRINT_KEY_FILE)

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
        self._key: bytes | None = None

    def __repr__(self) -> str:
        return f"<KeyringTokenCache {type(self.backend).__name__}>"

    def fingerprint_key(self) -> bytes | None:
        """This cache's key for credential fingerprints (credential_fingerprint): a keyring entry, made on
        first use; the fallback's when the keyring fails."""
        if self._key is not None:
            return self._key
        try:
            raw = self.backend.get_password(KEYRING_SERVICE, FINGERPRINT_KEY_ENTRY)
            if not raw:
                self.backend.set_password(KEYRING_SERVICE, FINGERPRINT_KEY_ENTRY, secrets.token_hex(32))
                raw = self.backend.get_password(KEYRING_SERVICE, FINGERPRINT_KEY_ENTRY)
            key = bytes.fromhex(raw)
        except Exception as exc:
            log.debug(
                "keyring unusable for the fingerprint key (%s): using the file cache's", type(exc).__name__
            )
            return self.fallback.fingerprint_key() if isinstance(self.fallback, FileTokenCache) else None
        if len(key) < 32:
            return None
        self._key = key
        return key

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
