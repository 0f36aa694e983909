"""The one registry of work pool types: everything else about a pool type is derived from its entry here.

An entry names the type, says in a few words what a job of that type is (help texts and messages use it),
where its default base job template lives (the job-variable schema: `jobvars.default_base_job_template`) and
which class runs its jobs (an `Infrastructure` of deploytool.infra.base, built by
`deploytool.infra.infrastructure_for`). Pool creation (`core.pools.check_pool_type`), `work-pool create --type`,
`worker start --type` and `get-default-base-job-template` all read this registry. docs/architecture.md,
"Adding a pool type", says what a new type needs: an entry, its base job template and its module.

Both the template and the class are named by string and loaded only when used, so importing this module costs
nothing (the CLI lists the types without importing the Docker SDK or jsonschema).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

from deploytool.errors import DeploytoolError, did_you_mean
from deploytool.pkgfiles import files
from deploytool.records import record

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


@record
class PoolType:
    """One work pool type.

    `infrastructure` is `"module:Class"`: a class whose constructor takes a `JobOwner` (deploytool.infra.base)
    and which implements `Infrastructure`. `base_job_template` is `"package:path/in/package.json"`. `job_noun`
    is what one job is called in messages ("process", "container"). `local`: jobs run on the worker's machine,
    so a run without pull steps and without a `working_dir` starts in its project's directory.
    """

    name: str
    summary: str
    infrastructure: str
    base_job_template: str
    job_noun: str = "job"
    local: bool = False

    def load_base_job_template(self) -> dict[str, Any]:
        """A fresh copy of the type's default base job template."""
        package, _, path = self.base_job_template.partition(":")
        data: dict[str, Any] = json.loads(files(package).joinpath(path).read_text(encoding="utf-8"))
        return data

    def load_infrastructure_class(self) -> Any:
        """The class named by `infrastructure` (its module is imported now)."""
        module, _, attribute = self.infrastructure.partition(":")
        return getattr(importlib.import_module(module), attribute)


_TEMPLATES = "deploytool:schemas/work-pool-types"

POOL_TYPES: dict[str, PoolType] = {
    entry.name: entry
    for entry in (
        PoolType(
            name="process",
            summary="each run is a local process",
            infrastructure="deploytool.infra.process:ProcessInfrastructure",
            base_job_template=f"{_TEMPLATES}/process.json",
            job_noun="process",
            local=True,
        ),
        PoolType(
            name="docker",
            summary="each run is a Docker container",
            infrastructure="deploytool.infra.docker:DockerInfrastructure",
            base_job_template=f"{_TEMPLATES}/docker.json",
            job_noun="container",
        ),
    )
}
"""Pool type name -> entry, in the order help texts list them (the first is the default suggestion)."""


def names() -> tuple[str, ...]:
    """The known pool types' names."""
    return tuple(POOL_TYPES)


def listing() -> str:
    """`process (each run is a local process), docker (...)`: for help texts."""
    return ", ".join(f"{t.name} ({t.summary})" for t in POOL_TYPES.values())


def pool_type(name: str) -> PoolType:
    """The entry of `name`; a DeploytoolError listing the known types (with a did-you-mean) for an unknown one."""
    entry = POOL_TYPES.get(name)
    if entry is None:
        known = names()
        raise DeploytoolError(
            f"unknown work pool type {name!r} (known types: {', '.join(known)})",
            hint=did_you_mean(name, known) or f"use --type {known[0]}",
        )
    return entry


@contextmanager
def registered(entry: PoolType) -> Iterator[PoolType]:
    """Add `entry` to the registry for the duration of a `with` block (a pool type defined outside the package,
    e.g. by a test suite); the registry is as before afterwards."""
    previous = POOL_TYPES.get(entry.name)
    POOL_TYPES[entry.name] = entry
    try:
        yield entry
    finally:
        if previous is None:
            del POOL_TYPES[entry.name]
        else:
            POOL_TYPES[entry.name] = previous
