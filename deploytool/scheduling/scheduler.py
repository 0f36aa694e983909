"""The scheduler: turn deployments' schedules into SCHEDULED runs up to a horizon, and apply the catch-up policy.

`schedule_runs(store, now)` is one pass. Workers call it for their pool every few seconds; `deploytool scheduler`
calls it in a loop for every pool. Any number of passes may run at once, anywhere: each deployment's changes are
made in one write transaction (worked out from reads first, and again in it: a pass with nothing to change writes
nothing), and every run's idempotency key is derived from (deployment, schedule identity, time), so
a slot is created once whoever gets there first. docs/schedules.md is the user's guide.

One deployment's pass, at `now`:

1. **Prune.** Waiting (SCHEDULED, unclaimed) auto-scheduled runs of a schedule that is gone, changed or inactive,
   or of a paused deployment, are deleted; so are future ones whose parameters, pool or queue no longer match
   the deployment (they are made again, right, in step 3). Manual runs are never touched.
2. **Catch up.** A waiting run is *missed* when the schedule's next time after it has passed too. Slots between
   the schedule's mark (the last slot a pass handled) and `now` were never created: no scheduler was running.
   The deployment's `catch_up` policy decides: `all` keeps the missed runs and creates the never-created slots
   (the most recent `max_runs` of them); `latest` keeps or creates only the most recent due slot and cancels
   the other missed runs; `none` cancels every missed run and creates no past slot.
3. **Look ahead.** Create the schedule's runs after `now`: at least `min_runs`, and all within `min_seconds`,
   but never more than `max_runs` nor beyond `max_seconds`. Then move the mark.
"""

from __future__ import annotations

import collections
import logging
from datetime import datetime, timedelta

from deploytool.config.paramcheck import check_parameters
from deploytool.config.schedule_times import next_times
from deploytool.config.schedules import Schedule
from deploytool.errors import ConflictError, DeploytoolError, NotFoundError
from deploytool.models import Deployment, FlowRun, RunState
from deploytool.records import field, record
from deploytool.scheduling.identity import (
    CATCH_UP_POLICIES,
    DEFAULT_CATCH_UP,
    LiveSchedule,
    key_schedule,
    live_schedules,
    run_key,
)
from deploytool.store import Store

TYPE_CHECKING = False  # not typing's
if TYPE_CHECKING:
    from typing import Any

log = logging.getLogger("deploytool.scheduler")

SCHEDULE_EVERY_SECONDS = 10.0  # how often a worker (or `deploytool scheduler`) makes a pass
_WALK_CHUNK = 1000
_WALK_LIMIT = 20_000
_MAX_HORIZON_SECONDS = 10 * 365 * 86400.0  # far enough for any schedule, and within datetime's range


@record
class Horizon:
    """How far ahead runs are created: at least `min_runs` and `min_seconds`, at most `max_runs`/`max_seconds`."""

    min_runs: int = 3
    min_seconds: float = 3600.0
    max_runs: int = 100
    max_seconds: float = 100 * 86400.0

    def problems(self) -> list[str]:
        found = []
        if not 1 <= self.min_runs <= self.max_runs:
            found.append(f"the minimum number of runs ({self.min_runs}) must be between 1 and the maximum")
        if self.max_runs < 1:
            found.append(f"the maximum number of runs must be at least 1, not {self.max_runs}")
        if not (0 <= self.min_seconds <= self.max_seconds and 0 < self.max_seconds <= _MAX_HORIZON_SECONDS):
            found.append(
                f"the minimum time ahead ({self.min_seconds:g}s) must be between 0 and the maximum"
                f" ({self.max_seconds:g}s, at most {_MAX_HORIZON_SECONDS:g}s)"
            )
        return found

    def upcoming(
        self, schedule: Schedule, now: datetime, after: datetime | None = None, have: int = 0
    ) -> list[datetime]:
        """The schedule's slots after `now` that a pass creates.

        With `after` (a slot already created) and `have` (how many created slots lie between `now` and it), only
        the slots after `after` that the horizon still lacks: a steady pass costs next to nothing.
        """
        end = now + timedelta(seconds=self.min_seconds)
        limit = now + timedelta(seconds=self.max_seconds)
        start = max(after, now) if after is not None else now
        times: list[datetime] = []
        while have + len(times) < self.max_runs:
            last = times[-1] if times else start
            if (have + len(times) >= self.min_runs and last >= end) or last > limit:
                break
            more = next_times(schedule, last, min(self.max_runs - have - len(times), max(8, len(times))))
            if not more:
                break
            times += more
        kept = [t for i, t in enumerate(times) if (have + i < self.min_runs or t <= end) and t <= limit]
        return kept[: max(self.max_runs - have, 0)]


