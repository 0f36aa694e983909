"""How a run executes: one infrastructure per work pool type (process, docker).

`INFRA` maps a pool type to a factory of its infrastructure (an `Infrastructure` of deploytool.infra.base);
`infrastructure_for(pool_type)` is what a worker calls. Each factory imports its module only when called, so a
process worker never imports the Docker SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deploytool.errors import InfraError

InfrastructureFactory = Callable[[], Any]
"""Returns a new infrastructure object (an `Infrastructure[H]` for its own handle type H)."""


def _process() -> Any:
    from deploytool.infra.process import ProcessInfrastructure

    return ProcessInfrastructure()


def _docker() -> Any:
    from deploytool.infra.docker import DockerInfrastructure

    return DockerInfrastructure()


INFRA: dict[str, InfrastructureFactory] = {"process": _process, "docker": _docker}
"""Pool type -> infrastructure factory."""

_PLANNED: dict[str, str] = {}


def infrastructure_for(pool_type: str) -> Any:
    """A new infrastructure for `pool_type`; InfraError (with a hint) for a type nothing runs yet."""
    factory = INFRA.get(pool_type)
    if factory is None:
        known = ", ".join(sorted(INFRA))
        reason = _PLANNED.get(pool_type, f"no infrastructure runs work pools of type {pool_type!r}")
        raise InfraError(f"{reason}", hint=f"workers can run pools of type: {known}")
    return factory()
