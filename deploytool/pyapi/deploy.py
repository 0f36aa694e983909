"""`Flow.deploy`: the flow's arguments as a one-deployment project, deployed by `core.deploy.deploy`.

That is the code path of `deploytool deploy`: the same validation, build and push steps (`dockerfile: auto`
by default), template resolution, job-variable checks against the pool, plan and apply. A deployment is known
by its flow and name, so running the script again updates it (or leaves it unchanged) instead of adding one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from deploytool.errors import DeploytoolError
from deploytool.pyapi.project import document, flow_source, format_error, load, schedules_of

Schedule = Mapping[str, Any]


def deploy_flow(
    fn: Callable[..., Any],
    *,
    name: str,
    work_pool_name: str,
    image: Any = None,
    build: bool = True,
    push: bool = True,
    job_variables: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    cron: str | Sequence[str] | None = None,
    interval: float | timedelta | Sequence[float | timedelta] | None = None,
    rrule: str | Sequence[str] | None = None,
    schedules: Sequence[Schedule] | None = None,
    tags: Sequence[str] | None = None,
    description: str | None = None,
    version: str | None = None,
    work_queue_name: str | None = None,
    pull: list[dict[str, Any]] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    announce: bool = True,
) -> str:
    """Deploy one deployment of the flow function `fn`; returns its id. Raises DeploytoolError."""
    from deploytool.core.deploy import DeployOptions, deploy
    from deploytool.settings import Settings
    from deploytool.store import Store

    if not isinstance(name, str) or not name:
        raise DeploytoolError("deploy() needs a deployment name", 'e.g. flow.deploy(name="nightly", ...)')
    if not isinstance(work_pool_name, str) or not work_pool_name:
        raise DeploytoolError(
            "deploy() needs a work_pool_name", "create a pool: deploytool work-pool create NAME --type docker"
        )
    source = flow_source(fn, cwd)
    doc = document(
        source,
        name=name,
        work_pool_name=work_pool_name,
        image=image,
        build=build,
        push=push,
        job_variables=job_variables,
        parameters=parameters,
        schedules=schedules_of(cron, interval, rrule, schedules),
        tags=tags,
        description=description,
        version=version,
        work_queue_name=work_queue_name,
        pull=pull,
    )
    project = load(doc, source)
    stream = out if out is not None else sys.stdout

    def show(kind: str, line: str) -> None:
        print(line, file=sys.stderr if kind == "stderr" else stream, flush=True)

    environ = os.environ if env is None else env
    with Store.open(Settings.from_env(environ).store) as store:
        if image is not None:
            _check_pool_takes_an_image(store, work_pool_name)
        outcome = deploy(project, store, DeployOptions(names=[name]), env=environ, on_output=show)
        spec = project.deployments[0]
        deployment = store.deployments.get_by_name(spec.flow_name, spec.name)
    symbols = {"create": "+", "update": "~", "unchanged": "=", "delete": "-"}
    for item in outcome.plan.items:
        detail = f" ({', '.join(item.changed)})" if item.changed else ""
        print(f"{symbols[item.action]} {item.action:<9} {item.deployment.full_name}{detail}", file=stream)
    if outcome.rebuilt_images:
        print(f"Image rebuilt (content changed): {', '.join(outcome.rebuilt_images)}; new runs use it.", file=stream)
    if announce:
        print(f"Start a worker: deploytool worker start --pool {deployment.pool_name}", file=stream)
        print(f"Run it:         deploytool run '{deployment.full_name}'", file=stream)
    return deployment.id


def _check_pool_takes_an_image(store: Any, pool_name: str) -> None:
    """Before any image is built: `image=` with a pool whose runs are not containers is an error."""
    from deploytool.errors import NotFoundError

    try:
        pool = store.pools.get(pool_name)
    except NotFoundError:
        return  # deploy reports a missing pool, with the argument it came from
    properties = (pool.base_job_template.get("variables") or {}).get("properties") or {}
    if "image" not in properties:
        raise DeploytoolError(
            f"work pool {pool_name!r} is a {pool.type} pool: its runs are not containers, so it takes no image",
            "leave out image= to run the flow as a local process, or deploy to a docker pool "
            "(deploytool work-pool create NAME --type docker)",
        )


def deploy_or_exit(fn: Callable[..., Any], **arguments: Any) -> str:
    """`deploy_flow` for a script: a DeploytoolError is printed as the CLI prints it (no traceback) and the
    script exits with status 1 (`SystemExit`, whose `__cause__` is the error)."""
    try:
        return deploy_flow(fn, **arguments)
    except DeploytoolError as exc:
        print(format_error(exc), file=sys.stderr, flush=True)
        raise SystemExit(exc.exit_code) from exc
