"""`deploytool worker prune`: remove the ended containers of finished runs from the Docker host.

A container is removed only when all of these hold: it carries deploytool's run label (and the pool's, with
`pool`), it is not running, and its run is in this store and finished (COMPLETED, FAILED, CRASHED, CANCELLED)
at least `older_than` ago. Containers of runs this store does not know (another store sharing the daemon, or
runs deleted since) are left alone unless `unknown=True`. Running containers and containers of runs still
owned by a worker are never touched. See docs/docker.md ("Removal").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from deploytool.errors import DeploytoolError, NotFoundError
from deploytool.infra.docker import DockerInfrastructure
from deploytool.models import TERMINAL, utcnow
from deploytool.store import Store

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str, option: str = "--older-than") -> timedelta:
    """`0`, `90s`, `30m`, `24h`, `7d` -> a timedelta."""
    match = _DURATION.match(text.lower())
    if match is None:
        raise DeploytoolError(f"{option} {text!r}: not a duration", hint="for example 0, 30m, 24h or 7d")
    return timedelta(seconds=float(match[1]) * _SECONDS[match[2]])


@dataclass
class PruneReport:
    removed: list[dict[str, str]] = field(default_factory=list)  # run id, container name, id, why
    kept: dict[str, int] = field(default_factory=dict)  # reason -> count

    def keep(self, reason: str) -> None:
        self.kept[reason] = self.kept.get(reason, 0) + 1


def prune_containers(
    store: Store,
    *,
    pool: str | None = None,
    older_than: timedelta = timedelta(0),
    unknown: bool = False,
    dry_run: bool = False,
    infra: DockerInfrastructure | None = None,
    now: datetime | None = None,
) -> PruneReport:
    """Remove (or with `dry_run` only list) the ended containers of finished runs; see the module docstring."""
    docker = infra if infra is not None else DockerInfrastructure(pool_name=pool)
    moment = now or utcnow()
    report = PruneReport()
    for found in docker.find_containers(pool_name=pool):
        if found.running:
            report.keep("running")
            continue
        try:
            run = store.runs.get(found.run_id)
        except NotFoundError:
            run = None
        if run is None:
            if not unknown:
                report.keep("run not in this store")
                continue
            why = "its run is not in this store"
        elif run.state not in TERMINAL:
            report.keep(f"run {run.state.value}")
            continue
        elif run.end_time is not None and moment - run.end_time < older_than:
            report.keep("finished too recently")
            continue
        else:
            why = f"run {run.state.value}"
        if not dry_run:
            docker.remove(found.container_id)
        report.removed.append(
            {"run_id": found.run_id, "container": found.name, "container_id": found.container_id, "why": why}
        )
    return report
