"""Registered deployments: find by FLOW/NAME, list, inspect (redacted), render the job configuration, delete.

Listing and inspecting return typed results (DeploymentSummary, DeploymentDetail) whose `to_dict()` is their
JSON (`deployment ls/inspect -o json`, the dashboard's API).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from deploytool.core.results import redacted
from deploytool.core.summary import schedules_text
from deploytool.core.values import store_redactor
from deploytool.errors import DeploytoolError, NotFoundError, did_you_mean
from deploytool.models import Deployment, utcnow
from deploytool.records import record
from deploytool.store import Store

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

    from deploytool.jobvars import Layers, ValueSource
    from deploytool.templating import TemplateContext


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


@record
class DeploymentSummary:
    """A deployment as `deployment ls` shows it: where its runs go, its schedules and its next run."""

    id: str
    full_name: str
    flow_name: str
    name: str
    pool: str
    queue: str
    schedules: list[dict[str, Any]]
    schedules_text: str
    paused: bool
    catch_up: str
    next_run: datetime | None
    tags: list[str]
    updated: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: a row of `deployment ls -o json`."""
        return {
            "id": self.id,
            "full_name": self.full_name,
            "flow_name": self.flow_name,
            "name": self.name,
            "pool": self.pool,
            "queue": self.queue,
            "schedules": self.schedules,
            "schedules_text": self.schedules_text,
            "paused": self.paused,
            "catch_up": self.catch_up,
            "next_run": _iso(self.next_run),
            "tags": self.tags,
            "updated": self.updated.isoformat(),
        }


@record
class NextRun:
    """A time one of a deployment's active schedules makes a run, and that schedule in words."""

    time: datetime
    schedule: str


@record
class DeploymentDetail:
    """A deployment as `deployment inspect` shows it (stored secrets masked), with its next run times."""

    deployment: Deployment
    next_runs: list[NextRun]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the `data` of `deployment inspect -o json`."""
        d = self.deployment
        return {
            "id": d.id,
            "flow_name": d.flow_name,
            "name": d.name,
            "entrypoint": d.entrypoint,
            "work_pool": d.pool_name,
            "work_queue": d.queue_name,
            "parameters": d.parameters,
            "parameter_schema": d.parameter_schema,
            "job_variables": d.job_variables,
            "pull_steps": d.pull_steps,
            "schedules": d.schedules,
            "tags": d.tags,
            "version": d.version,
            "description": d.description,
            "concurrency_limit": d.concurrency_limit,
            "crash_retries": d.crash_retries,
            "enforce_parameter_schema": d.enforce_parameter_schema,
            "paused": d.paused,
            "catch_up": d.catch_up,
            "next_runs": [{"time": n.time.isoformat(), "schedule": n.schedule} for n in self.next_runs],
            "source_file": d.source_file,
            "content_hash": d.content_hash,
            "created": d.created.isoformat(),
            "updated": d.updated.isoformat(),
        }


def list_deployments(store: Store, pool: str | None = None, now: datetime | None = None) -> list[DeploymentSummary]:
    """Every deployment (of one pool, or all), by name."""
    from deploytool.scheduling import next_run_time

    now = now or utcnow()
    return [
        DeploymentSummary(
            id=d.id,
            full_name=d.full_name,
            flow_name=d.flow_name,
            name=d.name,
            pool=d.pool_name,
            queue=d.queue_name,
            schedules=d.schedules,
            schedules_text=schedules_text(d.schedules),
            paused=d.paused,
            catch_up=d.catch_up,
            next_run=next_run_time(d, now),
            tags=d.tags,
            updated=d.updated,
        )
        for d in store.deployments.list(pool)
    ]


def inspect_deployment(store: Store, full_name: str, now: datetime | None = None) -> DeploymentDetail:
    """A deployment and its next 5 run times. Stored deployments hold block references, not secrets; values
    that match a stored secret anyway are masked."""
    deployment = find(store, full_name)
    detail = DeploymentDetail(deployment, _next_runs(deployment, now or utcnow(), 5))
    return redacted(detail, store_redactor(store))


def render_deployment(store: Store, full_name: str, run_job_variables: Mapping[str, Any]) -> dict[str, Any]:
    """The job configuration a run gets, before run-time secrets and values are resolved by the worker."""
    from deploytool.jobvars import render_job_configuration

    template, _, merged, context = _job_layers(store, full_name, run_job_variables)
    return render_job_configuration(template, merged, context)


def explain_deployment(store: Store, full_name: str, run_job_variables: Mapping[str, Any]) -> list[ValueSource]:
    """Each value of the job configuration `render_deployment` gives, with the layer that set it."""
    from deploytool.jobvars import explain

    template, layers, _, context = _job_layers(store, full_name, run_job_variables)
    return explain(template, layers, context)


def _job_layers(
    store: Store, full_name: str, run_job_variables: Mapping[str, Any]
) -> tuple[dict[str, Any], Layers, dict[str, Any], TemplateContext]:
    from deploytool.jobvars import job_variable_layers, merge_layers, validate_job_variables
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
    return template, layers, merged, TemplateContext(keep=frozenset(NAMESPACES) | DEPLOY_KEEP)


def _next_runs(deployment: Deployment, now: datetime, count: int) -> list[NextRun]:
    """The next `count` run times of the deployment's active schedules, each with the schedule that makes it."""
    from deploytool.config.schedule_times import next_times
    from deploytool.scheduling import live_schedules

    times = [
        (when, live.describe()) for live in live_schedules(deployment) for when in next_times(live.schedule, now, count)
    ]
    return [NextRun(when, text) for when, text in sorted(times)[:count]]


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
