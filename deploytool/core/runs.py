"""Flow run use cases: create a run of a deployment, find a run by id prefix or name, list, inspect, cancel.

Functions take an open Store and plain values and return models or typed results (RunSummary, RunDetail,
SubmittedRun) whose `to_dict()` is their JSON. Following a run's logs and state lives in deploytool.core.watch.
docs/runs.md is the user's guide.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from deploytool.core.deployments import find as find_deployment
from deploytool.core.pools import check_at_most, get_pool
from deploytool.core.results import redacted
from deploytool.core.run_summary import LATE as LATE  # re-exported: the CLI and the dashboard import these here
from deploytool.core.run_summary import RunDetail as RunDetail
from deploytool.core.run_summary import RunSummary as RunSummary
from deploytool.core.run_summary import duration_seconds as duration_seconds
from deploytool.core.values import store_redactor
from deploytool.core.when import (
    start_time as start_time,  # its home is core.when; the dashboard imports it here
)
from deploytool.engine.spec import check_parameters_size
from deploytool.errors import ConflictError, DeploytoolError, NotFoundError, did_you_mean
from deploytool.models import TERMINAL, Deployment, FlowRun, PoolStatus, RunState
from deploytool.records import record, replace
from deploytool.store import Store, pool_readiness

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

    from deploytool.config.paramcheck import ParamProblem

LS_HINT = "list runs: deploytool flow-run ls"
_SCAN_LIMIT = 1_000_000


class ParameterError(DeploytoolError):
    """The run's parameters do not fit the deployment's parameter schema; carries every problem found."""

    def __init__(self, deployment: str, problems: list[ParamProblem]) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        lines = [f"{len(problems)} {noun} with the parameters of {deployment}:"]
        lines += [f"  {p.name}: {p.message}" + (f" ({p.hint})" if p.hint else "") for p in problems]
        super().__init__(
            "\n".join(lines), hint=f"see the parameters: deploytool deployment inspect {deployment} --output json"
        )


# --- creating a run ------------------------------------------------------------------------------------------


def create_run(
    store: Store,
    deployment_name: str,
    parameters: Mapping[str, Any] | None = None,
    job_variables: Mapping[str, Any] | None = None,
    scheduled_time: datetime | timedelta | None = None,
    idempotency_key: str | None = None,
    *,
    parameter_text: Mapping[str, str] | None = None,
) -> FlowRun:
    """Create a SCHEDULED run of `FLOW/DEPLOYMENT` and return it.

    Parameters are the deployment's parameters overlaid (shallowly) by `parameters`; when the deployment
    enforces its parameter schema, every problem (unknown name, wrong type, required parameter missing) is
    reported at once in a ParameterError. `parameter_text` holds the raw command-line text of values: where
    the schema wants a string and the text parsed as JSON into something else (`version=1.10`), the text is
    used. Job variables are layered pool defaults < deployment < run and checked against the pool's template;
    an error names the variable and the layer that set it. With an `idempotency_key` already used, the
    existing run is returned unchanged (`submit_run` says whether the run is new). `scheduled_time`: when the
    run is due; a timedelta is a delay after the store's now, None the store's now (`core.when.start_time`).
    """
    return _create_run(
        store,
        deployment_name,
        parameters,
        job_variables,
        scheduled_time,
        idempotency_key,
        parameter_text=parameter_text,
    )[0]


def _create_run(
    store: Store,
    deployment_name: str,
    parameters: Mapping[str, Any] | None,
    job_variables: Mapping[str, Any] | None,
    scheduled_time: datetime | timedelta | None,
    idempotency_key: str | None,
    *,
    parameter_text: Mapping[str, str] | None,
) -> tuple[FlowRun, bool]:
    deployment = find_deployment(store, deployment_name)
    merged = {**deployment.parameters, **_text_for_strings(deployment, dict(parameters or {}), parameter_text)}
    if deployment.enforce_parameter_schema:
        from deploytool.config.paramcheck import check_parameters

        problems = check_parameters(deployment.parameter_schema, merged, require_all=True)
        if problems:
            raise ParameterError(deployment.full_name, _cli_hints(problems, deployment))
    check_parameters_size(merged, deployment.full_name)
    run_vars = dict(job_variables or {})
    _check_job_variables(store, deployment, run_vars)
    # None: now, and a delay counts from now, by the store's clock (this host's may be off).
    when = store.now() + scheduled_time if isinstance(scheduled_time, timedelta) else scheduled_time or store.now()
    if when.tzinfo is None:
        raise ValueError("scheduled_time must be timezone-aware")
    run = FlowRun(
        flow_name=deployment.flow_name,
        deployment_name=deployment.name,
        pool_name=deployment.pool_name,
        queue_name=deployment.queue_name,
        deployment_id=deployment.id,
        parameters=merged,
        job_variables=run_vars,
        scheduled_time=when.astimezone(UTC),
        idempotency_key=idempotency_key,
        state_message="created by deploytool run",
    )
    stored = store.runs.create(run)
    # With an idempotency key already used, the store returns the existing run: another id than ours. (Its
    # creation time cannot tell: a concurrent `run` with the same key may have created it after we started.)
    return stored, stored.id == run.id


def _text_for_strings(
    deployment: Deployment, parameters: dict[str, Any], text: Mapping[str, str] | None
) -> dict[str, Any]:
    properties = deployment.parameter_schema.get("properties") or {}
    for name, raw in (text or {}).items():
        prop = properties.get(name)
        if isinstance(prop, Mapping) and prop.get("type") == "string" and not isinstance(parameters.get(name), str):
            parameters[name] = raw
    return parameters


def _cli_hints(problems: list[ParamProblem], deployment: Deployment) -> list[ParamProblem]:
    """check_parameters speaks of the project file; on the command line, say how to give the value."""
    from deploytool.config.paramcheck import describe

    properties = deployment.parameter_schema.get("properties") or {}
    fixed = []
    for p in problems:
        if p.message.startswith("required parameter"):
            kind = describe(properties.get(p.name, {}))
            p = replace(p, hint=f"give it a value ({kind}): --param {p.name}=VALUE")
        fixed.append(p)
    return fixed


def _check_job_variables(store: Store, deployment: Deployment, run_vars: dict[str, Any]) -> None:
    from deploytool.jobvars import job_variable_layers, merge_layers, validate_job_variables  # run creation only

    template = get_pool(store, deployment.pool_name, deployment.job_variables).base_job_template
    layers = job_variable_layers(template, deployment.job_variables, run_vars or None)
    merged, provenance = merge_layers(layers)
    problems = validate_job_variables(merged, template, provenance, check_required=True)
    if problems:
        lines = "\n".join(f"  {p.format()}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        raise DeploytoolError(
            f"{len(problems)} job variable {noun} for a run of {deployment.full_name}:\n{lines}",
            hint=f"see the pool's variables: deploytool work-pool inspect {deployment.pool_name}",
        )


# --- finding, listing and inspecting runs --------------------------------------------------------------------


def resolve_run(store: Store, ref: str) -> FlowRun:
    """The run whose id is `ref`, whose id starts with `ref`, or whose name is `ref`.

    NotFoundError when nothing matches; DeploytoolError listing the candidates when several do.
    """
    ref = ref.strip()
    if not ref:
        raise DeploytoolError("no flow run id given", hint=LS_HINT)
    try:
        return store.runs.get(ref)
    except NotFoundError:
        pass
    matches = store.runs.find(ref)
    if not matches:
        raise NotFoundError(f"no flow run has the id, id prefix or name {ref!r}", hint=LS_HINT)
    by_name = [r for r in matches if r.name == ref]
    if len(by_name) == 1:
        return by_name[0]
    if len(matches) > 1:
        listing = ", ".join(f"{r.id[:12]} ({r.name})" for r in matches[:5])
        more = " and more" if len(matches) > 5 else ""
        raise DeploytoolError(
            f"{ref!r} matches {len(matches)} flow runs: {listing}{more}", hint="give more characters of the id"
        )
    return matches[0]


def parse_states(values: Iterable[str]) -> tuple[set[RunState], bool]:
    """`--state` values (any case; LATE allowed) -> (states, late_only). Shared by the CLI and the dashboard's
    state filter."""
    states: set[RunState] = set()
    late = False
    names = [s.value for s in RunState] + [LATE]
    for value in values:
        upper = value.strip().upper()
        if upper == LATE:
            late = True
        elif upper in RunState.__members__:
            states.add(RunState(upper))
        else:
            hint = did_you_mean(upper, names) or f"states: {', '.join(names)}"
            raise DeploytoolError(f"--state {value!r}: unknown state", hint=hint)
    return states, late


def list_runs(
    store: Store,
    *,
    states: Collection[RunState] = (),
    late: bool = False,
    deployment: str | None = None,
    pool: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
    messages: bool = True,
) -> list[RunSummary]:
    """The newest runs first, filtered by state (`late`: also overdue SCHEDULED runs; `states` empty and not
    `late`: every state), deployment and pool. State messages come with the stored secrets masked;
    `messages=False` leaves them out (None), for a listing that shows none: no secret is decrypted for it."""
    if limit < 1:
        raise DeploytoolError(f"--limit {limit}: must be at least 1")
    check_at_most("--limit", limit)
    now = now or store.now()
    wanted = set(states)
    deployment_id = find_deployment(store, deployment).id if deployment else None
    if pool is not None:
        get_pool(store, pool)  # a clear error for an unknown pool rather than an empty list
    if not late:
        runs = store.runs.list(state=wanted or None, deployment_id=deployment_id, pool_name=pool, limit=limit)
    else:
        candidates = store.runs.list(
            state=wanted | {RunState.SCHEDULED}, deployment_id=deployment_id, pool_name=pool, limit=_SCAN_LIMIT
        )
        runs = [r for r in candidates if r.state in wanted or r.is_late(now)][:limit]
    summaries = [RunSummary.of(r, now) for r in runs]
    if not messages:
        return [replace(s, state_message=None) for s in summaries]
    if not any(s.state_message for s in summaries):
        return summaries  # nothing to mask: the stored secrets are not decrypted (nor their cipher loaded)
    redact = store_redactor(store)
    return [replace(s, state_message=s.state_message and redact(s.state_message)) for s in summaries]


def inspect_run(store: Store, ref: str, now: datetime | None = None) -> RunDetail:
    """Everything about one run: summary, parameters, job variables, lease, exit code, log count, task runs;
    stored secrets masked."""
    run = resolve_run(store, ref)
    log_lines = len(store.logs.read(run.id, limit=_SCAN_LIMIT))
    detail = RunDetail.of(run, log_lines, store.task_runs.list(run.id), now)
    return redacted(detail, store_redactor(store))


# --- cancelling ----------------------------------------------------------------------------------------------


def cancel_run(store: Store, ref: str) -> FlowRun:
    """Cancel a run: SCHEDULED becomes CANCELLED at once; PENDING and RUNNING become CANCELLING (their worker
    stops the job and records CANCELLED); CANCELLING stays as it is. A finished run is a ConflictError."""
    run = resolve_run(store, ref)
    for _ in range(3):  # the worker may move the run between our read and our write: read again and retry
        if run.state in TERMINAL:
            raise ConflictError(
                f"flow run {run.name!r} already finished ({run.state}); there is nothing to cancel",
                hint=f"see it: deploytool flow-run inspect {run.id[:8]}",
            )
        if run.state is RunState.CANCELLING:
            return run
        new = RunState.CANCELLED if run.state is RunState.SCHEDULED else RunState.CANCELLING
        try:
            return store.runs.set_state(run.id, new, "cancelled by the user")
        except ConflictError:
            run = store.runs.get(run.id)
    raise ConflictError(f"flow run {run.name!r} keeps changing state; try again", hint=LS_HINT)


def delete_run(store: Store, ref: str) -> FlowRun:
    """Delete a run with its logs and task runs: a SCHEDULED or finished one. A PENDING, RUNNING or CANCELLING
    run is a ConflictError (its worker owns it: cancel it first). Returns the run as it was."""
    run = resolve_run(store, ref)
    deletable = {RunState.SCHEDULED, *TERMINAL}
    if run.state in deletable and store.runs.delete(run.id, deletable):
        return run
    current = store.runs.get(run.id)
    raise ConflictError(
        f"flow run {run.name!r} is {current.state}: a worker runs it, so it cannot be deleted now",
        hint=f"cancel it first: deploytool flow-run cancel {run.id[:8]}",
    )


def retry_run(store: Store, ref: str, now: datetime | None = None) -> FlowRun:
    """Queue a finished run (COMPLETED, FAILED, CRASHED, CANCELLED) again: SCHEDULED, due now, attempt + 1.

    An active or queued run is a ConflictError (one run never has two executions); so is a run whose
    deployment was deleted (nothing to run it from).
    """
    run = resolve_run(store, ref)
    if run.state not in TERMINAL:
        hint = (
            "it is already queued: deploytool flow-run why " + run.id[:8]
            if run.state is RunState.SCHEDULED
            else f"wait for it to finish, or cancel it first: deploytool flow-run cancel {run.id[:8]}"
        )
        raise ConflictError(f"flow run {run.name!r} is {run.state}; only a finished run can be retried", hint=hint)
    if run.deployment_id is None:
        raise ConflictError(
            f"flow run {run.name!r} cannot be retried: its deployment was deleted",
            hint=f"deploy it again and start a new run: deploytool run {run.flow_name}/{run.deployment_name}",
        )
    message = f"retried by the user after {run.state} (attempt {run.attempt + 1})"
    return store.runs.retry(run.id, message, now=now, expect_attempt=run.attempt)


@record
class SubmittedRun:
    """What `deploytool run` created: the run, whether it is new (False: an idempotency key matched an
    existing run), the store's time then, the status of its pool (NOT_READY: no worker can take it) and why
    (None: no worker at all)."""

    run: FlowRun
    new: bool
    now: datetime  # the store's clock, which the run's scheduled time and the heartbeats are written by
    pool_status: PoolStatus
    pool_problem: str | None = None

    @property
    def pool_notice(self) -> str | None:
        """What to tell the user of its pool (None while it is READY)."""
        return pool_notice(self.run.pool_name, self.pool_status, self.pool_problem)

    def summary(self) -> RunSummary:
        """The run as `flow-run ls` shows it, judged late or not by the store's clock."""
        return RunSummary.of(self.run, self.now)


