"""Work pool use cases: create, list, inspect, update, pause/resume, delete, and base job templates.

Functions take an open Store and plain values and return models or typed results (PoolChange, PoolDeletion);
the CLI only parses arguments and renders what comes back. Listing and inspecting pools: core.pool_listing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from deploytool import pooltypes
from deploytool.errors import ConflictError, DeploytoolError, NotFoundError, did_you_mean
from deploytool.models import ACTIVE, RunState, WorkPool
from deploytool.records import field, record
from deploytool.store import Store

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

_UNSET: Any = object()
_BAD_NAME = re.compile(r"[/%\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME = 100


@record
class PoolChange:
    """A stored pool and the warnings the change raised (e.g. deployments whose job variables no longer fit)."""

    pool: WorkPool
    warnings: list[str] = field(default_factory=list)


@record
class PoolDeletion:
    """What deleting a pool did besides removing it and its queues."""

    name: str
    cancelled_runs: int = 0
    deleted_scheduled_runs: int = 0
    deleted_deployments: int = 0


def check_description(description: str | None) -> str | None:
    """`description` if it is one line of text; a control character (newline, escape) would garble listings."""
    if description is not None and _CONTROL.search(description):
        raise DeploytoolError(
            f"--description {description!r} contains a control character (a newline, tab or escape)",
            hint="give one line of plain text",
        )
    return description


def check_name(kind: str, name: str) -> str:
    """`name` if it is a usable name for a `kind` ("work pool", "work queue"); else a DeploytoolError."""
    if not name or not name.strip():
        raise DeploytoolError(f"a {kind} name cannot be empty", hint="give it a name such as 'local'")
    if name != name.strip():
        raise DeploytoolError(f"{kind} name {name!r} starts or ends with whitespace", hint=f"use {name.strip()!r}")
    if _BAD_NAME.search(name):
        raise DeploytoolError(
            f"{kind} name {name!r} contains '/', '%' or a control character", hint="use letters, digits, '-', '_', '.'"
        )
    if len(name) > MAX_NAME:
        raise DeploytoolError(f"{kind} name is {len(name)} characters long", hint=f"use at most {MAX_NAME}")
    return name


MAX_COUNT = 1_000_000_000
"""The largest concurrency limit, queue priority or list limit: far beyond any real one, well inside what every
store keeps as an integer."""


def check_limit(option: str, value: int | None) -> int | None:
    """A concurrency limit is None (no limit) or a whole number >= 0 (0 stops all runs)."""
    if value is not None and value < 0:
        raise DeploytoolError(f"{option} must be 0 or more, not {value}", hint=f"omit {option} for no limit")
    return check_at_most(option, value, hint=f"omit {option} for no limit")


def check_at_most(option: str, value: int | None, *, hint: str | None = None) -> int | None:
    """`value` unless it is above MAX_COUNT (a DeploytoolError naming `option`)."""
    if value is not None and value > MAX_COUNT:
        shown = str(value) if len(str(value)) <= 30 else f"{str(value)[:12]}... ({len(str(value))} digits)"
        raise DeploytoolError(f"{option} {shown}: too large (at most {MAX_COUNT})", hint=hint)
    return value


def get_pool(store: Store, name: str, job_variables: Mapping[str, Any] | None = None) -> WorkPool:
    """The pool called `name`; else the NotFoundError of `missing_pool`."""
    try:
        return store.pools.get(name)
    except NotFoundError:
        raise missing_pool(store, name, job_variables) from None


def missing_pool(store: Store, name: str, job_variables: Mapping[str, Any] | None = None) -> NotFoundError:
    """A pool that does not exist: a did-you-mean among the stored pools, and the command that creates it, of the
    type that fits `job_variables` (those of the deployment that wants it: `image` makes it a docker pool)."""
    import shlex  # for the hints only: listings load no shlex

    close = did_you_mean(name, [p.name for p in store.pools.list()])
    create = f"deploytool work-pool create {shlex.quote(name)} --type {pool_type_for(job_variables or {})}"
    hint = f"{close} Or create it: {create}" if close else f"create it: {create}"
    return NotFoundError(f"work pool {name!r} not found", hint=hint)


def pool_type_for(job_variables: Mapping[str, Any]) -> str:
    """The first registered pool type whose job variables include all of these (process when none does)."""
    names = pooltypes.names()
    for name in names:
        properties = pooltypes.pool_type(name).load_base_job_template().get("variables", {}).get("properties", {})
        if set(job_variables) <= set(properties):
            return name
    return names[0]


def check_pool_type(pool_type: str) -> str:
    """`pool_type` if it is a known work pool type (deploytool.pooltypes); else an error listing the known ones."""
    return pooltypes.pool_type(pool_type).name


def default_template(pool_type: str) -> dict[str, Any]:
    """The default base job template of a pool type (what `--base-job-template` starts from)."""
    from deploytool.jobvars import default_base_job_template  # and templating: not for listing pools

    return default_base_job_template(check_pool_type(pool_type))


def read_base_job_template(path: Path, pool_type: str | None = None) -> dict[str, Any]:
    """Read and validate a base job template JSON file. Every problem is listed in one DeploytoolError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DeploytoolError(
            f"cannot read base job template {path}: {reason}",
            hint=_template_hint(pool_type),
        ) from None
    from deploytool.core.values import load_json

    try:
        template = load_json(text, str(path))
    except json.JSONDecodeError as exc:
        raise DeploytoolError(
            f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}", hint="a base job template is a JSON object"
        ) from None
    check_base_job_template(template, str(path), pool_type)
    return dict(template)


