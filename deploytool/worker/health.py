"""Whether the worker's infrastructure can start jobs now (a Docker pool's daemon answers), asked with each
heartbeat. While it cannot, the worker claims nothing and its heartbeat carries the problem, so its pool shows
NOT_READY with the reason (`work-pool ls/inspect`, `flow-run why`, the dashboard); when it can again, it says so
and claims again. docs/worker.md, "When the Docker daemon does not answer".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from deploytool.infra.base import Infrastructure
from deploytool.models import WorkPool
from deploytool.store import Store

log = logging.getLogger("deploytool.worker")


class InfraHealth:
    """The last answer of `Infrastructure.problem()`, and the log lines when it changes."""

    def __init__(self, infra: Infrastructure[Any], worker_name: str) -> None:
        self.infra = infra
        self.worker_name = worker_name
        self.problem: str | None = None

    def check(self) -> str | None:
        """Ask the infrastructure; the problem (None: none)."""
        try:
            problem = self.infra.problem()
        except Exception as exc:  # a failing check is a problem to report, never a crash of the worker
            problem = f"checking the infrastructure failed: {exc!r}"
        if problem != self.problem:
            if problem is None:
                log.warning("worker %s: its infrastructure answers again: claiming runs", self.worker_name)
            else:
                log.error(
                    "worker %s cannot start jobs: %s; it claims nothing, and its pool shows NOT_READY, until this"
                    " is fixed",
                    self.worker_name, problem,
                )  # fmt: skip
        self.problem = problem
        return problem


def warn_idle_setup(store: Store, pool: WorkPool, queues: Sequence[str] | None) -> None:
    """Say so when a worker will claim nothing for now: a paused pool, or queues the pool does not have."""
    if pool.paused:
        log.warning("work pool %r is paused: no run is claimed until: deploytool work-pool resume %s", *[pool.name] * 2)
    known = [q.name for q in store.queues.list(pool.name)]
    for queue in [q for q in queues or () if q not in known]:
        log.warning(
            "work queue %r does not exist in pool %r (its queues: %s): nothing is claimed from it until it is"
            " created (deploytool work-queue create %s --pool %s) or a deployment uses it",
            queue, pool.name, ", ".join(known), queue, pool.name,
        )  # fmt: skip
