"""Checks the schema cannot express: entrypoints and parameters, schedules, names (steps and placeholders: stepcheck).

Everything here reads data the schema has already shaped, defensively: a part the schema rejected is skipped,
so each problem is reported once.
"""

from __future__ import annotations

from pathlib import Path as FsPath

from deploytool import crashretry
from deploytool.config.flowscan import EntrypointError, FlowInfo, scan_entrypoint
from deploytool.config.paramcheck import check_parameters
from deploytool.config.project import (
    DeploymentSpec,
    Project,
    effective_steps,
    normalise_concurrency,
    normalise_tags,
    schedules_of,
    step_calls,
)
from deploytool.config.report import Reporter
from deploytool.config.schedules import check_schedule
from deploytool.config.stepcheck import check_refs_in, check_step_ids, check_step_refs
from deploytool.config.yamlload import Path, Positions
from deploytool.errors import ConfigIssue, close_matches

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

_LEGACY_SCHEDULE_KEYS = {
    "max_active_runs": "use the deployment's concurrency_limit instead",
    "catchup": "deploytool's catch-up policy decides what happens to missed runs",
}


def check_project(
    data: dict[str, Any],
    positions: Positions,
    file: FsPath,
    filename: str,
    *,
    default_pool: str | None = None,
    prefect_compat: bool = False,
) -> tuple[Project, list[ConfigIssue]]:
    """Run the semantic checks and build the Project (best effort where there are errors)."""
    report = Reporter(data, positions, filename, [])
    base_dir = file.parent
    top_steps = {action: step_calls(data.get(action), (action,)) for action in ("build", "push", "pull")}
    check_step_ids(report, top_steps["build"] + top_steps["push"] + top_steps["pull"], {})
    check_step_refs(report, top_steps["build"], top_steps["push"], top_steps["pull"])

    deployments: list[DeploymentSpec] = []
    seen: dict[tuple[str, str], int] = {}
    items = data.get("deployments")
    for index, raw in enumerate(items if isinstance(items, list) else []):
        if not isinstance(raw, dict):
            continue
        spec = _check_deployment(report, data, raw, index, base_dir, default_pool, prefect_compat)
        if spec is None:
            continue
        key = (spec.flow_name.replace("_", "-"), spec.name)
        if key in seen:
            first_line = positions.locate(("deployments", seen[key], "name"))[0]
            report.error(
                ("deployments", index, "name"),
                f"deployment {spec.full_name!r} is defined twice (first at line {first_line})",
                "deployment names must be unique for each flow; rename one",
            )
        else:
            seen[key] = index
        deployments.append(spec)

    project = Project(
        file=file,
        name=data.get("name") if isinstance(data.get("name"), str) else None,
        deployments=deployments,
        build=top_steps["build"],
        push=top_steps["push"],
        pull=top_steps["pull"],
        positions=positions,
    )
    return project, report.issues