def check_base_job_template(template: Any, source: str, pool_type: str | None = None) -> None:
    """DeploytoolError listing every problem of `template` (from `source`, for the message); None if valid."""
    from deploytool.jobvars import validate_base_job_template

    issues = validate_base_job_template(template)
    if not issues:
        return
    noun = "problem" if len(issues) == 1 else "problems"
    lines = "\n".join(f"  {source}: {issue.format()}" for issue in issues)
    raise DeploytoolError(
        f"base job template {source} is invalid ({len(issues)} {noun}):\n{lines}", hint=_template_hint(pool_type)
    )


def _template_hint(pool_type: str | None) -> str:
    return (
        f"start from the default: deploytool work-pool get-default-base-job-template --type {pool_type or 'process'}"
        " --file template.json"
    )


def create_pool(
    store: Store,
    name: str,
    pool_type: str,
    *,
    base_job_template: dict[str, Any] | None = None,
    concurrency_limit: int | None = None,
    paused: bool = False,
    description: str | None = None,
    overwrite: bool = False,
) -> PoolChange:
    """Create a pool (and its `default` queue). Without a template, the type's default template is used.

    With `overwrite`, an existing pool of the same name is replaced (its queues are kept); changing its type
    while deployments use it is refused. Warnings name deployments whose job variables the template rejects.
    """
    check_name("work pool", name)
    check_pool_type(pool_type)
    check_limit("--concurrency-limit", concurrency_limit)
    check_description(description)
    template = default_template(pool_type) if base_job_template is None else base_job_template
    check_base_job_template(template, "(given)", pool_type)
    pool = WorkPool(
        name=name,
        type=pool_type,
        base_job_template=template,
        concurrency_limit=concurrency_limit,
        paused=paused,
        description=description,
    )
    with store.transaction():
        users = store.deployments.list(pool_name=name) if overwrite else []
        if users:
            current = store.pools.get(name)
            if current.type != pool_type:
                import shlex  # for the hint only

                raise ConflictError(
                    f"work pool {name!r} is a {current.type} pool used by {len(users)} deployment(s);"
                    f" it cannot become a {pool_type} pool",
                    hint="create a new pool, or delete the deployments first (deploytool work-pool delete"
                    f" {shlex.quote(name)} --force deletes them with it)",
                )
        stored = store.pools.create(pool, overwrite=overwrite)
    return PoolChange(stored, _deployment_warnings(store, name, template))


