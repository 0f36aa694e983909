"""Recording a run's state as its worker: only while it holds the run's lease, once, with the crash retry.

The store refuses a state from a worker that no longer holds the run (set_state's `expect_worker` and
`expect_attempt`: the run is active, the worker's, at the attempt the job was started for), so a worker whose
lease was recovered while it was cut off never overwrites the outcome recorded meanwhile. A write the worker
sends again because the answer to its COMMIT was lost finds its own state already stored: recorded once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from deploytool.errors import ConflictError
from deploytool.models import FlowRun, LogLine, RunState
from deploytool.store import Store
from deploytool.worker.crashes import retry_after_crash
from deploytool.worker.jobs import ActiveRun
from deploytool.worker.output import WORKER

log = logging.getLogger("deploytool.worker")


def record_state(
    store: Store,
    worker_name: str,
    run_id: str,
    state: RunState,
    message: str,
    *,
    now: datetime,
    attempt: int | None = None,
    **fields: Any,
) -> tuple[FlowRun, FlowRun | None] | None:
    """Record `state` (and a CRASHED run's retry, in the same transaction): (the run, its retry or None), or None
    when the worker no longer holds the run. StoreUnavailableError when the store is away: try again later."""
    retried = None
    try:
        with store.transaction():  # a crash and its retry (crash_retries) are one change
            previous = store.runs.get(run_id).state
            run = store.runs.set_state(
                run_id, state, message, now=now, expect_worker=worker_name, expect_attempt=attempt, **fields
            )
            if state is RunState.CRASHED:
                retried = retry_after_crash(store, run, previous, now)
                if retried is not None:
                    store.logs.append(run_id, [LogLine(run_id, now, "WARNING", WORKER, retried.state_message or "")])
    except ConflictError as exc:
        current = store.runs.get(run_id)
        if (current.state, current.state_message, current.worker_name) == (state, message, worker_name):
            return current, None  # its own write, committed before the connection dropped: recorded once
        log.warning("run %s: could not record %s: %s", run_id, state, exc)
        return None
    return run, retried


class StateWrite:
    """`record_state` as a write to run later, e.g. inside the transaction that stores the run's last log lines
    (`write_outputs(..., also=...)`: its lines and its outcome commit together). `result` is record_state's.
    `now` None: the store's time when it is written (after the lines: the outcome is recorded then)."""

    def __init__(
        self, store: Store, worker_name: str, run_id: str, state: RunState, message: str, *, now: datetime | None,
        **fields: Any,
    ) -> None:  # fmt: skip
        self.store, self.worker_name, self.run_id, self.state, self.message = store, worker_name, run_id, state, message
        self.now, self.fields = now, fields
        self.result: tuple[FlowRun, FlowRun | None] | None = None

    def __call__(self) -> None:
        now = self.now or self.store.now()
        self.result = record_state(
            self.store, self.worker_name, self.run_id, self.state, self.message, now=now, **self.fields
        )


def record_job_ids(store: Store, worker_name: str, started: Sequence[tuple[ActiveRun, str]]) -> None:
    """Store each started job's infrastructure id (pid, container id) on its run, once (in a transaction)."""
    for active, job_id in started:
        store.runs.set_infrastructure_id(active.run.id, worker_name, job_id)
