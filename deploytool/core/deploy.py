"""`deploytool deploy`: select deployments, run build and push steps, resolve templates, plan, apply.

Nothing is written unless every selected deployment resolves and validates; then all of them are written
in one transaction, so a deploy is all or nothing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from deploytool.config import DeploymentSpec, Project
from deploytool.core.deploy_options import DeployOptions as DeployOptions  # re-exported: callers build it here
from deploytool.core.plan import Plan, plan_deployments
from deploytool.core.resolve import Resolver
from deploytool.errors import ConfigIssue, DeploytoolError
from deploytool.models import Deployment, utcnow
from deploytool.records import field, record, replace
from deploytool.scheduling import prune as prune_schedules
from deploytool.store import Store

if TYPE_CHECKING:
    from deploytool.steps.base import OutputSink


def select(project: Project, options: DeployOptions) -> list[DeploymentSpec]:
    """The deployments named by `-n` (NAME or FLOW/NAME, `*` wildcards), all with `--all`, or the only one."""
    specs = project.deployments
    if options.all and options.names:
        raise DeploytoolError("--all and --name cannot be used together", "use one or the other")
    if options.all:
        return list(specs)
    if not options.names:
        if len(specs) == 1:
            return list(specs)
        listing = ", ".join(s.full_name for s in specs)
        raise DeploytoolError(
            f"{project.file.name} has {len(specs)} deployments: {listing}",
            "name the ones to deploy with -n NAME (or -n FLOW/NAME), or deploy them all with --all",
        )
    chosen: list[DeploymentSpec] = []
    for pattern in options.names:
        matched = [s for s in specs if _matches(s, pattern)]
        if not matched:
            listing = ", ".join(s.full_name for s in specs)
            raise DeploytoolError(f"no deployment in {project.file.name} matches {pattern!r}", f"there are: {listing}")
        chosen.extend(s for s in matched if s not in chosen)
    return chosen


def _matches(spec: DeploymentSpec, pattern: str) -> bool:
    if "/" in pattern:
        flow, _, name = pattern.partition("/")
        flow_ok = fnmatch.fnmatchcase(spec.flow_name.replace("_", "-"), flow.replace("_", "-"))
        return flow_ok and fnmatch.fnmatchcase(spec.name, name)
    return fnmatch.fnmatchcase(spec.name, pattern)


@record(frozen=False)
class DeployResult:
    plan: Plan
    applied: bool
    rebuilt_images: list[str] = field(default_factory=list)  # same tag, new content (build_docker_image)
    warnings: list[ConfigIssue] = field(default_factory=list)  # accepted forms with a fix (e.g. ignored job variables)


def deploy(
    project: Project,
    store: Store,
    options: DeployOptions,
    *,
    env: Mapping[str, str],
    on_output: OutputSink | None = None,
) -> DeployResult:
    """Deploy the selected deployments of `project` into `store` (or only plan them, with dry_run)."""
    specs = select(project, options)
    resolver = Resolver(project, store, env=env, on_output=on_output, overrides=options)
    wanted: list[Deployment] = []
    for spec in specs:
        spec = _with_overrides(spec, options)
        wanted.append(resolver.resolve(spec))
    resolver.raise_if_problems()

    prune: list[Deployment] = []
    if options.prune:
        keep = {(d.flow_name.replace("_", "-"), d.name) for d in wanted}
        keep |= {(s.flow_name.replace("_", "-"), s.name) for s in project.deployments}
        prune = [
            d
            for d in store.deployments.list_by_source(str(project.file.resolve()))
            if (d.flow_name.replace("_", "-"), d.name) not in keep
        ]
    plan = plan_deployments(store, wanted, prune)
    rebuilt = list(dict.fromkeys(resolver.rebuilt_images))
    if options.dry_run or not plan.has_changes:
        return DeployResult(plan, applied=False, rebuilt_images=rebuilt, warnings=resolver.warnings)
    with store.transaction():
        for item in plan.items:
            if item.action in ("create", "update"):
                stored, _ = store.deployments.upsert(item.deployment)
                # A changed or removed schedule takes its waiting runs with it (deploytool.scheduling).
                prune_schedules(store, stored, utcnow())
            elif item.action == "delete":
                store.deployments.delete(item.deployment.id)
    return DeployResult(plan, applied=True, rebuilt_images=rebuilt, warnings=resolver.warnings)


def _with_overrides(spec: DeploymentSpec, options: DeployOptions) -> DeploymentSpec:
    from deploytool.jobvars import merge_layers

    changes: dict[str, Any] = {}
    if options.pool:
        changes["work_pool"] = options.pool
    if options.params:
        changes["parameters"] = {**spec.parameters, **options.params}
    if options.job_variables:
        # Merged into the file's job_variables key by key (Prefect 3.9 wipes the file's instead).
        merged, _ = merge_layers([("file", spec.job_variables), ("cli", options.job_variables)])
        changes["job_variables"] = merged
    if options.schedules is not None:
        changes["schedules"] = options.schedules
        changes["schedules_given"] = True
    return replace(spec, **changes) if changes else spec