@record(frozen=False)
class PassReport:
    """What one pass did."""

    deployments: int = 0
    created: int = 0
    cancelled: int = 0
    deleted: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.cancelled or self.deleted or self.errors)

    def to_json(self) -> dict[str, object]:
        return {
            "deployments": self.deployments,
            "created": self.created,
            "cancelled": self.cancelled,
            "deleted": self.deleted,
            "errors": self.errors,
        }


def schedule_runs(store: Store, now: datetime, pool: str | None = None, horizon: Horizon | None = None) -> PassReport:
    """One scheduler pass over every deployment (or those of `pool`). A failing deployment does not stop it."""
    horizon = horizon or Horizon()
    report = PassReport()
    for deployment in store.deployments.list(pool):
        try:
            schedule_deployment(store, deployment.id, now, horizon, report)
        except NotFoundError:
            continue  # deleted since the list was read
        except DeploytoolError as exc:
            report.errors.append(f"{deployment.full_name}: {exc.message}")
            log.error("scheduler: deployment %s: %s", deployment.full_name, exc.message)
        except Exception as exc:
            # A bug met by one deployment (say, a time zone the system's tz data lacks) must not stop the
            # scheduling of every other deployment, nor the worker that runs this pass.
            report.errors.append(f"{deployment.full_name}: unexpected {type(exc).__name__}: {exc}")
            log.exception("scheduler: deployment %s: unexpected error", deployment.full_name)
    return report


def schedule_deployment(
    store: Store, deployment_id: str, now: datetime, horizon: Horizon | None = None, report: PassReport | None = None
) -> PassReport:
    """One deployment's pass (see the module docstring).

    What it would change is planned from reads first; only when that is something is it planned again, and done,
    in one write transaction. So a pass with nothing to change (a filled horizon) opens no write transaction.
    """
    horizon = horizon or Horizon()
    report = report if report is not None else PassReport()
    deployment = store.deployments.get(deployment_id)
    report.deployments += 1
    plan = _plan(store, deployment, now, horizon)
    if plan.writes:
        with store.transaction():
            deployment = store.deployments.get(deployment_id)
            plan = _plan(store, deployment, now, horizon)
            _apply(store, deployment, plan, now, report)
    for schedule_id, refused in plan.refused:
        # `deploytool run` would refuse these parameters, so every run of this schedule would fail: make none,
        # and say so once (not once per pass, nor as one failed run per slot). A redeploy that fixes the
        # parameters changes the deployment, and the next pass schedules it.
        if (deployment_id, schedule_id, refused) not in _reported:
            _reported.add((deployment_id, schedule_id, refused))
            report.errors.append(refused)
            log.error("scheduler: %s", refused)
    return report


@record(frozen=False)
class _Plan:
    """What one deployment's pass writes: marks of gone schedules to forget, stale runs to delete, missed runs to
    cancel (with why), runs to create, marks to move; and the schedules whose parameters would be refused."""

    gone_marks: bool = False
    stale: set[str] = field(default_factory=set)
    stale_keys: set[str] = field(default_factory=set)  # the stale runs' keys: their slots are made again
    cancel: list[tuple[FlowRun, str]] = field(default_factory=list)
    create: list[FlowRun] = field(default_factory=list)
    marks: dict[str, datetime] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return bool(self.gone_marks or self.stale or self.cancel or self.create or self.marks)