def pool_readiness_of(store: Store, pool_name: str, now: datetime) -> tuple[PoolStatus, str | None]:
    """The pool's status at `now` and why it is NOT_READY, as `work-pool ls` says it (deploytool.store's
    pool_readiness: the rule of `worker ls`)."""
    pool = get_pool(store, pool_name)
    return pool_readiness(pool.paused, store.workers.list(pool_name), now)


def pool_notice(pool: str, status: PoolStatus, problem: str | None) -> str | None:
    """What `run` and `run --watch` say of a pool nobody can serve: paused, NOT_READY in the words of `work-pool
    ls` (`pool P is NOT_READY: worker W on H is stale: ...`), or no worker at all; None while it is READY."""
    if status is PoolStatus.PAUSED:
        return f"pool {pool} is paused: resume it with deploytool work-pool resume {pool}"
    if status is PoolStatus.READY:
        return None
    if problem is not None:
        return f"pool {pool} is NOT_READY: {problem}"
    return f"no worker is polling pool {pool}: start one with deploytool worker start --pool {pool}"


def submit_run(
    store: Store,
    deployment_name: str,
    parameters: Mapping[str, Any] | None = None,
    job_variables: Mapping[str, Any] | None = None,
    scheduled_time: datetime | timedelta | None = None,
    idempotency_key: str | None = None,
    *,
    parameter_text: Mapping[str, str] | None = None,
) -> SubmittedRun:
    """`create_run`, and what the user should know about it."""
    run, new = _create_run(
        store,
        deployment_name,
        parameters,
        job_variables,
        scheduled_time,
        idempotency_key,
        parameter_text=parameter_text,
    )
    now = store.now()
    return SubmittedRun(run, new, now, *pool_readiness_of(store, run.pool_name, now))
