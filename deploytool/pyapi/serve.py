"""`Flow.serve`: deploy the flow to a process pool of its own, then run a worker of that pool in the foreground.

The pool is `serve:<flow>:<deployment>` (a process pool, created when missing), so the worker serves this
deployment's runs only: scheduled ones (the worker creates them from the schedules) and those queued with
`deploytool run`. Each runs in a local process, in the project directory. Ctrl-C (or SIGTERM) stops the worker
as it stops `deploytool worker start`: no new claims, running flows may finish for `shutdown_grace` seconds
(a second Ctrl-C stops them at once), every outcome is recorded and nothing stays claimed.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from deploytool.errors import DeploytoolError
from deploytool.pyapi.deploy import deploy_flow
from deploytool.pyapi.project import format_error, schedules_of

SERVE_POOL_TYPE = "process"
DEFAULT_SHUTDOWN_GRACE_SECONDS = 10.0


def serve_pool_name(flow_name: str, name: str) -> str:
    return f"serve:{flow_name}:{name}"


def serve_flow(
    fn: Callable[..., Any],
    *,
    flow_name: str,
    name: str,
    cron: str | Sequence[str] | None = None,
    interval: float | timedelta | Sequence[float | timedelta] | None = None,
    rrule: str | Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    limit: int | None = None,
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE_SECONDS,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> None:
    """Register the deployment and serve its runs until interrupted. Raises DeploytoolError."""
    from deploytool.settings import Settings
    from deploytool.store import Store
    from deploytool.worker.loop import Worker
    from deploytool.worker.options import WorkerOptions, default_limit
    from deploytool.worker.signals import shutdown_on_signals

    if not isinstance(name, str) or not name:
        raise DeploytoolError("serve() needs a deployment name", 'e.g. flow.serve(name="my-deployment")')
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DeploytoolError(
            f"limit must be a whole number of runs at once, at least 1, not {limit!r}",
            "e.g. flow.serve(limit=2); leave it out for the worker's default",
        )
    stream = out if out is not None else sys.stdout
    environ = os.environ if env is None else env
    pool = serve_pool_name(flow_name, name)
    db_path = Settings.from_env(environ).store
    with Store.open(db_path) as store:
        _ensure_process_pool(store, pool)
    schedules = schedules_of(cron, interval, rrule, None)
    deploy_flow(
        fn,
        name=name,
        work_pool_name=pool,
        parameters=parameters,
        schedules=schedules,
        pull=[],
        cwd=cwd,
        env=environ,
        out=stream,
        announce=False,
    )
    full_name = f"{flow_name}/{name}"
    print(f"Serving {full_name} (pool {pool!r}); stop with Ctrl-C.", file=stream)
    print(f"Run it: deploytool run '{full_name}'", file=stream, flush=True)
    _log_to_stderr()
    options = WorkerOptions(
        pool=pool,
        limit=limit if limit is not None else default_limit(),
        shutdown_grace_seconds=shutdown_grace,
    )
    with Store.open(db_path) as store:
        worker = Worker(store, options)
        with shutdown_on_signals(worker):
            worker.run()
    print(f"Stopped serving {full_name}.", file=stream, flush=True)


def serve_or_exit(fn: Callable[..., Any], **arguments: Any) -> None:
    """`serve_flow` for a script: a DeploytoolError is printed without a traceback, and the script exits 1."""
    try:
        serve_flow(fn, **arguments)
    except DeploytoolError as exc:
        print(format_error(exc), file=sys.stderr, flush=True)
        raise SystemExit(exc.exit_code) from exc


def _ensure_process_pool(store: Any, pool: str) -> None:
    from deploytool.core.pools import create_pool
    from deploytool.errors import NotFoundError

    try:
        existing = store.pools.get(pool)
    except NotFoundError:
        create_pool(store, pool, SERVE_POOL_TYPE, description="created by Flow.serve")
        return
    if existing.type != SERVE_POOL_TYPE:
        raise DeploytoolError(
            f"work pool {pool!r} is a {existing.type} pool; serve runs flows in local processes",
            f"delete it (deploytool work-pool delete {pool}) or serve under another deployment name",
        )


def _log_to_stderr() -> None:
    # The worker's own messages (claims, outcomes, shutdown) on the terminal, unless logging is configured.
    logger = logging.getLogger("deploytool")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
