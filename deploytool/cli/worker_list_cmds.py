"""`deploytool worker ls` and `worker prune` (declared in the `worker` group of cli/worker_cmds.py): apart from
`worker start`, so that listing workers does not import the worker's options, logging and sockets at its start."""

from __future__ import annotations

import sys

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, local_time, print_json, print_table
from deploytool.cli.params import OUTPUT, Option
from deploytool.cli.store_access import open_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated


def ls(
    pool: Annotated[str | None, Option("--pool", "-p", help="Only the workers of this pool.")] = None,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """List workers: host, pid, when each was last seen, its status (online, stale, offline), its runs and any
    problem that keeps it from taking runs."""
    from deploytool.worker.listing import list_workers

    with json_errors("worker-list", output), open_store() as store:
        workers = list_workers(store, pool)
    if output == OutputFormat.json:
        print_json("worker-list", workers)
        return
    if not workers:
        hint = f" --pool {pool}" if pool else " --pool NAME"
        print(f"No workers. Start one: deploytool worker start{hint}", file=sys.stderr)
        return
    rows = [
        (
            w["name"],
            w["pool"],
            w["host"],
            w["pid"],
            f"{local_time(w['last_heartbeat'])} ({w['seconds_since_heartbeat']:g}s ago)",
            w["status"],
            ", ".join(f"{r['name']} ({r['state']})" for r in w["runs"]) or "-",
        )
        for w in workers
    ]
    print_table(None, ["name", "pool", "host", "pid", "last seen", "status", "runs"], rows, local_times=True)
    from deploytool.store import cannot_take_runs

    for w in workers:
        if w["problem"] is not None:  # worded as `work-pool ls` and the dashboard word it
            print(cannot_take_runs(w["name"], w["host"], w["problem"]))


def prune(
    pool: Annotated[str | None, Option("--pool", "-p", help="Only the containers of this pool.")] = None,
    older_than: Annotated[
        str, Option("--older-than", help="Only runs that finished at least this long ago: 0, 30m, 24h, 7d.")
    ] = "0",
    unknown: Annotated[
        bool, Option("--unknown", help="Also containers of runs this store does not know (deleted, or old).")
    ] = False,
    dry_run: Annotated[bool, Option("--dry-run", help="List what would be removed; remove nothing.")] = False,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Remove the ended containers of finished runs from the Docker host (never a running one). See docs/docker.md."""
    from deploytool.worker.prune import parse_age, prune_containers

    with json_errors("worker-prune", output), open_store() as store:
        report = prune_containers(store, pool=pool, older_than=parse_age(older_than), unknown=unknown, dry_run=dry_run)
    if output == OutputFormat.json:
        print_json("worker-prune", {"dry_run": dry_run, "removed": report.removed, "kept": report.kept})
        return
    verb = "would remove" if dry_run else "removed"
    for item in report.removed:
        print(f"{verb} container {item['container']} ({item['container_id'][:12]}): {item['why']}")
    kept = ", ".join(f"{count} {reason}" for reason, count in sorted(report.kept.items()))
    print(
        f"{'Would remove' if dry_run else 'Removed'} {len(report.removed)} container(s)"
        + (f"; left alone: {kept}." if kept else "."),
        file=sys.stderr,
    )