def update_pool(
    store: Store,
    name: str,
    *,
    base_job_template: dict[str, Any] = _UNSET,
    concurrency_limit: int | None = _UNSET,
    description: str | None = _UNSET,
) -> PoolChange:
    """Change the given fields of a pool (`concurrency_limit=None` removes the limit).

    A new template replaces the whole template (as Prefect does); it was validated by the caller through
    read_base_job_template. DeploytoolError if nothing is given to change.
    """
    changes: dict[str, Any] = {}
    if base_job_template is not _UNSET:
        pool_type = get_pool(store, name).type
        check_base_job_template(base_job_template, "(given)", pool_type)
        changes["base_job_template"] = base_job_template
    if concurrency_limit is not _UNSET:
        changes["concurrency_limit"] = check_limit("--concurrency-limit", concurrency_limit)
    if description is not _UNSET:
        changes["description"] = check_description(description)
    if not changes:
        raise DeploytoolError(
            f"nothing to update for work pool {name!r}",
            hint="give --base-job-template FILE, --concurrency-limit N, --no-concurrency-limit or --description",
        )
    get_pool(store, name)
    pool = store.pools.update(name, **changes)
    warnings = _deployment_warnings(store, name, pool.base_job_template) if "base_job_template" in changes else []
    return PoolChange(pool, warnings)


def set_paused(store: Store, name: str, paused: bool) -> WorkPool:
    """Pause (workers claim nothing from it) or resume a pool."""
    get_pool(store, name)
    return store.pools.update(name, paused=paused)


def delete_pool(store: Store, name: str, *, force: bool = False) -> PoolDeletion:
    """Delete a pool with its queues and worker records.

    Without `force`: refused (ConflictError naming the runs or deployments) while runs are active or
    deployments use the pool. With `force`: active runs are cancelled, scheduled runs and the pool's
    deployments deleted; finished runs stay as history.
    """
    with store.transaction():
        get_pool(store, name)
        counts = store.runs.counts().get(name)
        n_active = counts.running if counts else 0
        active = store.runs.list(state=ACTIVE, pool_name=name, limit=5)
        deployments = store.deployments.list(pool_name=name)
        if not force and n_active:
            shown = ", ".join(f"{r.flow_name}/{r.deployment_name} run {r.name!r} ({r.state.value})" for r in active)
            more = f" and {n_active - len(active)} more" if n_active > len(active) else ""
            raise ConflictError(
                f"work pool {name!r} has {n_active} active run(s): {shown}{more}",
                hint="wait for them to finish or cancel them (deploytool flow-run cancel ID),"
                " or delete with --force to cancel them",
            )
        if not force and deployments:
            shown = ", ".join(d.full_name for d in deployments[:5])
            more = f" and {len(deployments) - 5} more" if len(deployments) > 5 else ""
            raise ConflictError(
                f"work pool {name!r} is used by {len(deployments)} deployment(s): {shown}{more}",
                hint="delete or move those deployments first, or delete with --force to delete them too",
            )
        cancelling = len(store.runs.list(state=RunState.CANCELLING, pool_name=name, limit=max(n_active, 1)))
        store.pools.delete(name, force=force)
    return PoolDeletion(
        name,
        cancelled_runs=n_active - cancelling,
        deleted_scheduled_runs=counts.queued if counts else 0,
        deleted_deployments=len(deployments),
    )


def _deployment_warnings(store: Store, pool_name: str, template: Mapping[str, Any]) -> list[str]:
    """Deployments of the pool whose stored job variables the template rejects (they fail at run creation)."""
    from deploytool.jobvars import validate_job_variables

    warnings = []
    for deployment in store.deployments.list(pool_name=pool_name):
        for issue in validate_job_variables(deployment.job_variables, template):
            warnings.append(f"deployment {deployment.full_name}: job_variables.{issue.format()}")
    return warnings
