"""`deploytool scheduler`: create the upcoming runs of every deployment's schedules, as a process of its own.

Every worker already schedules its pool's deployments; a dedicated scheduler is for keeping runs (and the
catch-up policy) up to date while no worker runs, or for pools served by workers elsewhere.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, print_json
from deploytool.cli.params import Exit, Group, Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    from typer import Typer

    from deploytool.scheduling import Horizon
    from deploytool.store import Store

GROUP = "scheduler"
commands = Group()
GROUPS = (commands,)


@commands.command(GROUP)
def scheduler(
    pool: Annotated[str | None, Option("--pool", "-p", help="Only this pool's deployments.")] = None,
    once: Annotated[bool, Option("--once", help="Make one pass, print what it did, and exit.")] = False,
    every: Annotated[float, Option("--every", help="Seconds between passes.")] = 10.0,
    min_runs: Annotated[int, Option("--min-runs", help="Create at least this many runs per schedule.")] = 3,
    min_time: Annotated[
        float, Option("--min-time", help="...and every run within this many seconds from now.")
    ] = 3600.0,
    max_runs: Annotated[int, Option("--max-runs", help="Never more than this many per schedule.")] = 100,
    output: Annotated[OutputFormat, Option("--output", "-o", help="text or json (with --once).")] = (OutputFormat.text),
) -> None:
    """Create scheduled runs up to a horizon, cancel missed ones by each deployment's catch_up policy, repeat."""
    from deploytool.cli.store_access import open_store
    from deploytool.errors import DeploytoolError
    from deploytool.scheduling import Horizon, schedule_runs

    horizon = Horizon(min_runs=min_runs, min_seconds=min_time, max_runs=max_runs)
    problems = horizon.problems() + (
        [] if 0 < every <= 86400 else [f"--every must be more than 0 and at most 86400 seconds, not {every:g}"]
    )
    errors_as = output if once else OutputFormat.text  # json mode: an error is an envelope too
    with json_errors("scheduler-pass", errors_as):
        if problems:
            raise DeploytoolError("; ".join(problems), hint="e.g. --min-runs 3 --min-time 3600 --max-runs 100")
        store = open_store()
    with store:
        if pool is not None:
            with json_errors("scheduler-pass", errors_as):
                store.pools.get(pool)  # a clear error for an unknown pool
        if once:
            report = schedule_runs(store, store.now(), pool=pool, horizon=horizon)
            if output == OutputFormat.json:
                print_json("scheduler-pass", report.to_json())
            else:
                print(
                    f"{report.deployments} deployment(s): {report.created} run(s) created, "
                    f"{report.cancelled} missed run(s) cancelled, {report.deleted} outdated run(s) deleted."
                )
                for error in report.errors:
                    print(f"error: {error}", file=sys.stderr)
            if report.errors:
                raise Exit(1)
            return
        _loop(store, pool, horizon, every)


def _loop(store: Store, pool: str | None, horizon: Horizon, every: float) -> None:
    from deploytool.errors import DeploytoolError
    from deploytool.scheduling import schedule_runs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    log = logging.getLogger("deploytool.scheduler")
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("scheduler: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("scheduler: %s, every %gs", f"pool {pool!r}" if pool else "every pool", every)
    while not stop.is_set():
        try:
            report = schedule_runs(store, store.now(), pool=pool, horizon=horizon)
        except DeploytoolError as exc:  # e.g. the store stayed locked: try again next pass
            log.error("scheduler: %s", exc)
        else:
            if report.changed:
                log.info(
                    "scheduler: %d created, %d missed cancelled, %d outdated deleted%s",
                    report.created, report.cancelled, report.deleted,
                    f"; errors: {'; '.join(report.errors)}" if report.errors else "",
                )  # fmt: skip
        stop.wait(every)


def register(app: Typer) -> None:
    """Add the `scheduler` command to `app` (safe to call more than once)."""
    from deploytool.cli.app import add_groups

    add_groups(app, GROUPS)