def _check_deployment(
    report: Reporter,
    data: dict[str, Any],
    raw: dict[str, Any],
    index: int,
    base_dir: FsPath,
    default_pool: str | None,
    prefect_compat: bool,
) -> DeploymentSpec | None:
    here: Path = ("deployments", index)
    name = raw.get("name")
    given_entrypoint = raw.get("entrypoint")
    # A missing or wrong name or entrypoint (reported by the schema) does not stop the other checks: every
    # problem of the deployment is reported at once; only the spec is not built.
    complete = isinstance(name, str) and isinstance(given_entrypoint, str)
    entrypoint = given_entrypoint if isinstance(given_entrypoint, str) else ""

    info: FlowInfo | None = None
    if entrypoint and "{{" not in entrypoint:
        try:
            info = scan_entrypoint(entrypoint, base_dir)
        except EntrypointError as exc:
            report.error((*here, "entrypoint"), exc.message, exc.hint)
    _check_entrypoint_place(report, entrypoint, base_dir, (*here, "entrypoint"))
    function = info.function if info else entrypoint.rpartition(":")[2].rpartition(".")[2]
    flow_name = info.flow_name if info else function.replace("_", "-")
    if info is not None and not info.is_flow:
        report.warn(
            (*here, "entrypoint"),
            f"function {function!r} is not decorated with @flow",
            "add `from deploytool import flow` and `@flow` so its options (name, retries, ...) are known",
        )
    flow_name_given = raw.get("flow_name")
    if isinstance(flow_name_given, str) and info is not None and flow_name_given != info.flow_name:
        report.warn(
            (*here, "flow_name"),
            f"flow_name {flow_name_given!r} differs from the flow's name {info.flow_name!r}, which is used",
            "remove flow_name: it is always taken from the flow",
        )

    parameters = raw.get("parameters") if isinstance(raw.get("parameters"), dict) else {}
    schema = info.parameter_schema if info else {}
    if info is not None:
        for problem in check_parameters(schema, parameters or {}):
            at = (*here, "parameters", problem.name) if problem.name in (parameters or {}) else (*here, "parameters")
            if "parameters" not in raw:
                at = (*here, "name")
            report.error(at, problem.message, problem.hint, key=problem.name in (parameters or {}))

    schedules, schedules_given = schedules_of(raw)
    _check_schedules(report, raw, here)
    if info is not None and raw.get("enforce_parameter_schema", True) is not False:
        _check_schedule_parameters(report, raw, here, schema, parameters or {})

    given_pool = raw.get("work_pool")
    pool: dict[str, Any] = given_pool if isinstance(given_pool, dict) else {}
    pool_name = pool.get("name") if isinstance(pool.get("name"), str) else None
    typo = _misspelled(raw, "work_pool")
    if typo is not None and not pool_name and not default_pool:
        if prefect_compat:  # the unknown key is only a warning in a prefect.yaml: say what it costs
            report.error(
                (*here, typo),
                f"unknown key {typo!r}: did you mean 'work_pool'?",
                "the deployment has no work pool",
                key=True,
            )
    elif not pool_name and not default_pool:
        report.error(
            (*here, "work_pool") if "work_pool" in raw else (*here, "name"),
            "no work pool: every deployment names the pool whose workers run it",
            "add `work_pool: {name: my-pool}` (create it with `deploytool work-pool create my-pool --type process`)",
            key="work_pool" in raw,
        )

    triggers = raw.get("triggers")
    if triggers:
        report.warn(
            (*here, "triggers"),
            "triggers (Prefect automations) are not supported by deploytool and are ignored",
            key=True,
        )

    steps = {}
    own_ids: dict[str, Path] = {}
    for action in ("build", "push", "pull"):
        calls, own = effective_steps(raw, data, action, index)
        steps[action] = calls
        if own:
            check_step_ids(report, calls, own_ids)
    if any(a in raw for a in ("build", "push", "pull")):
        check_step_refs(report, steps["build"], steps["push"], steps["pull"], own_only=raw)
    available = {c.id: c for c in steps["build"] + steps["push"] if c.id}
    for action_free_key in sorted(k for k in raw if k not in ("build", "push", "pull", "triggers")):
        check_refs_in(report, raw[action_free_key], (*here, action_free_key), available)

    version = raw.get("version")
    if not complete or not isinstance(name, str):
        return None
    return DeploymentSpec(
        name=name,
        flow_name=flow_name,
        function=function,
        entrypoint=entrypoint,
        entrypoint_file=info.path if info else None,
        description=raw.get("description")
        if isinstance(raw.get("description"), str)
        else (info.description if info else None),
        version=version if isinstance(version, str) else None,
        tags=normalise_tags(raw.get("tags")),
        parameters=dict(parameters or {}),
        parameter_schema=schema,
        enforce_parameter_schema=raw.get("enforce_parameter_schema", True) is not False,
        work_pool=pool_name or default_pool,
        work_queue=pool.get("work_queue_name") if isinstance(pool.get("work_queue_name"), str) else None,
        job_variables=dict(pool.get("job_variables") or {}) if isinstance(pool.get("job_variables"), dict) else {},
        schedules=schedules,
        schedules_given=schedules_given,
        paused=raw.get("paused") if isinstance(raw.get("paused"), bool) else None,
        concurrency_limit=normalise_concurrency(raw.get("concurrency_limit")),
        catch_up=raw["catch_up"] if raw.get("catch_up") in ("all", "latest", "none") else "latest",
        crash_retries=crashretry.normalise(raw.get("crash_retries")),
        build=steps["build"],
        push=steps["push"],
        pull=steps["pull"],
        index=index,
        raw=raw,
    )


