"""What the web dashboard (deploytool ui) shows: the overview, a pool's page, a deployment's page, run lists
filtered by time, and a run's page with its state history and logs.

Built from the same use cases as the CLI (core.pools, core.deployments, core.runs, core.why) plus the
dashboard's aggregate reads (store.dashboard). Every page is judged at the store's clock (`Store.now()`, the one
the workers' heartbeats are written by), as `work-pool ls` and `worker ls` judge them: on PostgreSQL a dashboard
host whose clock is off shows the same statuses. Every result is typed (core.dashboard_pages; its `to_dict()` is the
JSON the dashboard's API sends) and has block secret values masked (core.results.redacted), so nothing here can
send a secret to a browser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from deploytool.core import why
from deploytool.core.dashboard_pages import (
    DeploymentPage,
    FailingDeploymentSummary,
    Overview,
    PoolPage,
    PoolRow,
    RunPage,
    RunUpdate,
    StateChange,
    TemplateVariable,
)
from deploytool.core.deployments import DeploymentSummary, explain_deployment, inspect_deployment, list_deployments
from deploytool.core.deployments import find as find_deployment
from deploytool.core.pool_listing import PoolSummary, inspect_pool, list_pools
from deploytool.core.results import redacted
from deploytool.core.runs import LATE, RunSummary, inspect_run, parse_states, resolve_run
from deploytool.core.values import store_redactor
from deploytool.errors import DeploytoolError
from deploytool.jobvars import ValueSource
from deploytool.models import TERMINAL, FlowRun, LogLine, PoolStatus, RunState
from deploytool.store import Store

T = TypeVar("T")
HOURS = 24
LATE_GRACE_SECONDS = 15.0  # FlowRun.is_late's grace
OVERVIEW_ROWS = 20
MAX_RUNS = 500
PAGE_LOG_LINES = 500  # the page shows the last lines; the API has them all


# --- secrets -------------------------------------------------------------------------------------------------


def hide_secrets(store: Store, result: T) -> T:
    """`result` with every stored block secret, in any form deploytool knows (deploytool.redaction), masked in
    every field."""
    return redacted(result, store_redactor(store))


# --- overview ------------------------------------------------------------------------------------------------


def overview(store: Store, now: datetime | None = None) -> Overview:
    """Runs per state for each of the last 24 hours (by creation), late runs, failing deployments, pools."""
    now = now or store.now()
    start = (now - timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    hours = [start + timedelta(hours=i) for i in range(HOURS)]
    index = {h.isoformat()[:13]: i for i, h in enumerate(hours)}
    series = {state.value: [0] * HOURS for state in RunState}
    for row in store.dashboard.counts_per_hour(start, HOURS):
        slot = index.get(row.hour)
        if slot is not None:
            series[row.state.value][slot] += row.count
    late = store.dashboard.late_runs(now - timedelta(seconds=LATE_GRACE_SECONDS), OVERVIEW_ROWS)
    failing = store.dashboard.failing_deployments(now - timedelta(hours=HOURS), OVERVIEW_ROWS)
    return hide_secrets(
        store,
        Overview(
            now=now,
            hours=hours,
            runs_per_state=series,
            late_runs=[RunSummary.of(r, now) for r in late],
            failing_deployments=[
                FailingDeploymentSummary(
                    f"{f.flow_name}/{f.deployment_name}", f.deployment_id, f.failed, f.last_failure
                )
                for f in failing
            ],
            work_pools=list_pools(store, now),
        ),
    )


# --- pools -----------------------------------------------------------------------------------------------------


def pools(store: Store, now: datetime | None = None) -> list[PoolRow]:
    """Every pool's summary (as `work-pool ls` shows it) with the reason of its status."""
    now = now or store.now()
    rows = [PoolRow(p, status_reason(p)) for p in list_pools(store, now)]
    return hide_secrets(store, rows)


