"""``Run.search(limit=10000)`` over an embedded engine holding more runs than that.

Populating: two real runs (the warm-up) go through ``union.run`` and a worker; the rest are inserted
with the engine's own store layer (``Store.insert_run``, one transaction each, generated names, the real
run's task spec, inputs and run spec), then marked SUCCEEDED in one UPDATE. Starting 10,000 worker
processes would take over an hour on this machine and only the listing is measured here.

Measured: ``list(Run.search(limit=N))`` in a process whose transport is already open (pages of 1000,
each a ``ListRuns`` call answered from SQLite, turned into flyteidl2 messages and then ``Run`` objects).
Baseline: the same rows (the listing's columns, newest first) read with one raw ``SELECT`` through
``sqlite3`` on an open connection. Order alternates; both read a warm page cache.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import time
from typing import TYPE_CHECKING, Any

from benchmarks._harness import Result, Target, alternate, timed
from benchmarks.run_common import Engine, isolated_engine

if TYPE_CHECKING:
    from union.engine.store import Store

NAME = "run_search"


def populate(store: Store, row: sqlite3.Row, count: int) -> float:
    """Insert ``count`` terminal runs shaped like the run ``row``; returns the seconds it took."""
    from union.engine.store import QUEUED, SUCCEEDED, NewRun

    new = NewRun(
        org=row["org"],
        project=row["project"],
        domain=row["domain"],
        name=None,
        task=(
            row["task_org"],
            row["task_project"],
            row["task_domain"],
            row["task_name"],
            row["task_version"],
        ),
        task_type=row["task_type"],
        short_name=row["short_name"],
        task_spec=bytes(row["task_spec"]),
        inputs=bytes(row["inputs"]),
        run_spec=bytes(row["run_spec"]),
        settings=json.loads(row["settings"]),
        retries=0,
        timeout=None,
    )
    start = time.perf_counter()
    for _ in range(count):
        store.insert_run(new)
    # Terminal at once, so no tick of the scheduler ever starts a worker for them.
    with store.write() as conn:
        conn.execute(
            "UPDATE runs SET phase=?, started_at=created_at, ended_at=created_at + 0.001, attempts=1,"
            " version=version+1 WHERE phase=?",
            (SUCCEEDED, QUEUED),
        )
    return time.perf_counter() - start


def run(quick: bool = False) -> list[Result]:
    from union.engine.store import LIST_FIELDS
    from union.remote import Run

    limit = 1_000 if quick else 10_000
    stored = limit + limit // 5
    reps = 3 if quick else 7
    with isolated_engine(NAME) as engine:
        template = engine.warm_up(1)
        count_sql = "SELECT COUNT(*) FROM runs"
        real = engine.transport.store.read(count_sql)[0][0]
        populate_s = populate(engine.transport.store, engine.row(template.name), stored - real)
        total = engine.transport.store.read(count_sql)[0][0]
        scope = (engine.row(template.name)["org"], template.project, template.domain)
        raw = sqlite3.connect(str(engine.db))
        sql = (
            f"SELECT {', '.join(LIST_FIELDS)} FROM runs WHERE org=? AND project=? AND domain=?"
            " ORDER BY id DESC LIMIT ?"
        )
        newest = raw.execute("SELECT name FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
        list(Run.search(limit=limit))  # warm: imports, page cache, prepared statements
        raw.execute(sql, (*scope, limit)).fetchall()

        def union_once(i: int) -> float:
            found: list[list[Run]] = []
            seconds = timed(lambda: found.append(list(Run.search(limit=limit))))
            runs = found[0]
            assert len(runs) == limit, f"Run.search returned {len(runs)} runs, expected {limit}"
            assert runs[0].name == newest, f"not newest first: {runs[0].name} before {newest}"
            return seconds

        def raw_once(i: int) -> float:
            rows: list[list[tuple[object, ...]]] = []
            seconds = timed(lambda: rows.append(raw.execute(sql, (*scope, limit)).fetchall()))
            assert len(rows[0]) == limit
            return seconds

        union_runs, raw_runs = alternate(reps, union_once, raw_once)
        transport_s = transport_pages(engine, limit)
        raw.close()
    return [
        Result(
            name=NAME,
            title=f"Run.search(limit={limit:,}) over {total:,} stored runs, embedded engine",
            unit="s",
            runs=union_runs,
            baseline="raw sqlite3 SELECT of the listing's columns, same rows, open connection",
            baseline_runs=raw_runs,
            target=Target("max_value", 1.0, "median <= 1 s"),
            notes=[
                f"{total - real:,} runs inserted with the engine's Store.insert_run then marked SUCCEEDED "
                f"(no workers started); {real} went through union.run and a worker",
                "Run.search fetches pages of 1000 (ListRuns), newest first; the transport is already open",
            ],
            details={
                "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
                "stored_runs": total,
                "populate_s": round(populate_s, 2),
                "raw_select_s": round(statistics.median(raw_runs), 4),
                "transport_list_runs_only_s": round(transport_s, 4),
                "run_objects_and_client_s": round(statistics.median(union_runs) - transport_s, 4),
            },
        )
    ]


def transport_pages(engine: Engine, limit: int) -> float:
    """The median time of the ``ListRuns`` calls alone (same pages, no ``Run`` objects): where time goes."""
    return statistics.median(timed(lambda: list_pages(engine.transport, limit)) for _ in range(3))


def list_pages(transport: Any, limit: int) -> int:
    """Page through ``limit`` runs newest first with raw ``ListRuns`` calls; returns how many came back."""
    from flyteidl2.common import identifier_pb2, list_pb2
    from flyteidl2.workflow import run_service_pb2

    import union.config

    cfg = union.config.current()
    project = identifier_pb2.ProjectIdentifier(
        organization=cfg.org or "", domain=cfg.domain or "development", name=cfg.project or "default"
    )
    token, left = "", limit
    while left > 0:
        request = run_service_pb2.ListRunsRequest(
            request=list_pb2.ListRequest(limit=min(left, 1000), token=token), project_id=project
        )
        response = transport.list_runs(request)
        left -= len(response.runs)
        token = response.token
        if not token:
            break
    return limit - left
