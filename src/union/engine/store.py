"""The embedded engine's state: one SQLite file shared by every process that submits, polls or runs.

WAL lets readers poll while a worker writes; every state change is a ``BEGIN IMMEDIATE`` transaction
whose UPDATE names the phase it expects (compare-and-set), so two processes never both move a run.
flyteidl2 messages (task specs, inputs, run specs) are kept as serialized bytes; what is queried or
written by the light-weight worker supervisor (phases, times, pids, errors) is kept in plain columns, so
this module never imports protobuf.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from union.errors import EngineStateError

# flyteidl2.common.ActionPhase values (checked against the enum in the tests).
QUEUED = 1
INITIALIZING = 3
RUNNING = 4
SUCCEEDED = 5
FAILED = 6
ABORTED = 7
TIMED_OUT = 8
RECOVERED = 10
TERMINAL = frozenset({SUCCEEDED, FAILED, ABORTED, TIMED_OUT, RECOVERED})
ACTIVE = (INITIALIZING, RUNNING)

# flyteidl2.workflow.ErrorInfo.Kind values.
KIND_USER = 1
KIND_SYSTEM = 2

SCHEMA_VERSION = 1
# What a listing shows, in this order: no blobs, so ten thousand runs are read in milliseconds.
LIST_FIELDS = (
    "id",
    "org",
    "project",
    "domain",
    "name",
    "task_org",
    "task_project",
    "task_domain",
    "task_name",
    "task_version",
    "task_type",
    "short_name",
    "phase",
    "started_at",
    "ended_at",
    "attempts",
)
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    org TEXT NOT NULL, project TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL,
    version TEXT NOT NULL,
    spec BLOB NOT NULL,
    deployed_at REAL NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (org, project, domain, name, version)
);
CREATE INDEX IF NOT EXISTS tasks_by_seq ON tasks (org, project, domain, seq);
CREATE INDEX IF NOT EXISTS tasks_latest ON tasks (org, project, domain, name, seq);

CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org TEXT NOT NULL, project TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL,
    task_org TEXT NOT NULL, task_project TEXT NOT NULL, task_domain TEXT NOT NULL,
    task_name TEXT NOT NULL, task_version TEXT NOT NULL,
    task_type TEXT NOT NULL,
    short_name TEXT NOT NULL,
    task_spec BLOB NOT NULL,
    inputs BLOB NOT NULL,
    run_spec BLOB NOT NULL,
    settings TEXT NOT NULL,
    retries INTEGER NOT NULL DEFAULT 0,
    timeout REAL,
    phase INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker_pid INTEGER,
    worker_start TEXT,
    launched_at REAL,
    abort_requested INTEGER NOT NULL DEFAULT 0,
    abort_reason TEXT,
    error_kind INTEGER,
    error_code TEXT,
    error_message TEXT,
    outputs_uri TEXT,
    UNIQUE (org, project, domain, name)
);
CREATE INDEX IF NOT EXISTS runs_by_phase ON runs (phase, id);
CREATE INDEX IF NOT EXISTS runs_by_project ON runs (org, project, domain, id);
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (task_org, task_project, task_domain, task_name, id);

CREATE TABLE IF NOT EXISTS attempts (
    run_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    phase INTEGER NOT NULL,
    pid INTEGER,
    pid_start TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    stdout_path TEXT NOT NULL,
    stderr_path TEXT NOT NULL,
    error_kind INTEGER,
    error_code TEXT,
    error_message TEXT,
    outputs_uri TEXT,
    PRIMARY KEY (run_id, attempt)
);
"""


@dataclass(frozen=True)
class ErrorRecord:
    """What ``flyteidl2.workflow.ErrorInfo`` carries, without importing it."""

    kind: int
    code: str
    message: str