def status_reason(pool: PoolSummary) -> str:
    """Why a pool has its status, in a sentence (a NOT_READY one: as `work-pool ls` words it)."""
    if pool.status is PoolStatus.PAUSED:
        return "paused: workers claim none of its runs until it is resumed"
    if pool.status is PoolStatus.READY:
        return "a worker sent a heartbeat recently"
    if pool.problem is not None:
        return pool.problem
    return f"no worker has ever polled it; start one: deploytool worker start --pool {pool.name}"


def pool_detail(store: Store, name: str, now: datetime | None = None) -> PoolPage:
    """`work-pool inspect` plus each worker's runs held, the status reason and the pool's deployments."""
    now = now or store.now()
    detail = inspect_pool(store, name, now)
    page = PoolPage(
        detail=detail,
        runs_held=store.dashboard.runs_held(name),
        status_reason=status_reason(detail.summary),
        deployments=[d.full_name for d in store.deployments.list(pool_name=name)],
        variables=template_variables(detail.base_job_template),
    )
    return hide_secrets(store, page)


def template_variables(template: Mapping[str, Any]) -> list[TemplateVariable]:
    """The variables of a base job template: name, type, default, description, whether it is required."""
    variables = template.get("variables") or {}
    required = set(variables.get("required") or [])
    rows = []
    for name, schema in (variables.get("properties") or {}).items():
        schema = schema if isinstance(schema, dict) else {}
        rows.append(
            TemplateVariable(
                name=name,
                type=schema.get("type", "any"),
                default=schema.get("default"),
                description=schema.get("description") or schema.get("title"),
                required=name in required,
            )
        )
    return rows


# --- deployments -------------------------------------------------------------------------------------------


def deployments(store: Store, now: datetime | None = None) -> list[DeploymentSummary]:
    """Every deployment (as `deployment ls` shows it)."""
    return hide_secrets(store, list_deployments(store, now=now))


def deployment_detail(store: Store, full_name: str, now: datetime | None = None) -> DeploymentPage:
    """`deployment inspect` plus the final job configuration with provenance (`deployment render --explain`)
    and the deployment's recent runs."""
    now = now or store.now()
    detail = inspect_deployment(store, full_name, now)
    deployment = detail.deployment
    rows: list[ValueSource] = []
    error = None
    try:
        rows = explain_deployment(store, full_name, {})
    except DeploytoolError as exc:
        error = str(exc)
    runs = store.runs.list(deployment_id=deployment.id, limit=OVERVIEW_ROWS)
    try:
        pool_status: str | None = store.workers.pool_status(deployment.pool_name, now).value
    except DeploytoolError:
        pool_status = None
    page = DeploymentPage(detail, rows, error, [RunSummary.of(r, now) for r in runs], pool_status)
    return hide_secrets(store, page)


# --- runs ------------------------------------------------------------------------------------------------------


