"""Retrying CRASHED runs by their deployment's `crash_retries` policy, from inside the worker.

The worker records a crash and, in the same store transaction, queues the run again when the policy says so
(deploytool.crashretry decides; the store applies CRASHED -> SCHEDULED as a checked retry). The same hook
serves lease recovery, where a stalled worker may still have the old job: the retry then waits at least one
lease, time for that worker to notice it lost the run and stop its job (docs/concurrency-and-retries.md).
"""

from __future__ import annotations

from datetime import datetime

from deploytool import crashretry
from deploytool.errors import NotFoundError
from deploytool.models import FlowRun, RunState
from deploytool.store import CrashHook, Store


def crash_hook(store: Store, now: datetime, *, min_delay_seconds: float = 0.0) -> CrashHook:
    """A hook for the store: (crashed run, previous state) -> (when, message) when its policy retries it."""

    def hook(run: FlowRun, previous: RunState) -> tuple[datetime, str] | None:
        if run.deployment_id is None:
            return None
        try:
            deployment = store.deployments.get(run.deployment_id)
        except NotFoundError:
            return None
        decision = crashretry.plan(
            deployment.crash_retries, run, now, previous=previous, min_delay_seconds=min_delay_seconds
        )
        return None if decision is None else (decision.at, decision.message)

    return hook


def retry_after_crash(store: Store, run: FlowRun, previous: RunState, now: datetime) -> FlowRun | None:
    """Queue `run` (just recorded CRASHED, from `previous`) again if its policy says so; the retried run or None.

    Call it inside the transaction that recorded the crash, so the crash and its retry are one change.
    """
    decision = crash_hook(store, now)(run, previous)
    if decision is None:
        return None
    when, message = decision
    return store.runs.retry(run.id, message, now=now, scheduled_time=when, expect_attempt=run.attempt)
