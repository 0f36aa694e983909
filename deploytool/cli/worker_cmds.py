"""`deploytool worker ...`: start a worker on a pool, list workers, print its systemd unit."""

from __future__ import annotations

import logging
import sys

from deploytool.cli.output import paint
from deploytool.cli.params import BadParameter, Group, Option
from deploytool.cli.store_access import open_store
from deploytool.worker import options  # the worker's defaults, shown by --help (a light module)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    from typer import Typer

    from deploytool.store import Store


def _pool_types() -> str:
    from deploytool import pooltypes

    return ", ".join(pooltypes.names())


GROUP = "worker"
worker_app = Group(GROUP, help="Workers: claim a pool's runs and execute them as processes or containers.")
GROUPS = (worker_app,)


@worker_app.command()
def start(
    pool: Annotated[str, Option("--pool", "-p", help="The work pool to serve.")],
    pool_type: Annotated[
        str | None,
        Option("--type", "-t", help=lambda: f"Create the pool with this type ({_pool_types()}) if missing."),
    ] = None,
    name: Annotated[str | None, Option("--name", "-n", help="The worker's name (default: host-pid-xxxx).")] = None,
    work_queue: Annotated[
        list[str] | None, Option("--work-queue", "-q", help="Serve only this queue (repeatable).")
    ] = None,
    limit: Annotated[int | None, Option("--limit", "-l", help="At most this many runs at once.")] = None,
    run_once: Annotated[
        bool, Option("--run-once", help="Claim what is due now (up to --limit), wait for it, then exit.")
    ] = False,
    heartbeat_seconds: Annotated[
        float, Option("--heartbeat-seconds", help="Heartbeat interval; runs are leased for 3 heartbeats.")
    ] = options.DEFAULT_HEARTBEAT_SECONDS,
    poll_seconds: Annotated[
        float,
        Option(
            "--poll-seconds", help="Pause between polls (the store is checked that often for new runs and cancels)."
        ),
    ] = options.DEFAULT_POLL_SECONDS,
    shutdown_grace: Annotated[
        float,
        Option("--shutdown-grace", help="On SIGTERM/SIGINT, how long runs may finish before they are stopped."),
    ] = options.DEFAULT_SHUTDOWN_GRACE_SECONDS,
    stop_grace: Annotated[
        float, Option("--stop-grace", help="Seconds between SIGTERM and SIGKILL when stopping a run.")
    ] = options.DEFAULT_STOP_GRACE_SECONDS,
    metrics_port: Annotated[
        int | None,
        Option(
            "--metrics-port", help="Serve Prometheus /metrics, /healthz and /readyz on this port (0: any free port)."
        ),
    ] = None,
    metrics_address: Annotated[
        str, Option("--metrics-address", help="The address of --metrics-port (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    log_format: Annotated[
        str, Option("--log-format", help="The worker's own log on stderr: text, or json (one object a line).")
    ] = "text",
) -> None:
    """Start a worker: claim the pool's runs, execute them, record every outcome. Stop it with SIGTERM or Ctrl-C."""
    from deploytool.worker.loop import Worker
    from deploytool.worker.signals import shutdown_on_signals

    if log_format not in ("text", "json"):
        raise BadParameter(f"{log_format!r} is not text or json", param_hint="'--log-format'")
    _log_to_stderr(json_lines=log_format == "json")
    worker_options = options.WorkerOptions(
        pool=pool,
        name=name or options.default_name(),
        queues=tuple(work_queue) if work_queue else None,
        limit=limit if limit is not None else options.default_limit(),
        heartbeat_seconds=heartbeat_seconds,
        poll_seconds=poll_seconds,
        idle_poll_seconds=max(poll_seconds, options.DEFAULT_IDLE_POLL_SECONDS),
        shutdown_grace_seconds=shutdown_grace,
        stop_grace_seconds=stop_grace,
        run_once=run_once,
    )
    with open_store() as store:
        _ensure_pool(store, pool, pool_type)
        worker = Worker(store, worker_options)
        server = None
        if metrics_port is not None:
            from deploytool.worker.metrics import serve_worker_metrics

            server = serve_worker_metrics(worker, metrics_address, metrics_port, open_store)
            logging.getLogger("deploytool.worker").info(
                "metrics on http://%s:%d/metrics (and /healthz, /readyz)", metrics_address, server.port
            )
        try:
            with shutdown_on_signals(worker):
                worker.run()
        finally:
            if server is not None:
                server.close()


def _ensure_pool(store: Store, pool: str, pool_type: str | None) -> None:
    from deploytool.core.pools import check_pool_type, create_pool
    from deploytool.errors import DeploytoolError, NotFoundError, did_you_mean

    try:
        existing = store.pools.get(pool)
    except NotFoundError:
        if pool_type is None:
            close = did_you_mean(pool, [p.name for p in store.pools.list()])
            raise NotFoundError(
                f"work pool {pool!r} not found",
                hint=(f"{close} Or " if close else "")
                + f"create it: deploytool work-pool create {pool} --type process,"
                f" or start the worker with --type process to create it",
            ) from None
        create_pool(store, pool, check_pool_type(pool_type))
        print(f"Created work pool {pool!r} ({pool_type}).", file=sys.stderr)
        return
    if pool_type is not None and existing.type != pool_type:
        raise DeploytoolError(
            f"work pool {pool!r} is of type {existing.type!r}, not {pool_type!r}",
            hint=f"drop --type, or use --type {existing.type}",
        )


@worker_app.command("service")
def service(
    pool: Annotated[str, Option("--pool", "-p", help="The work pool the service's worker serves.")],
    name: Annotated[
        str | None,
        Option("--name", "-n", help="The worker's name, fixed across restarts (default: <host>-<pool>)."),
    ] = None,
    user: Annotated[str, Option("--user", help="The system user the worker runs as.")] = "deploytool",
    env_file: Annotated[
        str,
        Option("--env-file", help="The environment file (DEPLOYTOOL_STORE_URL, DEPLOYTOOL_SECRET_KEY)."),
    ] = "/etc/deploytool/worker.env",
    work_queue: Annotated[
        list[str] | None, Option("--work-queue", "-q", help="Serve only this queue (repeatable).")
    ] = None,
    limit: Annotated[int | None, Option("--limit", "-l", help="At most this many runs at once.")] = None,
    heartbeat_seconds: Annotated[
        float, Option("--heartbeat-seconds", help="Heartbeat interval; runs are leased for 3 heartbeats.")
    ] = options.DEFAULT_HEARTBEAT_SECONDS,
    shutdown_grace: Annotated[
        float, Option("--shutdown-grace", help="On stop, how long runs may finish before they are stopped.")
    ] = options.DEFAULT_SHUTDOWN_GRACE_SECONDS,
    stop_grace: Annotated[
        float, Option("--stop-grace", help="Seconds between SIGTERM and SIGKILL when stopping a run.")
    ] = options.DEFAULT_STOP_GRACE_SECONDS,
    metrics_port: Annotated[
        int | None, Option("--metrics-port", help="Serve Prometheus /metrics, /healthz and /readyz here.")
    ] = None,
    executable: Annotated[
        str | None,
        Option("--executable", help="The deploytool command's absolute path (default: the one running now)."),
    ] = None,
) -> None:
    """Print a systemd unit that runs `worker start --pool P` as a service (docs/worker-service.md)."""
    from deploytool.errors import DeploytoolError
    from deploytool.worker.service_unit import ServiceSpec, render

    spec = ServiceSpec(
        executable=executable or _own_executable(),
        pool=pool,
        name=name,
        user=user,
        env_file=env_file,
        queues=tuple(work_queue or ()),
        limit=limit,
        heartbeat_seconds=heartbeat_seconds,
        shutdown_grace_seconds=shutdown_grace,
        stop_grace_seconds=stop_grace,
        metrics_port=metrics_port,
    )
    problems = spec.problems()
    if problems:
        raise DeploytoolError(
            "cannot make the worker's unit: " + "; ".join(problems), hint="see deploytool worker service --help"
        )
    sys.stdout.write(render(spec))


def _own_executable() -> str:
    """The absolute path of the `deploytool` command that runs now (the venv's script, not its target)."""
    import shutil
    from pathlib import Path

    script = Path(sys.argv[0])
    if script.name == "deploytool" and script.exists():
        return str(script.absolute())
    beside = Path(sys.executable).parent / "deploytool"
    found = shutil.which("deploytool")
    return str(beside.absolute() if beside.exists() or not found else Path(found).absolute())


# Listing and pruning start light: their module imports neither the worker's options nor logging.
worker_app.add("deploytool.cli.worker_list_cmds:ls", "ls")
worker_app.add("deploytool.cli.worker_list_cmds:prune", "prune")


class _RedactingFormatter(logging.Formatter):
    """The worker's own log lines (a run's state message, a traceback) with the secrets of its runs masked."""

    def format(self, record: logging.LogRecord) -> str:
        from deploytool.redaction import process_redactor

        line = process_redactor()(super().format(record))
        # The level in colour on a terminal (deploytool.cli.output.paint: never with NO_COLOR or when piped).
        level = f" {record.levelname} "
        if level in line:
            line = line.replace(level, f" {paint(record.levelname, record.levelname, sys.stderr)} ", 1)
        return line


class _JsonFormatter(_RedactingFormatter):
    """`--log-format json`: one JSON object a line (time ISO 8601 with offset, level, logger, message)."""

    def format(self, record: logging.LogRecord) -> str:
        import json
        from datetime import datetime

        from deploytool.redaction import process_redactor

        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        entry = {
            "time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": process_redactor()(message),
        }
        return json.dumps(entry, ensure_ascii=False)


def _log_to_stderr(*, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = (
        _JsonFormatter() if json_lines else _RedactingFormatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    )
    handler.setFormatter(formatter)
    logger = logging.getLogger("deploytool")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def register(app: Typer) -> None:
    """Add the `worker` group to `app` (safe to call more than once)."""
    from deploytool.cli.app import add_groups

    add_groups(app, GROUPS)