def _plan(store: Store, deployment: Deployment, now: datetime, horizon: Horizon) -> _Plan:
    lives = live_schedules(deployment)
    waiting = store.schedules.waiting_runs(deployment.id)
    marks = store.schedules.marks(deployment.id)
    stale = _stale(deployment, lives, waiting, now)
    plan = _Plan(
        gone_marks=bool(marks.keys() - {live.id for live in lives}),
        stale=stale,
        stale_keys={r.idempotency_key for r in waiting if r.id in stale and r.idempotency_key},
    )
    by_schedule: dict[str, list[FlowRun]] = collections.defaultdict(list)
    for run in waiting:
        if run.id not in plan.stale:
            by_schedule[key_schedule(run.idempotency_key) or ""].append(run)
    for live in lives:
        # After a deletion the runs are remade from scratch (the mark says nothing about what is left).
        mark = marks.get(live.id)
        full = bool(plan.stale) or mark is None
        _plan_one(plan, store, deployment, live, by_schedule[live.id], mark, full, now, horizon)
    return plan


def _apply(store: Store, deployment: Deployment, plan: _Plan, now: datetime, report: PassReport) -> None:
    if plan.gone_marks:
        store.schedules.clear_marks(deployment.id, keep=[live.id for live in live_schedules(deployment)])
    if plan.stale:
        store.schedules.delete_waiting(plan.stale)
    report.deleted += len(plan.stale)
    for run, message in plan.cancel:
        try:
            store.runs.set_state(run.id, RunState.CANCELLED, message, now=now)
            report.cancelled += 1
        except ConflictError:
            pass  # claimed meanwhile: it runs
    for run in plan.create:
        if store.runs.create(run).id == run.id:  # not a stale run claimed meanwhile (its key is taken)
            report.created += 1
    for schedule_id, until in plan.marks.items():
        store.schedules.set_mark(deployment.id, schedule_id, until)


def prune(store: Store, deployment: Deployment, now: datetime) -> int:
    """Delete the deployment's waiting auto-scheduled runs that its schedules no longer make; return how many.

    Called by deploy (in its transaction) and by pause. Forgets the marks of gone schedules.
    """
    lives = live_schedules(deployment)
    stale = _stale(deployment, lives, store.schedules.waiting_runs(deployment.id), now)
    with store.transaction():
        store.schedules.clear_marks(deployment.id, keep=[live.id for live in lives])
        if stale:
            store.schedules.delete_waiting(stale)
    return len(stale)


def _stale(deployment: Deployment, lives: list[LiveSchedule], waiting: list[FlowRun], now: datetime) -> set[str]:
    """The waiting runs a pass deletes: of a schedule that is gone, or future ones its schedule no longer makes."""
    by_id = {live.id: live for live in lives}
    stale = set()
    for run in waiting:
        live = by_id.get(key_schedule(run.idempotency_key) or "")
        if live is None or (run.scheduled_time > now and _outdated(run, live, deployment)):
            stale.add(run.id)
    return stale


def _outdated(run: FlowRun, live: LiveSchedule, deployment: Deployment) -> bool:
    """True when a waiting run no longer looks like what its schedule makes now (the deployment changed)."""
    return (
        run.parameters != live.run_parameters(deployment)
        or run.pool_name != deployment.pool_name
        or run.queue_name != deployment.queue_name
    )


