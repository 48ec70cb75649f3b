"""A local cache of file MD5s keyed by (path, size, mtime, inode), so unchanged files are never re-read.

SQLite in WAL mode, so several processes can share it. It is only a cache: a damaged database is
replaced, never trusted.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    md5 BLOB NOT NULL
) WITHOUT ROWID
"""


class FileKey(NamedTuple):
    """What must be unchanged for a cached hash to stay valid."""

    path: str
    size: int
    mtime_ns: int
    inode: int


class HashCache:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._lock = threading.Lock()
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection | None:
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.db_path), timeout=30, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            conn.execute("SELECT count(*) FROM hashes WHERE path = ''").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            log.warning("hash cache %s is damaged (%s); starting a new one", self.db_path, exc)
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.db_path) + suffix).unlink(missing_ok=True)
            try:
                conn = sqlite3.connect(
                    str(self.db_path), timeout=30, check_same_thread=False, isolation_level=None
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                return conn
            except sqlite3.DatabaseError:
                return None
        except OSError as exc:
            log.warning("hash cache %s unavailable (%s); hashing without it", self.db_path, exc)
            return None

    def get(self, key: FileKey) -> bytes | None:
        if self._conn is None:
            return None
        with self._lock:
            row = self._conn.execute(
                "SELECT md5 FROM hashes WHERE path=? AND size=? AND mtime_ns=? AND inode=?", key
            ).fetchone()
        return bytes(row[0]) if row else None

    def under(self, root: str) -> dict[str, tuple[FileKey, bytes]]:
        """Every cached entry whose path lies under ``root``, in one query."""
        if self._conn is None:
            return {}
        prefix = root.rstrip("/") + "/"
        with self._lock:
            rows = self._conn.execute(
                "SELECT path, size, mtime_ns, inode, md5 FROM hashes WHERE path >= ? AND path < ?",
                (prefix, prefix[:-1] + "0"),
            ).fetchall()
        return {r[0]: (FileKey(r[0], r[1], r[2], r[3]), bytes(r[4])) for r in rows}

    def put_many(self, entries: Iterable[tuple[FileKey, bytes]]) -> None:
        if self._conn is None:
            return
        rows = [(*key, md5) for key, md5 in entries]
        if not rows:
            return
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany("INSERT OR REPLACE INTO hashes VALUES (?,?,?,?,?)", rows)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            log.warning("could not update hash cache %s: %s", self.db_path, exc)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_cache: HashCache | None = None
_cache_lock = threading.Lock()


def default_cache() -> HashCache:
    """The per-user cache under ``union.config.paths.cache_dir()``."""
    global _cache
    from union.config import paths

    db_path = paths.cache_dir() / "hashes.sqlite"
    with _cache_lock:
        if _cache is None or _cache.db_path != db_path:
            _cache = HashCache(db_path)
        return _cache
