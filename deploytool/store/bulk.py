"""Bulk writes: many flow runs in few transactions (imports, benchmarks), without per-run checks."""

from __future__ import annotations

from collections.abc import Iterable

from deploytool.models import FlowRun
from deploytool.store.queues import ensure_queue
from deploytool.store.run_rows import COLUMNS, run_values
from deploytool.store.sql import Database


def insert_runs(db: Database, runs: Iterable[FlowRun], *, batch: int = 10_000) -> int:
    """Insert `runs` as given (any state; no idempotency lookup, no name filling), `batch` per transaction.

    The queues they name are created. Returns how many runs were inserted.
    """
    sql = f"INSERT INTO flow_runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    count = 0
    pending: list[FlowRun] = []

    def flush() -> None:
        with db.transaction() as conn:
            for pool_name, queue_name in sorted({(r.pool_name, r.queue_name) for r in pending}):
                ensure_queue(conn, pool_name, queue_name)
            conn.executemany(sql, [run_values(r) for r in pending])
        pending.clear()

    for run in runs:
        pending.append(run)
        count += 1
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return count
