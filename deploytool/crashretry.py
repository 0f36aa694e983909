"""The deployment-level policy for retrying CRASHED runs: what the file says, and when the next attempt starts.

A deployment's `crash_retries` (deploy.yaml) is a count (`crash_retries: 3`) or a mapping
(`{max: 3, backoff_seconds: 30, max_backoff_seconds: 600}`). A run that ends CRASHED (its infrastructure
failed, its worker lost its lease or shut down before the run finished) is queued again, as the same run with
`attempt + 1`, while its attempt number is at most `max`. Retry n waits `backoff_seconds * 2^(n-1)`, capped at
`max_backoff_seconds`. A run that crashed while being cancelled is never retried.

Pure functions of plain values (models only), so the store, the worker and core can all use them; the store
applies a retry as one checked transition (CRASHED -> SCHEDULED), docs/concurrency-and-retries.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from deploytool.models import FlowRun, RunState
from deploytool.records import record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

DEFAULT_BACKOFF_SECONDS = 30.0
DEFAULT_MAX_BACKOFF_SECONDS = 600.0


@record
class CrashRetryPolicy:
    """At most `max` automatic retries of a crashed run, the n-th after `delay(n)` seconds."""

    max: int
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS

    @classmethod
    def from_mapping(cls, value: Mapping[str, Any] | None) -> CrashRetryPolicy | None:
        """The policy a stored mapping stands for; None when there is none (or `max` is 0)."""
        if not value or not int(value.get("max") or 0):
            return None
        return cls(
            max=int(value["max"]),
            backoff_seconds=float(value.get("backoff_seconds", DEFAULT_BACKOFF_SECONDS)),
            max_backoff_seconds=float(value.get("max_backoff_seconds", DEFAULT_MAX_BACKOFF_SECONDS)),
        )

    def delay(self, retry_number: int) -> float:
        """Seconds before retry `retry_number` (1-based): backoff * 2^(n-1), capped."""
        return float(min(self.backoff_seconds * 2 ** max(retry_number - 1, 0), self.max_backoff_seconds))


def normalise(value: Any) -> dict[str, Any] | None:
    """The file's `crash_retries` (None, a count or a mapping, already schema-checked) -> the stored mapping."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = {"max": value}
    if not isinstance(value, Mapping):
        return None
    return {
        "max": value.get("max", 0),
        "backoff_seconds": value.get("backoff_seconds", DEFAULT_BACKOFF_SECONDS),
        "max_backoff_seconds": value.get("max_backoff_seconds", DEFAULT_MAX_BACKOFF_SECONDS),
    }


@record
class CrashRetry:
    """The decision to queue a crashed run again: retry `number` of `max`, due at `at`."""

    number: int
    max: int
    at: datetime
    message: str


def plan(
    policy: Mapping[str, Any] | None,
    run: FlowRun,
    now: datetime,
    *,
    previous: RunState,
    min_delay_seconds: float = 0.0,
) -> CrashRetry | None:
    """Whether (and when) to retry `run`, which has just become CRASHED from `previous`.

    None when the deployment has no policy, the run's retries are used up (its attempt is above `max`), or it
    crashed while CANCELLING (the user wanted it stopped). `min_delay_seconds` lengthens the wait (after a
    lost lease: time for a stalled worker to notice and stop its job before another one starts).
    """
    parsed = CrashRetryPolicy.from_mapping(policy)
    if parsed is None or run.state is not RunState.CRASHED or previous is RunState.CANCELLING:
        return None
    number = run.attempt
    if number > parsed.max:
        return None
    at = now + timedelta(seconds=max(parsed.delay(number), min_delay_seconds))
    reason = run.state_message or "the run crashed"
    when = at.isoformat(timespec="seconds")
    return CrashRetry(number, parsed.max, at, f"crashed: {reason}; retry {number} of {parsed.max} at {when}")


def exhausted_note(policy: Mapping[str, Any] | None, run: FlowRun) -> str | None:
    """A note for a CRASHED run whose policy's retries are used up (None otherwise)."""
    parsed = CrashRetryPolicy.from_mapping(policy)
    if parsed is None or run.attempt <= parsed.max:
        return None
    return f"no crash retry left ({parsed.max} used)"
