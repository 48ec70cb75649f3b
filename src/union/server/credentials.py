"""The SQLite store behind ``union serve``'s authentication: API keys, issued tokens and device codes.

Only hashes of secrets are kept: a client secret is stored as a salted PBKDF2 hash, tokens and device codes
(random 256-bit values, so a plain SHA-256 is enough) as SHA-256 digests. The ``union`` CLI writes API keys
into the same file while a server runs, so the database is in WAL mode and every process reads it fresh.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from union import errors

DB_NAME = "auth.sqlite3"
_PBKDF2_ITERATIONS = 60_000
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name ON api_keys(name) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS tokens (
    token_hash BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    client_id TEXT,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS tokens_client ON tokens(client_id);
CREATE TABLE IF NOT EXISTS device_codes (
    device_code_hash BLOB PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    interval INTEGER NOT NULL,
    status TEXT NOT NULL,
    approved_by TEXT,
    last_poll REAL
);
"""


def digest(value: str) -> bytes:
    """SHA-256 of a high-entropy token: what is stored and looked up instead of the token itself."""
    return hashlib.sha256(value.encode("utf-8")).digest()


def hash_secret(secret: str, *, salt: bytes | None = None, iterations: int = _PBKDF2_ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``: self-describing so the cost can change later."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    derived = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${derived.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Recompute the hash with the stored salt and cost and compare in constant time."""
    try:
        algorithm, iterations, salt, expected = stored.split("$")
        if algorithm != "pbkdf2_sha256":
            return False
        candidate = hash_secret(secret, salt=bytes.fromhex(salt), iterations=int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(candidate.rsplit("$", 1)[1], expected)


# A hash no secret matches, verified against when the client id is unknown so that an unknown id costs
# as much time as a known one with a wrong secret.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class ApiKey:
    """One API key as listed: never its secret."""

    name: str
    client_id: str
    created_at: float
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class TokenRecord:
    kind: str
    subject: str
    client_id: str | None
    scope: str
    issued_at: float
    expires_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class DeviceCode:
    user_code: str
    client_id: str
    scope: str
    created_at: float
    expires_at: float
    interval: int
    status: str  # pending | approved | denied | used
    approved_by: str | None
    last_poll: float | None


class CredentialStore:
    """Thread-safe access to ``<data_dir>/auth.sqlite3`` (one connection per store, guarded by a lock)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DB_NAME
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Created private before SQLite opens it: it holds password hashes.
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            raise errors.EngineStateError(
                f"cannot open the auth database {self.path}: {exc}; check the --data-dir permissions, or "
                "move the file aside to start with no API keys"
            ) from exc
        self._conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read needs no write lock: other processes (the CLI) may write meanwhile (WAL)."""
        with self._lock:
            yield self._connect()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- API keys --------------------------------------------------------------------------------

    def add_api_key(self, name: str, client_id: str, secret: str, *, now: float) -> ApiKey:
        secret_hash = hash_secret(secret)
        try:
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO api_keys (client_id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)",
                    (client_id, name, secret_hash, now),
                )
        except sqlite3.IntegrityError as exc:
            raise errors.AlreadyExistsError(
                f"an API key named {name!r} already exists; pick another name, or delete it first with "
                f"`union delete api-key {name}`"
            ) from exc
        return ApiKey(name=name, client_id=client_id, created_at=now)

    def api_keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        query = "SELECT name, client_id, created_at, revoked_at FROM api_keys"
        if not include_revoked:
            query += " WHERE revoked_at IS NULL"
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY created_at, name").fetchall()
        return [ApiKey(*row) for row in rows]

    def api_key(self, client_id: str) -> ApiKey | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT name, client_id, created_at, revoked_at FROM api_keys WHERE client_id = ?",
                (client_id,),
            ).fetchone()
        return ApiKey(*row) if row else None

    def check_client(self, client_id: str, secret: str) -> ApiKey | None:
        """The key whose id and secret match (maybe revoked), else None; an unknown id costs the same time."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT name, client_id, created_at, revoked_at, secret_hash FROM api_keys WHERE client_id = ?",
                (client_id,),
            ).fetchone()
        stored = row[4] if row else _DUMMY_HASH
        ok = verify_secret(secret, stored)
        return ApiKey(*row[:4]) if row and ok else None

    def revoke_api_key(self, name: str, *, now: float) -> ApiKey:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT name, client_id, created_at FROM api_keys WHERE name = ? AND revoked_at IS NULL",
                (name,),
            ).fetchone()
            if row is None:
                raise errors.NotFoundError(
                    f"no API key named {name!r}; list the existing ones with `union get api-key`"
                )
            conn.execute("UPDATE api_keys SET revoked_at = ? WHERE client_id = ?", (now, row[1]))
            conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL", (now, row[1])
            )
        return ApiKey(name=row[0], client_id=row[1], created_at=row[2], revoked_at=now)

    # -- tokens ----------------------------------------------------------------------------------

    def add_token(
        self,
        token: str,
        *,
        kind: str,
        subject: str,
        client_id: str | None,
        scope: str,
        now: float,
        expires_at: float,
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO tokens (token_hash, kind, subject, client_id, scope, issued_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (digest(token), kind, subject, client_id, scope, now, expires_at),
            )
            # Expired tokens are useless; dropping them here keeps the table small without a sweeper.
            conn.execute("DELETE FROM tokens WHERE expires_at < ?", (now - 86400,))

    def token(self, token: str, *, kind: str) -> TokenRecord | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT t.kind, t.subject, t.client_id, t.scope, t.issued_at, t.expires_at, "
                "COALESCE(t.revoked_at, k.revoked_at) FROM tokens t "
                "LEFT JOIN api_keys k ON k.client_id = t.client_id WHERE t.token_hash = ? AND t.kind = ?",
                (digest(token), kind),
            ).fetchone()
        return TokenRecord(*row) if row else None

    def revoke_token(self, token: str, *, now: float) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                (now, digest(token)),
            )

    # -- device codes ----------------------------------------------------------------------------

    def add_device_code(
        self,
        device_code: str,
        user_code: str,
        *,
        client_id: str,
        scope: str,
        now: float,
        ttl: float,
        interval: int,
    ) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM device_codes WHERE expires_at < ?", (now - 86400,))
            conn.execute(
                "INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, created_at, expires_at, "
                "interval, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
                (digest(device_code), user_code, client_id, scope, now, now + ttl, interval),
            )

    _DEVICE_COLUMNS = (
        "user_code, client_id, scope, created_at, expires_at, interval, status, approved_by, last_poll"
    )

    def device_by_user_code(self, user_code: str) -> DeviceCode | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {self._DEVICE_COLUMNS} FROM device_codes WHERE user_code = ?", (user_code,)
            ).fetchone()
        return DeviceCode(*row) if row else None

    def set_device_status(
        self, user_code: str, status: str, *, approved_by: str | None, now: float
    ) -> DeviceCode:
        """Approve or deny a pending, unexpired code; raises NotFound / InvalidArgument otherwise."""
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT {self._DEVICE_COLUMNS} FROM device_codes WHERE user_code = ?", (user_code,)
            ).fetchone()
            if row is None:
                raise errors.NotFoundError(
                    f"no device login is waiting with the code {user_code!r}; check the code the device shows"
                )
            code = DeviceCode(*row)
            if code.expires_at <= now:
                raise errors.InvalidArgumentError(
                    f"the device code {user_code!r} has expired; start the login again on the device"
                )
            if code.status != "pending":
                raise errors.InvalidArgumentError(
                    f"the device code {user_code!r} was already {code.status}; start the login again to change it"
                )
            conn.execute(
                "UPDATE device_codes SET status = ?, approved_by = ? WHERE user_code = ?",
                (status, approved_by, user_code),
            )
        return DeviceCode(**{**code.__dict__, "status": status, "approved_by": approved_by})

    def poll_device_code(self, device_code: str, *, now: float) -> tuple[DeviceCode | None, float | None]:
        """The code and the time of the poll before this one; records this poll and marks an approval used."""
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT {self._DEVICE_COLUMNS} FROM device_codes WHERE device_code_hash = ?",
                (digest(device_code),),
            ).fetchone()
            if row is None:
                return None, None
            code = DeviceCode(*row)
            status = "used" if code.status == "approved" and code.expires_at > now else code.status
            conn.execute(
                "UPDATE device_codes SET last_poll = ?, status = ? WHERE device_code_hash = ?",
                (now, status, digest(device_code)),
            )
        return code, code.last_poll
