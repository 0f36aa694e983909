"""Registered deployments: find by FLOW/NAME, list, inspect (redacted), render the job configuration, delete."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from deploytool.core.summary import schedules_text
from deploytool.core.values import store_redactor
from deploytool.errors import DeploytoolError, NotFoundError, did_you_mean
from deploytool.models import Deployment, utcnow
from deploytool.store import Store


def find(store: Store, full_name: str) -> Deployment:
    """`FLOW/NAME` (the flow part matches with underscores or hyphens), or a deployment `NAME` alone when exactly
    one flow has a deployment of that name. A name that matches nothing gets a did-you-mean among the stored
    deployments; a bare name that several flows use is an error listing them."""
    flow, sep, name = full_name.partition("/")
    if not sep and full_name.strip():
        return _by_bare_name(store, full_name.strip())
    if not flow or not name:
        raise DeploytoolError(
            f"{full_name!r} is not FLOW/DEPLOYMENT", "name a deployment as it shows in `deploytool deployment ls`"
        )
    try:
        return store.deployments.get_by_name(flow, name)
    except NotFoundError as exc:
        known = [d.full_name for d in store.deployments.list()]
        close = did_you_mean(f"{flow}/{name}", known) or did_you_mean(full_name.replace("_", "-"), known)
        raise NotFoundError(exc.message, hint=close or exc.hint) from None


def _by_bare_name(store: Store, name: str) -> Deployment:
    everything = store.deployments.list()
    matches = [d for d in everything if d.name == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        listing = ", ".join(d.full_name for d in matches)
        raise DeploytoolError(
            f"deployment name {name!r} is used by {len(matches)} flows: {listing}",
            hint=f"name one as FLOW/DEPLOYMENT, e.g. deploytool run {matches[0].full_name}",
        )
    close = did_you_mean(name, sorted({d.name for d in everything}))
    if close:
        candidates = [d.full_name for d in everything if f"{d.name!r}" in close]
        close = f"did you mean {candidates[0]!r}?" if len(candidates) == 1 else close
    raise NotFoundError(
        f"no deployment is named {name!r}",
        hint=close or "list deployments: deploytool deployment ls (name one as FLOW/DEPLOYMENT)",
    )


def list_deployments(store: Store, pool: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    from deploytool.scheduling import next_run_time

    now = now or utcnow()
    return [
        {
            "id": d.id,
            "full_name": d.full_name,
            "flow_name": d.flow_name,
            "name": d.name,
            "pool": d.pool_name,
            "queue": d.queue_name,
            "schedules": d.schedules,
            "schedules_text": schedules_text(d.schedules),
            "paused": d.paused,
            "catch_up": d.catch_up,
            "next_run": _iso(next_run_time(d, now)),
            "tags": d.tags,
            "updated": d.updated.isoformat(),
        }
        for d in store.deployments.list(pool)
    ]


def inspect_deployment(store: Store, full_name: str) -> dict[str, Any]:
    deployment = find(store, full_name)
    data = {
        "id": deployment.id,
        "flow_name": deployment.flow_name,
        "name": deployment.name,
        "entrypoint": deployment.entrypoint,
        "work_pool": deployment.pool_name,
        "work_queue": deployment.queue_name,
        "parameters": deployment.parameters,
        "parameter_schema": deployment.parameter_schema,
        "job_variables": deployment.job_variables,
        "pull_steps": deployment.pull_steps,
        "schedules": deployment.schedules,
        "tags": deployment.tags,
        "version": deployment.version,
        "description": deployment.description,
        "concurrency_limit": deployment.concurrency_limit,
        "crash_retries": deployment.crash_retries,
        "enforce_parameter_schema": deployment.enforce_parameter_schema,
        "paused": deployment.paused,
        "catch_up": deployment.catch_up,
        "next_runs": _next_runs(deployment, utcnow(), 5),
        "source_file": deployment.source_file,
        "content_hash": deployment.content_hash,
        "created": deployment.created.isoformat(),
        "updated": deployment.updated.isoformat(),
    }
    # Stored deployments hold block references, not secrets; this guards values that match a secret anyway.
    redacted: dict[str, Any] = store_redactor(store).value(data)
    return redacted


def render_deployment(
    store: Store, full_name: str, run_job_variables: Mapping[str, Any], *, explain: bool = False
) -> Any:
    """The job configuration a run gets, before run-time secrets and values are resolved by the worker.

    With `explain`, a list of {path, value, source} rows saying which layer set each value.
    """
    from deploytool.jobvars import (
        explain as explain_values,
    )
    from deploytool.jobvars import (
        job_variable_layers,
        merge_layers,
        render_job_configuration,
        validate_job_variables,
    )
    from deploytool.templating import DEPLOY_KEEP, NAMESPACES, TemplateContext

    deployment = find(store, full_name)
    pool = store.pools.get(deployment.pool_name)
    template = pool.base_job_template
    layers = job_variable_layers(template, deployment.job_variables, dict(run_job_variables) or None)
    merged, provenance = merge_layers(layers)
    problems = validate_job_variables(dict(run_job_variables), template, provenance)
    if problems:
        detail = "; ".join(p.format() for p in problems)
        raise DeploytoolError(f"--job-variable: {detail}", f"see `deploytool work-pool inspect {pool.name}`")
    # Run-time values and secrets are kept as placeholders: rendering here must never print a secret.
    context = TemplateContext(keep=frozenset(NAMESPACES) | DEPLOY_KEEP)
    if explain:
        return [
            {"path": row.path, "value": row.value, "source": row.source}
            for row in explain_values(template, layers, context)
        ]
    return render_job_configuration(template, merged, context)


def _next_runs(deployment: Deployment, now: datetime, count: int) -> list[dict[str, str]]:
    """The next `count` run times of the deployment's active schedules, each with the schedule that makes it."""
    from deploytool.config.schedule_times import next_times
    from deploytool.scheduling import live_schedules

    times = [
        (when, live.describe()) for live in live_schedules(deployment) for when in next_times(live.schedule, now, count)
    ]
    return [{"time": when.isoformat(), "schedule": text} for when, text in sorted(times)[:count]]


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def pause_deployment(store: Store, full_name: str, now: datetime | None = None) -> tuple[Deployment, int]:
    """Pause a deployment: its schedules stop, and their waiting runs are deleted (manual runs stay).

    Returns the deployment and how many scheduled runs were deleted. A redeploy keeps it paused unless the
    file says `paused: false`.
    """
    from deploytool.scheduling import prune

    with store.transaction():
        deployment = store.deployments.set_paused(find(store, full_name).id, True)
        removed = prune(store, deployment, now or utcnow())
    return deployment, removed


def resume_deployment(store: Store, full_name: str, now: datetime | None = None) -> tuple[Deployment, int]:
    """Resume a paused deployment: its schedules make runs again from now on (nothing missed is made up).

    Returns the deployment and how many runs were scheduled at once.
    """
    from deploytool.scheduling import schedule_deployment

    with store.transaction():
        deployment = store.deployments.set_paused(find(store, full_name).id, False)
        report = schedule_deployment(store, deployment.id, now or utcnow())
    return deployment, report.created


def delete_deployment(store: Store, full_name: str) -> tuple[str, int]:
    deployment = find(store, full_name)
    removed = store.deployments.delete(deployment.id)
    return deployment.full_name, removed