def _misspelled(raw: dict[str, Any], key: str) -> str | None:
    """A key of `raw` that looks like a typo of the absent `key`: the schema reports it with a did-you-mean,
    which says more than an error about `key` missing."""
    if key in raw:
        return None
    return next((str(k) for k in raw if close_matches(k, [key])), None)


def _check_entrypoint_place(report: Reporter, entrypoint: str, base_dir: FsPath, at: Path) -> None:
    """An entrypoint outside the project's directory works on this machine only: warn."""
    where = entrypoint.rpartition(":")[0] if ":" in entrypoint else ""
    if not where or "{{" in where:
        return
    path = FsPath(where)
    if path.is_absolute():
        why = f"the entrypoint is an absolute path ({where})"
    else:
        try:
            (base_dir / path).resolve().relative_to(base_dir.resolve())
            return
        except ValueError:
            why = f"the entrypoint {where} is outside the project's directory"
    report.warn(
        at,
        why,
        "a worker on another machine, in a container or after a git_clone pull step will not find it; "
        "write the path relative to the project file, inside the project",
    )


def _schedule_items(raw: dict[str, Any], here: Path) -> list[tuple[Path, Any]]:
    items: list[tuple[Path, Any]] = []
    if isinstance(raw.get("schedule"), dict) and raw["schedule"]:
        items.append(((*here, "schedule"), raw["schedule"]))
    if isinstance(raw.get("schedules"), list):
        items.extend(((*here, "schedules", i), item) for i, item in enumerate(raw["schedules"]))
    return items


def _check_schedule_parameters(
    report: Reporter, raw: dict[str, Any], here: Path, schema: dict[str, Any], parameters: dict[str, Any]
) -> None:
    """Each schedule's own parameters fit the flow's signature, and every run it makes has every required
    parameter: otherwise each of its runs would fail (the scheduler makes none and says so)."""
    for path, item in _schedule_items(raw, here):
        if not isinstance(item, dict) or item.get("active") is False:
            continue
        given = item.get("parameters")
        own: dict[str, Any] = given if isinstance(given, dict) else {}
        for problem in check_parameters(schema, own):
            report.error((*path, "parameters", problem.name), problem.message, problem.hint, key=True)
        for problem in check_parameters(schema, {**parameters, **own}, require_all=True):
            if problem.message.startswith("required parameter") and problem.name not in own:
                report.warn(
                    path,
                    f"{problem.message}: every run of this schedule would fail (the scheduler makes none)",
                    f"give it under the deployment's parameters, or under this schedule's parameters; {problem.hint}"
                    if problem.hint
                    else None,
                )


def _check_schedules(report: Reporter, raw: dict[str, Any], here: Path) -> None:
    legacy = raw.get("schedule")
    many = raw.get("schedules")
    if isinstance(legacy, dict) and legacy and isinstance(many, list) and many:
        report.error(
            (*here, "schedule"),
            "both `schedule` and `schedules` are given",
            "move the legacy `schedule` into the `schedules` list",
            key=True,
        )
    items: list[tuple[Path, Any]] = []
    if isinstance(legacy, dict):
        items.append(((*here, "schedule"), legacy))
    if isinstance(many, list):
        items.extend(((*here, "schedules", i), item) for i, item in enumerate(many))
    for path, item in items:
        if not isinstance(item, dict):
            continue
        for key, why in _LEGACY_SCHEDULE_KEYS.items():
            if key in item:
                report.warn(
                    (*path, key),
                    f"{key!r} is a Prefect 2 schedule key that Prefect 3 ignores; ignored",
                    why,
                    key=True,
                )
        if sum(k in item for k in ("cron", "interval", "rrule")) != 1:
            continue  # the schema reports it
        for problem in check_schedule(item):
            at = (*path, problem.key) if problem.key in item else path
            if problem.severity == "warning":
                report.warn(at, problem.message, problem.hint)
            else:
                report.error(at, problem.message, problem.hint)
