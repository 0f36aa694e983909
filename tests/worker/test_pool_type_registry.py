"""A pool type added through the registry alone runs a flow end to end through the real worker.

The type (tests/worker/example_pool_type) is defined inside the test suite and registered for the test only:
its registry entry, its base job template and its module are all it has. Pool creation, job-variable checks,
the default template, the infrastructure factory and the worker's messages all derive from the entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool import pooltypes
from deploytool.core.pools import create_pool, default_template
from deploytool.errors import DeploytoolError
from deploytool.jobvars import validate_job_variables
from deploytool.models import RunState
from deploytool.store import Store
from tests.worker.example_pool_type.infrastructure import ENTRY
from tests.worker.helpers import log_text, make_deployment, queue_run, worker, write_flow


@pytest.fixture
def example_type() -> Iterator[pooltypes.PoolType]:
    with pooltypes.registered(ENTRY) as entry:
        yield entry
    assert "example" not in pooltypes.names()


def test_an_unregistered_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(DeploytoolError, match="unknown work pool type 'example' \\(known types: process, docker\\)"):
        default_template("example")


def test_a_registered_type_gets_its_template_and_checks(example_type: pooltypes.PoolType) -> None:
    assert "example (each run is a plain child process (test suite only))" in pooltypes.listing()
    template = default_template("example")
    assert template["variables"]["properties"]["greeting"]["default"] == "hello from the example pool type"
    assert validate_job_variables({"greeting": 3}, template)  # the type's own schema checks its variables
    assert validate_job_variables({"greeting": "hi"}, template) == []


def test_a_flow_runs_end_to_end_on_a_pool_of_a_registered_type(
    example_type: pooltypes.PoolType, store: Store, project: Path
) -> None:
    create_pool(store, "ex", "example")
    entrypoint = write_flow(project, "print('flow says', kwargs['n'] * 2)\nreturn kwargs['n']")
    deployment = make_deployment(
        store, project, entrypoint, pool="ex", parameters={"n": 21}, job_variables={"greeting": "hi from ex"}
    )
    run = queue_run(store, deployment)
    w = worker(store, pool="ex", run_once=True)
    w.run()
    done = store.runs.get(run.id)
    assert done.state is RunState.COMPLETED, done.state_message
    text = log_text(store, run.id)
    assert "hi from ex" in text and "flow says 42" in text
    assert "started the job (example job " in text
