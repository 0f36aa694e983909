"""Whether the worker's infrastructure can start jobs now (a Docker pool's daemon answers), asked with each
heartbeat. While it cannot, the worker claims nothing and its heartbeat carries the problem, so its pool shows
NOT_READY with the reason (`work-pool ls/inspect`, `flow-run why`, the dashboard); when it can again, it says so
and claims again. docs/worker.md, "When the Docker daemon does not answer".
"""

from __future__ import annotations

import logging
from typing import Any

from deploytool.infra.base import Infrastructure

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
