"""What the web dashboard (deploytool ui) shows: the overview, a pool's page, a deployment's page, run lists
filtered by time, and a run's page with its state history and logs.

Built from the same use cases as the CLI (core.pools, core.deployments, core.runs, core.why) plus the
dashboard's aggregate reads (store.dashboard). Every result is JSON-ready (times as ISO 8601 UTC strings) and
has block secret values replaced, so nothing here can send a secret to a browser.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from deploytool.core import why
from deploytool.core.deployments import explain_deployment, inspect_deployment, list_deployments
from deploytool.core.deployments import find as find_deployment
from deploytool.core.pool_listing import inspect_pool, list_pools, workers_problem
from deploytool.core.runs import LATE, RunSummary, inspect_run, parse_states, resolve_run
from deploytool.core.values import store_redactor
from deploytool.errors import DeploytoolError
from deploytool.models import TERMINAL, FlowRun, PoolStatus, RunState, utcnow
from deploytool.store import Store

T = TypeVar("T")
HOURS = 24
LATE_GRACE_SECONDS = 15.0  # FlowRun.is_late's grace
OVERVIEW_ROWS = 20
MAX_RUNS = 500
PAGE_LOG_LINES = 500  # the page shows the last lines; the API has them all


# --- secrets -------------------------------------------------------------------------------------------------


def hide_secrets(store: Store, data: T) -> T:
    """`data` with every stored block secret, in any form deploytool knows (deploytool.redaction), masked."""
    return cast(T, store_redactor(store).value(data))


# --- overview ------------------------------------------------------------------------------------------------


def overview(store: Store, now: datetime | None = None) -> dict[str, Any]:
    """Runs per state for each of the last 24 hours (by creation), late runs, failing deployments, pools."""
    now = now or utcnow()
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
        {
            "now": now.isoformat(),
            "hours": [h.isoformat() for h in hours],
            "runs_per_state": series,
            "totals": {state: sum(counts) for state, counts in series.items()},
            "late_runs": [RunSummary.of(r, now).to_dict() for r in late],
            "failing_deployments": [
                {
                    "deployment": f"{f.flow_name}/{f.deployment_name}",
                    "deployment_id": f.deployment_id,
                    "failed": f.failed,
                    "last_failure": f.last_failure.isoformat(),
                }
                for f in failing
            ],
            "work_pools": [p.to_dict() for p in list_pools(store, now)],
        },
    )


# --- pools -----------------------------------------------------------------------------------------------------


def pools(store: Store, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every pool's summary (as `work-pool ls -o json`) with the reason of its status."""
    now = now or utcnow()
    rows = [p.to_dict() for p in list_pools(store, now)]
    for row in rows:
        row["status_reason"] = status_reason(store, row["name"], row["status"], now)
    return hide_secrets(store, rows)


def status_reason(store: Store, pool: str, status: str, now: datetime) -> str:
    """Why a pool has its status, in a sentence."""
    if status == PoolStatus.PAUSED:
        return "paused: workers claim none of its runs until it is resumed"
    if status == PoolStatus.READY:
        return "a worker sent a heartbeat recently"
    problem = workers_problem(store, pool, now)
    if problem is not None:
        return problem
    workers = store.workers.list(pool)
    if not workers:
        return f"no worker has ever polled it; start one: deploytool worker start --pool {pool}"
    seconds = (now - workers[0].last_heartbeat).total_seconds()
    return (
        f"no recent heartbeat (the last, from worker {workers[0].name}, was {seconds:.0f} s ago);"
        f" start one: deploytool worker start --pool {pool}"
    )


def pool_detail(store: Store, name: str, now: datetime | None = None) -> dict[str, Any]:
    """`work-pool inspect` plus each worker's runs held, the status reason and the pool's deployments."""
    now = now or utcnow()
    data = inspect_pool(store, name, now).to_dict()
    held = store.dashboard.runs_held(name)
    for worker in data["workers"]:
        worker["runs_held"] = held.get(worker["name"], 0)
    data["status_reason"] = status_reason(store, name, data["status"], now)
    data["deployments"] = [d.full_name for d in store.deployments.list(pool_name=name)]
    data["variables"] = template_variables(data["base_job_template"])
    return hide_secrets(store, data)