def _plan_one(
    plan: _Plan,
    store: Store,
    deployment: Deployment,
    live: LiveSchedule,
    waiting: list[FlowRun],
    mark: datetime | None,
    full: bool,
    now: datetime,
    horizon: Horizon,
) -> None:
    policy = deployment.catch_up if deployment.catch_up in CATCH_UP_POLICIES else DEFAULT_CATCH_UP
    overdue = [r for r in waiting if r.scheduled_time <= now]
    missed = [r for r in overdue if _passed(live.schedule, r.scheduled_time, now)]
    never_created = _due_slots(live.schedule, mark, now, horizon.max_runs) if mark is not None else []
    due_times = [r.scheduled_time for r in overdue] + never_created
    latest = max(due_times) if due_times else None

    backfill: list[datetime] = []
    cancel: list[FlowRun] = []
    if policy == "all":
        backfill = never_created
    elif policy == "latest":
        cancel = [r for r in missed if r.scheduled_time != latest]
        backfill = [latest] if latest is not None and latest in never_created else []
    else:
        cancel = missed
    for run in cancel:
        message = (
            f"missed while no worker was running (scheduled for {run.scheduled_time:%Y-%m-%d %H:%M:%S} UTC, "
            f"and later runs of its schedule were due too); catch_up: {policy}"
            + (" keeps only the most recent missed run" if policy == "latest" else " skips missed runs")
        )
        plan.cancel.append((run, message))

    if full or mark is None:
        upcoming = horizon.upcoming(live.schedule, now)
    else:
        upcoming = horizon.upcoming(live.schedule, now, mark, sum(1 for r in waiting if r.scheduled_time > now))
    slots = [(t, "caught up after a gap", True) for t in backfill] + [(t, "", False) for t in upcoming]
    keys = {run_key(deployment.id, live.id, t): (t, caught) for t, _, caught in slots}
    existing = store.schedules.existing_keys(keys) - plan.stale_keys
    parameters = live.run_parameters(deployment)
    refused = _refused_parameters(deployment, live, parameters)
    if refused is not None:
        plan.refused.append((live.id, refused))
        return
    for key, (when, caught) in keys.items():
        if key in existing:
            continue
        note = f"; caught up (catch_up: {policy})" if caught else ""
        plan.create.append(
            FlowRun(
                flow_name=deployment.flow_name,
                deployment_name=deployment.name,
                pool_name=deployment.pool_name,
                queue_name=deployment.queue_name,
                deployment_id=deployment.id,
                parameters=parameters,
                scheduled_time=when,
                idempotency_key=key,
                state_message=f"scheduled by {live.describe()}{note}",
                created=now,
            )
        )
    until = max([now, *upcoming, *([mark] if mark else [])])
    # A mark that moves past no slot changes nothing a later pass does (it would find the same slots): left alone.
    if mark is None or (until > mark and _passed(live.schedule, mark, until)):
        plan.marks[live.id] = until


_reported: set[tuple[str, str, str]] = set()  # (deployment, schedule, message) already reported by this process


def _refused_parameters(deployment: Deployment, live: LiveSchedule, parameters: dict[str, Any]) -> str | None:
    """Why `deploytool run` would refuse a run with `parameters` (the checks core.runs makes), or None."""
    if not deployment.enforce_parameter_schema:
        return None
    problems = check_parameters(deployment.parameter_schema, parameters, require_all=True)
    if not problems:
        return None
    what = "; ".join(p.message for p in problems)
    return (
        f"{deployment.full_name}: {live.describe()} makes no runs: {what} "
        "(give the value under the deployment's or the schedule's parameters, and deploy again)"
    )


def _passed(schedule: Schedule, when: datetime, now: datetime) -> bool:
    """True when the schedule's next time after `when` is not later than `now` (so `when` was missed)."""
    following = next_times(schedule, when, 1)
    return bool(following) and following[0] <= now


def _due_slots(schedule: Schedule, mark: datetime, now: datetime, keep: int) -> list[datetime]:
    """The most recent `keep` slots after `mark` and not after `now` (the ones never created)."""
    if mark >= now:
        return []
    found, pace = _walk(schedule, mark, now, keep, _WALK_LIMIT)
    back = pace * (keep + 2) if pace is not None else None
    while back is not None:
        # A long gap on a fast schedule: rather than walk every slot of it, start again just before the last `keep`
        # slots, judged by the pace of the slots walked, and further back while that holds fewer than `keep` (slots
        # that come in bursts, such as every minute of one hour a day, are sparser than their pace says).
        start = mark if back >= now - mark else now - back
        found, _ = _walk(schedule, start, now, keep, None)
        if len(found) >= keep or start == mark:
            break
        back *= 2
    return found


def _walk(
    schedule: Schedule, start: datetime, now: datetime, keep: int, limit: int | None
) -> tuple[list[datetime], timedelta | None]:
    """The last `keep` slots after `start` and not after `now`, and None; or, when `limit` slots were walked before
    reaching `now`, the last `keep` of them and their pace (the mean time between the slots of the last chunk)."""
    found: collections.deque[datetime] = collections.deque(maxlen=keep)
    cursor, walked = start, 0
    while True:
        chunk = next_times(schedule, cursor, _WALK_CHUNK)
        found.extend(t for t in chunk if t <= now)
        if len(chunk) < _WALK_CHUNK or chunk[-1] > now:
            return list(found), None
        cursor = chunk[-1]
        walked += len(chunk)
        if limit is not None and walked >= limit:
            return list(found), (chunk[-1] - chunk[0]) / (len(chunk) - 1)
