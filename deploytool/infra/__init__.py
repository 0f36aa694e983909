"""How a run executes: one infrastructure per work pool type (process, docker, ...).

The pool types and the class that runs each are listed once, in deploytool.pooltypes; `infrastructure_for`
builds the infrastructure a worker uses. A class's module is imported only when a worker of its type starts,
so a process worker never imports the Docker SDK.
"""

from __future__ import annotations

from typing import Any

from deploytool import pooltypes
from deploytool.errors import InfraError
from deploytool.infra.base import Infrastructure, JobOwner


def infrastructure_for(pool_type: str, owner: JobOwner) -> Infrastructure[Any]:
    """A new infrastructure for `pool_type`, whose jobs belong to `owner`; InfraError for an unknown type."""
    entry = pooltypes.POOL_TYPES.get(pool_type)
    if entry is None:
        known = ", ".join(pooltypes.names())
        raise InfraError(
            f"no infrastructure runs work pools of type {pool_type!r}", hint=f"workers can run pools of type: {known}"
        )
    infrastructure: Infrastructure[Any] = entry.load_infrastructure_class()(owner)
    return infrastructure