def template_variables(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The variables of a base job template as rows: name, type, default, description, required."""
    variables = template.get("variables") or {}
    required = set(variables.get("required") or [])
    rows = []
    for name, schema in (variables.get("properties") or {}).items():
        schema = schema if isinstance(schema, dict) else {}
        rows.append(
            {
                "name": name,
                "type": schema.get("type", "any"),
                "default": schema.get("default"),
                "description": schema.get("description") or schema.get("title"),
                "required": name in required,
            }
        )
    return rows


# --- deployments -------------------------------------------------------------------------------------------


def deployments(store: Store, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every deployment (as `deployment ls -o json`)."""
    return hide_secrets(store, [d.to_dict() for d in list_deployments(store, now=now)])


def deployment_detail(store: Store, full_name: str, now: datetime | None = None) -> dict[str, Any]:
    """`deployment inspect` plus the final job configuration with provenance (`deployment render --explain`)
    and the deployment's recent runs."""
    now = now or utcnow()
    data = inspect_deployment(store, full_name, now).to_dict()
    data["full_name"] = f"{data['flow_name']}/{data['name']}"
    try:
        rows = explain_deployment(store, full_name, {})
        data["job_configuration"] = [{"path": r.path, "value": r.value, "source": r.source} for r in rows]
        data["job_configuration_error"] = None
    except DeploytoolError as exc:
        data["job_configuration"] = []
        data["job_configuration_error"] = str(exc)
    runs = store.runs.list(deployment_id=data["id"], limit=OVERVIEW_ROWS)
    data["recent_runs"] = [RunSummary.of(r, now).to_dict() for r in runs]
    try:
        data["pool_status"] = store.workers.pool_status(data["work_pool"], now).value
    except DeploytoolError:
        data["pool_status"] = None
    return hide_secrets(store, data)


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
) -> list[dict[str, Any]]:
    """The newest runs first, filtered as `flow-run ls` does, and by creation time (`since` <= created < `until`)."""
    if not 1 <= limit <= MAX_RUNS:
        raise DeploytoolError(f"limit {limit}: must be between 1 and {MAX_RUNS}")
    now = now or utcnow()
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
    return hide_secrets(store, [RunSummary.of(r, now).to_dict() for r in found])


def state_history(run: FlowRun) -> list[dict[str, Any]]:
    """The run's states with their times, from what the store records: created (SCHEDULED), started
    (RUNNING), ended (the final state); the current state last when it has no time of its own."""
    rows: list[dict[str, Any]] = [
        {
            "state": RunState.SCHEDULED.value,
            "time": run.created.isoformat(),
            "message": f"created, due {run.scheduled_time.isoformat()}"
            + (f" (attempt {run.attempt})" if run.attempt > 1 else ""),
        }
    ]
    if run.start_time is not None:
        worker = f"on worker {run.worker_name}" if run.worker_name else None
        rows.append({"state": RunState.RUNNING.value, "time": run.start_time.isoformat(), "message": worker})
    if run.state in TERMINAL and run.end_time is not None:
        rows.append({"state": run.state.value, "time": run.end_time.isoformat(), "message": run.state_message})
    elif run.state not in (RunState.SCHEDULED, RunState.RUNNING) or (
        run.state is RunState.RUNNING and run.start_time is None
    ):
        rows.append({"state": run.state.value, "time": None, "message": run.state_message})
    return rows


def run_detail(store: Store, ref: str, now: datetime | None = None) -> dict[str, Any]:
    """`flow-run inspect` plus `flow-run why`, the state history and the last log lines (with `log_lines`, how
    many there are, and `last_log_id`, where the live stream goes on)."""
    now = now or utcnow()
    run = resolve_run(store, ref)
    data = inspect_run(store, run.id, now).to_dict()
    data["why"] = why.explain(store, run.id, now).to_dict()
    data["state_history"] = state_history(run)
    data["terminal"] = run.state in TERMINAL
    data["deployment_exists"] = run.deployment_id is not None
    lines, total = store.dashboard.log_tail(run.id, PAGE_LOG_LINES)
    data["logs"] = [line.to_dict() for line in lines]
    data["log_lines"] = total
    data["last_log_id"] = lines[-1].id if lines else 0
    return hide_secrets(store, data)


def find_run(store: Store, ref: str) -> FlowRun:
    """The run `ref` names (an id, a unique id prefix or a name), as every flow-run command finds it."""
    return resolve_run(store, ref)


def run_logs(store: Store, ref: str, after_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Up to `limit` log lines of a run after `after_id`, oldest first."""
    if not 1 <= limit <= 10_000:
        raise DeploytoolError(f"limit {limit}: must be between 1 and 10000")
    run = resolve_run(store, ref)
    return hide_secrets(store, [line.to_dict() for line in store.logs.read(run.id, after_id, limit)])


@dataclass(frozen=True)
class RunUpdate:
    """One poll of a followed run: the run as it is, and its log lines after the cursor."""

    run: dict[str, Any]
    lines: list[dict[str, Any]]
    terminal: bool
    cursor: int


def poll_run(store: Store, run_id: str, after_id: int, now: datetime | None = None) -> RunUpdate:
    """The run's state, then its log lines after `after_id` (at most 1000). When the state read is terminal,
    every line was written before it: once `lines` is empty the stream is complete."""
    run = store.runs.get(run_id)
    lines = store.logs.read(run_id, after_id, 1000)
    cursor = lines[-1].id if lines and lines[-1].id is not None else after_id
    raw: dict[str, Any] = {"run": RunSummary.of(run, now).to_dict(), "lines": [line.to_dict() for line in lines]}
    data = hide_secrets(store, raw)
    return RunUpdate(data["run"], data["lines"], run.state in TERMINAL, cursor)


STATE_FILTERS = [state.value for state in RunState] + [LATE]


def filter_choices(store: Store) -> tuple[list[str], list[str]]:
    """The names the run filters offer: every pool, every deployment (FLOW/NAME)."""
    return [p.name for p in store.pools.list()], [d.full_name for d in store.deployments.list()]
