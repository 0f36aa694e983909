"""From a claimed run to a job ready to start: deployment, job variables, job configuration, run spec.

Everything here is resolved at launch, in the worker, with `Phase.RUN`: the worker's environment, stored
variables, blocks (secrets) and the run-time values `flow_run` and `deployment`. Secrets end up only in the
job's environment and its run spec: never in the store, and every string of a block the run uses is redacted
from the run's logs and state messages (`Prepared.secrets`).

A problem with the run itself (its deployment is gone, a template does not render, a block is missing, the
run spec is too large) is a `LaunchError`: the worker fails that run with the message, and carries on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploytool import pooltypes
from deploytool.engine.spec import RunSpec, RunSpecError
from deploytool.errors import DeploytoolError, NotFoundError
from deploytool.infra.base import Job
from deploytool.jobvars import (
    copy_tree,
    job_variable_layers,
    merge_layers,
    render_job_configuration,
    resolve_job_configuration,
)
from deploytool.models import Block, Deployment, FlowRun, WorkPool
from deploytool.secretbox import SecretKeyError
from deploytool.store import Store
from deploytool.templating import Phase, TemplateContext, render_tree
from deploytool.templating.context import leaf_strings
from deploytool.worker.jobconfig import JobTemplates, block_refs


class LaunchError(DeploytoolError):
    """The run cannot be launched as it is; the message says why (it becomes the run's state message)."""


@dataclass(frozen=True)
class Prepared:
    """A run ready to start: the job for the infrastructure and the secret values to keep out of its logs."""

    job: Job
    secrets: frozenset[str]
    working_dir: str | None
    stream_output: bool


def prepare(
    store: Store,
    run: FlowRun,
    pool: WorkPool,
    *,
    worker_name: str,
    environ: Mapping[str, str],
    cache: JobTemplates | None = None,
) -> Prepared:
    """Build the job of a claimed run. LaunchError, with a message for the run's log, when it cannot be built.
    `cache`: what earlier runs of the same template and job variables worked out (a worker keeps one)."""
    deployment = _deployment(store, run)
    template = pool.base_job_template
    layers = job_variable_layers(template, deployment.job_variables, run.job_variables)
    variables, _ = merge_layers(layers)
    pull_steps = deployment.pull_steps or []
    fixed = cache.fixed(template, variables, pull_steps) if cache is not None else None
    wanted = fixed.blocks if fixed is not None else block_refs(template, variables, pull_steps)
    try:
        blocks = _blocks(store, wanted)
        secret_blocks = _secret_values(store)
    except SecretKeyError as exc:  # decrypting a block's secrets: its name, what is wrong, what to do
        raise LaunchError(str(exc)) from None
    try:
        stored_variables = {v.name: v.value for v in store.variables.list()}
        runtime = runtime_values(run, deployment, pool, worker_name)
        context = TemplateContext.for_phase(
            Phase.RUN, env=dict(environ), variables=stored_variables, blocks=blocks, runtime=runtime
        )
        if cache is None or fixed is None:
            configuration = render_job_configuration(template, variables, context)
            steps = _render_pull_steps(pull_steps, context)
        else:
            fixed = cache.substituted(fixed, template, variables)
            assert fixed.substituted is not None
            configuration = resolve_job_configuration(
                template, variables, fixed.substituted, context, static=fixed.static
            )
            steps = _render_pull_steps(pull_steps, context, static=fixed.steps_static)
    except DeploytoolError as exc:
        raise LaunchError(f"the job configuration could not be rendered: {exc}") from None
    secrets = frozenset(secret_strings(blocks.values())) | frozenset(leaf_strings(list(secret_blocks.values())))
    local = pool.type in pooltypes.POOL_TYPES and pooltypes.pool_type(pool.type).local
    if local and not pull_steps and not configuration.get("working_dir"):
        project_dir = _project_dir(deployment)
        if project_dir is not None:
            configuration["working_dir"] = project_dir
    spec = RunSpec(
        run_id=run.id,
        flow_name=run.flow_name,
        deployment_name=run.deployment_name,
        entrypoint=deployment.entrypoint,
        parameters={**deployment.parameters, **run.parameters},
        pull_steps=steps,
        run_name=run.name,
        variables=stored_variables,
        secrets=secret_blocks,
    )
    try:
        env = spec.to_env()
    except RunSpecError as exc:
        raise LaunchError(str(exc)) from None
    working_dir = configuration.get("working_dir")
    return Prepared(
        job=Job(run_id=run.id, configuration=configuration, env=env),
        secrets=secrets,
        working_dir=str(working_dir) if working_dir else None,
        stream_output=configuration.get("stream_output") is True,
    )


def _secret_values(store: Store) -> dict[str, Any]:
    """The values of the `secret` blocks, for Prefect flow code's `Secret.load(name).get()` in the job (any flow
    run can read any Secret through Prefect's API; here they reach the job in its run spec, redacted from logs)."""
    return {b.name: b.data.get("value") for b in store.blocks.reveal_all("secret")}


def _deployment(store: Store, run: FlowRun) -> Deployment:
    if run.deployment_id is None:
        raise LaunchError(f"the deployment {run.flow_name}/{run.deployment_name} of this run was deleted")
    try:
        return store.deployments.get(run.deployment_id)
    except NotFoundError:
        raise LaunchError(f"the deployment {run.flow_name}/{run.deployment_name} of this run was deleted") from None


def runtime_values(run: FlowRun, deployment: Deployment, pool: WorkPool, worker_name: str) -> dict[str, Any]:
    """What `{{ flow_run.* }}`, `{{ deployment.* }}` and `{{ ctx.* }}` read at launch."""
    return {
        "flow_run": {
            "id": run.id,
            "name": run.name,
            "parameters": {**deployment.parameters, **run.parameters},
            "scheduled_time": run.scheduled_time.isoformat(),
            "attempt": run.attempt,
            "queue_name": run.queue_name,
        },
        "deployment": {
            "id": deployment.id,
            "name": deployment.name,
            "flow_name": deployment.flow_name,
            "full_name": deployment.full_name,
            "version": deployment.version,
            "tags": list(deployment.tags),
            "entrypoint": deployment.entrypoint,
        },
        "flow": {"name": deployment.flow_name},
        "work_pool": {"name": pool.name, "type": pool.type},
        "worker": {"name": worker_name},
    }


def _blocks(store: Store, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The blocks `wanted` (type, name), read. A missing one is left out: rendering then says which."""
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for btype, bname in sorted(wanted):
        try:
            block = store.blocks.reveal(btype, bname)  # decrypted here, at launch only
        except NotFoundError:
            continue
        found[(btype, bname)] = _with_secret_fields(block)
    return found


class _BlockData(dict[str, Any]):
    """A block's data that remembers which strings are its secrets (for `secret_strings`)."""

    secret: frozenset[str] = frozenset()


def _with_secret_fields(block: Block) -> Mapping[str, Any]:
    data = _BlockData(block.data)
    if block.secret_fields:
        data.secret = frozenset(s for path in block.secret_fields for s in leaf_strings(_at(block.data, path)))
    else:  # a block stored without its secret fields named: every string in it is treated as secret
        data.secret = frozenset(leaf_strings(block.data))
    return data


def _at(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def secret_strings(blocks: Iterable[Mapping[str, Any]]) -> set[str]:
    """The secret values of the blocks a run uses: what the run's logs and messages must never show."""
    found: set[str] = set()
    for data in blocks:
        found.update(data.secret if isinstance(data, _BlockData) else leaf_strings(data))
    return found


def _render_pull_steps(
    steps: list[dict[str, Any]], context: TemplateContext, *, static: bool = False
) -> list[dict[str, Any]]:
    """Resolve the pull steps' inputs, keeping `{{ <pull step id>.<key> }}` for the engine to fill in.
    `static`: no input holds a placeholder (jobvars.is_static), so they are copied as rendering would."""
    if not steps:
        return []
    if static:
        return [{**step, "inputs": copy_tree(step.get("inputs") or {})} for step in steps]
    ids = frozenset(str(s["id"]) for s in steps if isinstance(s, Mapping) and s.get("id"))
    keep = TemplateContext(
        env=context.env,
        variables=context.variables,
        blocks=context.blocks,
        runtime=context.runtime,
        keep=ids,
    )
    rendered = []
    for index, step in enumerate(steps):
        inputs = render_tree(step.get("inputs") or {}, keep, f"pull[{index}]")
        rendered.append({**step, "inputs": inputs})
    return rendered


def _project_dir(deployment: Deployment) -> str | None:
    """The directory of the project file the deployment came from, when it still exists here."""
    if not deployment.source_file:
        return None
    directory = Path(deployment.source_file).expanduser().parent
    return str(directory) if directory.is_dir() else None


def worker_environ() -> dict[str, str]:
    """The environment placeholders like `{{ $HOME }}` read at launch: the worker's own."""
    return dict(os.environ)
