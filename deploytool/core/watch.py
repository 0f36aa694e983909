"""Following a flow run: its log lines, its state changes and pool notices, as a stream of events.

`watch_run` reads the store (by log id, so no line is shown twice or skipped) and ends once the run is in a
terminal state and every log line written before that has been yielded. It never ends on its own while the
run is SCHEDULED, PENDING or RUNNING: the caller stops iterating (e.g. on Ctrl-C) to stop watching.

Between reads it waits for a change of the run (`Store.wait_for_change`): on PostgreSQL a notification sent by
whichever host wrote a line or a state ends the wait (docs/stores.md, "Notifications"); on SQLite any commit of
another process does. The wait is bounded by `poll_seconds`, so without notifications (a pooler in transaction
mode) it is polling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta

from deploytool.core.runs import pool_notice, pool_readiness_of
from deploytool.core.values import store_redactor
from deploytool.errors import NotFoundError
from deploytool.models import TERMINAL, FlowRun, LogLine, PoolStatus, RunState
from deploytool.records import record, replace
from deploytool.redaction import Redactor
from deploytool.store import Store, Topic

# Exit codes of `deploytool run --watch` and `deploytool flow-run watch` (1 and 2 are deploytool's own errors
# and usage errors, 130 an interrupt). Documented in docs/runs.md.
EXIT_COMPLETED = 0
EXIT_FAILED = 3
EXIT_CRASHED = 4
EXIT_CANCELLED = 5
EXIT_CODES: Mapping[RunState, int] = {
    RunState.COMPLETED: EXIT_COMPLETED,
    RunState.FAILED: EXIT_FAILED,
    RunState.CRASHED: EXIT_CRASHED,
    RunState.CANCELLED: EXIT_CANCELLED,
}
POLL_SECONDS = 1.0  # the longest wait between two reads (a notification or a commit ends it sooner)
POOL_CHECK_SECONDS = 5.0
# A worker started just before the run (`worker start &` then `run --watch`) needs a moment for its first
# heartbeat; "no worker is polling" is said only once the run has waited this long in a pool nobody serves.
POOL_GRACE_SECONDS = 5.0
_BATCH = 1000


@record
class LogEvent:
    line: LogLine


@record
class StateEvent:
    """The run as it is after a state change (the first event shows the state it had when watching began)."""

    run: FlowRun


@record
class PoolEvent:
    """The run waits in a pool that nobody can serve: no worker can take it (NOT_READY, and why: `problem`, as
    `work-pool ls` says it) or it is PAUSED."""

    pool: str
    status: PoolStatus
    problem: str | None = None

    @property
    def message(self) -> str:
        return pool_notice(self.pool, self.status, self.problem) or ""


WatchEvent = LogEvent | StateEvent | PoolEvent


def exit_code_for(state: RunState) -> int:
    """The documented exit code for a terminal state."""
    return EXIT_CODES[state]


def watch_run(
    store: Store,
    run_id: str,
    *,
    logs: bool = True,
    states: bool = True,
    poll_seconds: float = POLL_SECONDS,
    pool_check_seconds: float = POOL_CHECK_SECONDS,
    pool_grace_seconds: float = POOL_GRACE_SECONDS,
    after_id: int | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Iterator[WatchEvent]:
    """Yield the run's new log lines (after `after_id`), its state changes and pool notices until it is
    terminal and its logs are drained. A non-terminal state change comes before the lines that follow it; the
    terminal state comes after the last line. A pool nobody serves is told after `pool_grace_seconds` (by
    `clock`: the store's, `Store.now()`, which the workers' heartbeats are written by, unless given), a paused
    pool at once. Lines and state messages are redacted (store_redactor). Between reads:
    `sleep(poll_seconds)` if given (tests drive a clock with it), else a wait for a change of the run of at
    most `poll_seconds`."""
    clock = clock or store.now  # judged as `work-pool ls` judges it, whatever this machine's clock says
    redact = store_redactor(store)
    last_state: RunState | None = None
    last_pool: PoolStatus | None = None
    started = clock()
    next_pool_check = started
    cursor = after_id
    while True:
        try:
            run = _redacted_run(store.runs.get(run_id), redact)
        except NotFoundError:
            raise NotFoundError(
                f"flow run {run_id} no longer exists (was its deployment deleted?)",
                hint="list runs: deploytool flow-run ls",
            ) from None
        terminal = run.state in TERMINAL
        batches: list[list[LogLine]] = []
        if logs:
            while True:
                batch = store.logs.read(run_id, after_id=cursor, limit=_BATCH)
                batches.append(batch)
                if batch:
                    cursor = batch[-1].id
                if len(batch) < _BATCH:
                    break
            if batches[0] and not terminal:
                # The state may have moved on while the lines were read (PENDING -> RUNNING, then the flow's
                # first lines): read it again, so that a state change is shown before the lines that follow it.
                again = _redacted_run(store.runs.get(run_id), redact)
                if again.state not in TERMINAL:
                    run = again
        if states and run.state is not last_state and not terminal:
            yield StateEvent(run)
        for batch in batches:
            for line in batch:
                yield LogEvent(_redacted_line(line, redact))
        if terminal:
            if states and run.state is not last_state:
                yield StateEvent(run)
            return
        last_state = run.state
        now = clock()
        if states and run.state is RunState.SCHEDULED and now >= next_pool_check:
            status, problem = _pool_status(store, run.pool_name, now)
            waited = (now - started).total_seconds()
            if status is PoolStatus.NOT_READY and waited < pool_grace_seconds:
                next_pool_check = started + timedelta(seconds=pool_grace_seconds)  # a worker may be starting
            else:
                next_pool_check = now + timedelta(seconds=pool_check_seconds)
                if status is not last_pool and status is not PoolStatus.READY:
                    yield PoolEvent(run.pool_name, status, problem)
                last_pool = status
        if sleep is not None:
            sleep(poll_seconds)
        else:
            store.wait_for_change((Topic.run(run_id),), poll_seconds)


def _redacted_run(run: FlowRun, redact: Redactor) -> FlowRun:
    if not redact or run.state_message is None:
        return run
    return replace(run, state_message=redact(run.state_message))


def _redacted_line(line: LogLine, redact: Redactor) -> LogLine:
    return replace(line, message=redact(line.message)) if redact else line


def _pool_status(store: Store, pool: str, now: datetime) -> tuple[PoolStatus, str | None]:
    try:
        return pool_readiness_of(store, pool, now)
    except NotFoundError:
        return PoolStatus.NOT_READY, None


def follow_logs(
    store: Store, run_id: str, *, follow: bool = False, poll_seconds: float = POLL_SECONDS
) -> Iterator[LogLine]:
    """The run's log lines, oldest first. With `follow`, keep polling until the run is terminal and drained."""
    if follow:
        for event in watch_run(store, run_id, states=False, poll_seconds=poll_seconds):
            if isinstance(event, LogEvent):
                yield event.line
        return
    redact = store_redactor(store)
    cursor: int | None = None
    while True:
        batch = store.logs.read(run_id, after_id=cursor, limit=_BATCH)
        yield from (_redacted_line(line, redact) for line in batch)
        if len(batch) < _BATCH:
            return
        cursor = batch[-1].id