def parse_time(option: str, text: str | None) -> datetime | None:
    """An ISO 8601 time (a naive one is UTC) or None; DeploytoolError naming `option` otherwise."""
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DeploytoolError(
            f"{option} {text!r}: not an ISO 8601 date and time", hint="for example 2030-01-31T17:30:00Z"
        ) from None
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def runs(
    store: Store,
    *,
    states: Iterable[str] = (),
    deployment: str | None = None,
    pool: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> list[RunSummary]:
    """The newest runs first, filtered as `flow-run ls` does, and by creation time (`since` <= created < `until`)."""
    if not 1 <= limit <= MAX_RUNS:
        raise DeploytoolError(f"limit {limit}: must be between 1 and {MAX_RUNS}")
    now = now or store.now()
    wanted, late = parse_states(states)
    deployment_id = find_deployment(store, deployment).id if deployment else None
    if pool is not None:
        store.pools.get(pool)  # a clear error for an unknown pool rather than an empty list
    query: dict[str, Any] = {
        "deployment_id": deployment_id,
        "pool_name": pool,
        "created_since": since,
        "created_until": until,
        "limit": limit,
    }
    found = store.dashboard.runs(states=wanted, **query) if wanted or not late else []
    if late:  # LATE: SCHEDULED and overdue, as FlowRun.is_late says
        overdue = now - timedelta(seconds=LATE_GRACE_SECONDS)
        found += store.dashboard.runs(states=[RunState.SCHEDULED], scheduled_before=overdue, **query)
        found = sorted({r.id: r for r in found}.values(), key=lambda r: r.created, reverse=True)[:limit]
    return hide_secrets(store, [RunSummary.of(r, now) for r in found])


def state_history(run: FlowRun) -> list[StateChange]:
    """The run's states with their times, from what the store records: created (SCHEDULED), started
    (RUNNING), ended (the final state); the current state last when it has no time of its own."""
    attempt = f" (attempt {run.attempt})" if run.attempt > 1 else ""
    rows = [
        StateChange(RunState.SCHEDULED.value, run.created, f"created, due {run.scheduled_time.isoformat()}{attempt}")
    ]
    if run.start_time is not None:
        worker = f"on worker {run.worker_name}" if run.worker_name else None
        rows.append(StateChange(RunState.RUNNING.value, run.start_time, worker))
    if run.state in TERMINAL and run.end_time is not None:
        rows.append(StateChange(run.state.value, run.end_time, run.state_message))
    elif run.state not in (RunState.SCHEDULED, RunState.RUNNING) or (
        run.state is RunState.RUNNING and run.start_time is None
    ):
        rows.append(StateChange(run.state.value, None, run.state_message))
    return rows


def run_detail(store: Store, ref: str, now: datetime | None = None) -> RunPage:
    """`flow-run inspect` plus `flow-run why`, the state history and the last log lines (with `log_lines`, how
    many there are, and `last_log_id`, where the live stream goes on)."""
    now = now or store.now()
    run = resolve_run(store, ref)
    detail = inspect_run(store, run.id, now)
    explanation = why.explain(store, run.id, now)
    lines, total = store.dashboard.log_tail(run.id, PAGE_LOG_LINES)
    page = RunPage(
        detail=dataclasses.replace(detail, log_lines=total),
        why=explanation,
        state_history=state_history(run),
        terminal=run.state in TERMINAL,
        deployment_exists=run.deployment_id is not None,
        logs=lines,
        last_log_id=(lines[-1].id or 0) if lines else 0,
    )
    return hide_secrets(store, page)


def find_run(store: Store, ref: str) -> FlowRun:
    """The run `ref` names (an id, a unique id prefix or a name), as every flow-run command finds it."""
    return resolve_run(store, ref)


def run_logs(store: Store, ref: str, after_id: int | None = None, limit: int = 1000) -> list[LogLine]:
    """Up to `limit` log lines of a run after `after_id`, oldest first."""
    if not 1 <= limit <= 10_000:
        raise DeploytoolError(f"limit {limit}: must be between 1 and 10000")
    run = resolve_run(store, ref)
    return hide_secrets(store, store.logs.read(run.id, after_id, limit))


def poll_run(store: Store, run_id: str, after_id: int, now: datetime | None = None) -> RunUpdate:
    """The run's state, then its log lines after `after_id` (at most 1000). When the state read is terminal,
    every line was written before it: once `lines` is empty the stream is complete."""
    run = store.runs.get(run_id)
    lines = store.logs.read(run_id, after_id, 1000)
    cursor = lines[-1].id if lines and lines[-1].id is not None else after_id
    summary = RunSummary.of(run, now or store.now())
    return hide_secrets(store, RunUpdate(summary, lines, run.state in TERMINAL, cursor))


STATE_FILTERS = [state.value for state in RunState] + [LATE]


def filter_choices(store: Store) -> tuple[list[str], list[str]]:
    """The names the run filters offer: every pool, every deployment (FLOW/NAME)."""
    return [p.name for p in store.pools.list()], [d.full_name for d in store.deployments.list()]