@dataclass(frozen=True)
class NewRun:
    """Everything ``create_run`` records about a run before any worker sees it."""

    org: str
    project: str
    domain: str
    name: str | None
    task: tuple[str, str, str, str, str]
    task_type: str
    short_name: str
    task_spec: bytes
    inputs: bytes
    run_spec: bytes
    settings: dict[str, Any]
    retries: int
    timeout: float | None


_INHERITED: list[sqlite3.Connection] = []


def default_path() -> Path:
    from union.config import paths

    return paths.data_dir() / "engine.sqlite"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def new_run_name() -> str:
    """Short, unique and sortable by creation: ``r`` + base-36 milliseconds + 3 random characters."""
    suffix = "".join(random.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(3))
    return f"r{_base36(int(time.time() * 1000))}{suffix}"


class Store:
    """One SQLite file; a connection per thread (and per process, re-opened after a fork)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.runs_dir = self.path.parent / f"{self.path.stem}-runs"
        self._local = threading.local()

    # -- connections -------------------------------------------------------------------------------

    def _damaged(self, exc: BaseException) -> EngineStateError:
        return EngineStateError(
            f"{self.path}: the embedded engine's database cannot be used ({exc}). "
            f"Move it aside (for example `mv {self.path} {self.path}.bad`) and the engine starts with an "
            "empty one; the runs and tasks recorded in it are then forgotten."
        )

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite's errors about the file itself into EngineStateError naming the file and the fix."""
        try:
            yield
        except EngineStateError:
            raise
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise EngineStateError(
                    f"{self.path}: the embedded engine's database stayed locked for {BUSY_TIMEOUT_S:.0f}s "
                    f"({text}). Another process holds it: retry, or stop the process that is stuck."
                ) from exc
            if "unable to open" in text or "readonly" in text or "disk" in text:
                raise self._damaged(exc) from exc
            raise
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed", ...
            raise self._damaged(exc) from exc

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # The file may hold storage options (credentials): readable by this user only.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        with self._guard():
            conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        version = conn.execute("PRAGMA user_version").fetchone()[0]
                        if version == 0:
                            # One statement at a time: executescript would commit our transaction.
                            for statement in _SCHEMA.split(";"):
                                if statement.strip():
                                    conn.execute(statement)
                            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                        elif version != SCHEMA_VERSION:
                            raise EngineStateError(
                                f"{self.path}: written by a different version of union (schema "
                                f"{version}, this one uses {SCHEMA_VERSION}). Upgrade union, or move the "
                                "file aside to start with an empty engine."
                            )
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
            except BaseException:
                conn.close()
                raise
        return conn

    def conn(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            inherited = getattr(local, "conn", None)
            if inherited is not None:
                # Never use nor close a connection inherited through fork(): closing it would drop the
                # POSIX locks this process holds on the file through its own connection.
                _INHERITED.append(inherited)
            local.conn = self._connect()
            local.pid = os.getpid()
        conn: sqlite3.Connection = local.conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local = threading.local()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: the write lock is taken up front, so reads inside it are
        current and no other process can move a run between our read and our write."""
        conn = self.conn()
        with self._guard():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._guard():
            return self.conn().execute(sql, params).fetchall()

    def read_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self.read(sql, params)
        return rows[0] if rows else None

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap "anything new?" for pollers."""
        with self._guard():
            value: int = self.conn().execute("PRAGMA data_version").fetchone()[0]
        return value

    # -- tasks -------------------------------------------------------------------------------------

    def deploy_task(self, key: tuple[str, str, str, str, str], spec: bytes) -> bool:
        """Record a task version; False if this exact spec was already there (it then becomes latest).

        Raises ValueError when the version exists with a different spec: versions are immutable.
        """
        with self.write() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks").fetchone()[0]
            row = conn.execute(
                "SELECT spec FROM tasks WHERE org=? AND project=? AND domain=? AND name=? AND version=?", key
            ).fetchone()
            if row is not None:
                if bytes(row["spec"]) != spec:
                    raise ValueError("a different spec is already deployed under this version")
                conn.execute(
                    "UPDATE tasks SET seq=?, deployed_at=? WHERE org=? AND project=? AND domain=? AND name=?"
                    " AND version=?",
                    (seq, time.time(), *key),
                )
                return False
            conn.execute("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*key, spec, time.time(), seq))
            return True

    def get_task(self, org: str, project: str, domain: str, name: str, version: str) -> sqlite3.Row | None:
        """One task version, or the most recently deployed one when ``version`` is empty."""
        if version:
            return self.read_one(
                "SELECT * FROM tasks WHERE org=? AND project=? AND domain=? AND name=? AND version=?",
                (org, project, domain, name, version),
            )
        return self.read_one(
            "SELECT * FROM tasks WHERE org=? AND project=? AND domain=? AND name=? ORDER BY seq DESC LIMIT 1",
            (org, project, domain, name),
        )

    def list_tasks(
        self,
        org: str,
        project: str | None,
        domain: str | None,
        before_seq: int | None,
        limit: int,
        name: str | None = None,
    ) -> list[sqlite3.Row]:
        """The latest version of every task name (or of ``name`` only), most recently deployed first."""
        where: list[str] = ["t.org = ?"]
        params: list[Any] = [org]
        if name:
            where.append("t.name = ?")
            params.append(name)
        if project:
            where.append("t.project = ?")
            params.append(project)
        if domain:
            where.append("t.domain = ?")
            params.append(domain)
        if before_seq is not None:
            where.append("t.seq < ?")
            params.append(before_seq)
        sql = (
            "SELECT t.* FROM tasks t WHERE "
            + " AND ".join(where)
            + " AND t.seq = (SELECT MAX(u.seq) FROM tasks u WHERE u.org=t.org AND u.project=t.project"
            " AND u.domain=t.domain AND u.name=t.name) ORDER BY t.seq DESC LIMIT ?"
        )
        return self.read(sql, (*params, limit))

    # -- runs --------------------------------------------------------------------------------------

    def insert_run(self, run: NewRun) -> sqlite3.Row:
        """Queue a run; a generated name when none is given. ValueError if the name is taken."""
        settings = json.dumps(run.settings, sort_keys=True)
        for _ in range(5):
            name = run.name or new_run_name()
            try:
                with self.write() as conn:
                    cur = conn.execute(
                        "INSERT INTO runs (org, project, domain, name, task_org, task_project, task_domain,"
                        " task_name, task_version, task_type, short_name, task_spec, inputs, run_spec, settings,"
                        " retries, timeout, phase, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            run.org,
                            run.project,
                            run.domain,
                            name,
                            *run.task,
                            run.task_type,
                            run.short_name,
                            run.task_spec,
                            run.inputs,
                            run.run_spec,
                            settings,
                            run.retries,
                            run.timeout,
                            QUEUED,
                            time.time(),
                        ),
                    )
                    row = conn.execute("SELECT * FROM runs WHERE id = ?", (cur.lastrowid,)).fetchone()
                    return row  # type: ignore[no-any-return]
            except sqlite3.IntegrityError:
                if run.name:
                    raise ValueError(f"a run named {name!r} already exists") from None
        raise ValueError("could not generate a unique run name")  # pragma: no cover

    def get_run(self, org: str, project: str, domain: str, name: str) -> sqlite3.Row | None:
        return self.read_one(
            "SELECT * FROM runs WHERE org=? AND project=? AND domain=? AND name=?",
            (org, project, domain, name),
        )

    def run_by_id(self, run_id: int) -> sqlite3.Row | None:
        return self.read_one("SELECT * FROM runs WHERE id = ?", (run_id,))

    def run_version(self, run_id: int) -> tuple[int, int] | None:
        """``(version, phase)``: the change counter a watcher polls."""
        row = self.read_one("SELECT version, phase FROM runs WHERE id = ?", (run_id,))
        return (row[0], row[1]) if row else None

    def list_runs(self, filters: dict[str, Any], before_id: int | None, limit: int) -> list[tuple[Any, ...]]:
        """Runs newest first (by submission), keyset-paged on the id, as LIST_FIELDS tuples;
        ``filters`` are column equalities."""
        allowed = {"org", "project", "domain", "task_org", "task_project", "task_domain", "task_name"}
        allowed |= {"task_version", "phase"}
        where: list[str] = []
        params: list[Any] = []
        for column, value in filters.items():
            if column not in allowed:
                raise KeyError(column)
            where.append(f"{column} = ?")
            params.append(value)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        sql = f"SELECT {', '.join(LIST_FIELDS)} FROM runs" + (
            " WHERE " + " AND ".join(where) if where else ""
        )
        with self._guard():
            cursor = self.conn().cursor()
            cursor.row_factory = None  # plain tuples in LIST_FIELDS order: cheaper than sqlite3.Row
            rows: list[tuple[Any, ...]] = cursor.execute(
                sql + " ORDER BY id DESC LIMIT ?", (*params, limit)
            ).fetchall()
        return rows

    def attempts(self, run_id: int) -> list[sqlite3.Row]:
        return self.read("SELECT * FROM attempts WHERE run_id = ? ORDER BY attempt", (run_id,))

    def active_runs(self) -> list[sqlite3.Row]:
        return self.read(
            "SELECT id, phase, worker_pid, worker_start, launched_at, attempts, abort_requested"
            " FROM runs WHERE phase IN (?, ?)",
            ACTIVE,
        )

    # -- state transitions (each one a compare-and-set on the phase) --------------------------------

    def claim_queued(self, limit: int) -> list[int]:
        """Move the oldest queued runs to INITIALIZING while fewer than ``limit`` are active."""
        with self.write() as conn:
            active = conn.execute("SELECT COUNT(*) FROM runs WHERE phase IN (?, ?)", ACTIVE).fetchone()[0]
            free = limit - active
            if free <= 0:
                return []
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM runs WHERE phase = ? ORDER BY id LIMIT ?", (QUEUED, free)
                ).fetchall()
            ]
            now = time.time()
            for run_id in ids:
                conn.execute(
                    "UPDATE runs SET phase=?, launched_at=?, version=version+1 WHERE id=? AND phase=?",
                    (INITIALIZING, now, run_id, QUEUED),
                )
            return ids

    def set_worker(self, run_id: int, pid: int, start: str | None) -> None:
        """Record the worker a launcher just spawned (before it has had time to record itself)."""
        with self.write() as conn:
            conn.execute(
                "UPDATE runs SET worker_pid=?, worker_start=? WHERE id=? AND phase=? AND worker_pid IS NULL",
                (pid, start or "", run_id, INITIALIZING),
            )

    def start_run(self, run_id: int, pid: int, start: str | None) -> sqlite3.Row | None:
        """The worker takes its run: INITIALIZING -> RUNNING. None if it is not ours to run any more."""
        with self.write() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row["phase"] != INITIALIZING or row["worker_pid"] not in (None, pid):
                return None
            if row["abort_requested"]:
                self._finish(conn, run_id, INITIALIZING, ABORTED, None, None)
                return None
            conn.execute(
                "UPDATE runs SET phase=?, worker_pid=?, worker_start=?, started_at=?, version=version+1"
                " WHERE id=? AND phase=?",
                (RUNNING, pid, start or "", time.time(), run_id, INITIALIZING),
            )
            return conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()  # type: ignore[no-any-return]

    def start_attempt(self, run_id: int, attempt: int, stdout: str, stderr: str) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO attempts (run_id, attempt, phase, started_at, stdout_path, stderr_path)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, attempt, RUNNING, time.time(), stdout, stderr),
            )
            conn.execute(
                "UPDATE runs SET attempts=?, version=version+1 WHERE id=?",
                (attempt, run_id),
            )

    def set_attempt_pid(self, run_id: int, attempt: int, pid: int, start: str | None) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE attempts SET pid=?, pid_start=? WHERE run_id=? AND attempt=?",
                (pid, start or "", run_id, attempt),
            )

    def finish_attempt(
        self, run_id: int, attempt: int, phase: int, error: ErrorRecord | None, outputs_uri: str | None
    ) -> None:
        with self.write() as conn:
            self._finish_attempt(conn, run_id, attempt, phase, error, outputs_uri)
            conn.execute("UPDATE runs SET version=version+1 WHERE id=?", (run_id,))

    @staticmethod
    def _finish_attempt(
        conn: sqlite3.Connection,
        run_id: int,
        attempt: int,
        phase: int,
        error: ErrorRecord | None,
        outputs_uri: str | None,
    ) -> None:
        conn.execute(
            "UPDATE attempts SET phase=?, ended_at=?, error_kind=?, error_code=?, error_message=?,"
            " outputs_uri=? WHERE run_id=? AND attempt=? AND phase=?",
            (
                phase,
                time.time(),
                error.kind if error else None,
                error.code if error else None,
                error.message if error else None,
                outputs_uri,
                run_id,
                attempt,
                RUNNING,
            ),
        )

    @staticmethod
    def _finish(
        conn: sqlite3.Connection,
        run_id: int,
        expect: int,
        phase: int,
        error: ErrorRecord | None,
        outputs_uri: str | None,
        worker_pid: int | None = None,
    ) -> bool:
        sql = (
            "UPDATE runs SET phase=?, ended_at=?, error_kind=?, error_code=?, error_message=?, outputs_uri=?,"
            " version=version+1 WHERE id=? AND phase=?"
        )
        params: list[Any] = [
            phase,
            time.time(),
            error.kind if error else None,
            error.code if error else None,
            error.message if error else None,
            outputs_uri,
            run_id,
            expect,
        ]
        if worker_pid is not None:
            sql += " AND worker_pid=?"
            params.append(worker_pid)
        return conn.execute(sql, params).rowcount == 1

    def finish_run(
        self,
        run_id: int,
        attempt: int,
        phase: int,
        error: ErrorRecord | None,
        outputs_uri: str | None,
        *,
        worker_pid: int,
    ) -> bool:
        """The worker records its run's terminal phase (and its last attempt's) in one transaction."""
        with self.write() as conn:
            if attempt:
                self._finish_attempt(conn, run_id, attempt, phase, error, outputs_uri)
            return self._finish(conn, run_id, RUNNING, phase, error, outputs_uri, worker_pid)

    def request_abort(self, run_id: int, reason: str) -> sqlite3.Row | None:
        """Record the intent to abort; a queued run is aborted on the spot. Returns the run as it was."""
        with self.write() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row["phase"] in TERMINAL:
                return row  # type: ignore[no-any-return]
            conn.execute(
                "UPDATE runs SET abort_requested=1, abort_reason=?, version=version+1 WHERE id=?",
                (reason, run_id),
            )
            if row["phase"] == QUEUED:
                self._finish(conn, run_id, QUEUED, ABORTED, None, None)
            return row  # type: ignore[no-any-return]

    def abort_requested(self, run_id: int) -> bool:
        row = self.read_one("SELECT abort_requested FROM runs WHERE id = ?", (run_id,))
        return bool(row and row[0])

    def fail_lost(self, run_id: int, expect: int, worker_pid: int | None, error: ErrorRecord) -> bool:
        """Mark a run whose worker vanished: FAILED (ABORTED if an abort was asked for)."""
        with self.write() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row["phase"] != expect or row["worker_pid"] != worker_pid:
                return False
            phase = ABORTED if row["abort_requested"] else FAILED
            if row["attempts"]:
                self._finish_attempt(
                    conn, run_id, row["attempts"], phase, None if phase == ABORTED else error, None
                )
            return self._finish(conn, run_id, expect, phase, None if phase == ABORTED else error, None)
