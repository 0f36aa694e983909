"""A worker works out what a run's job takes from its template and job variables once (deploytool.worker.jobconfig):
the jobs it prepares are the same as without that, to the byte, for every deployment of examples/ and the corpus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploytool import jobvars
from deploytool.models import Deployment, FlowRun, WorkPool
from deploytool.store import Store
from deploytool.worker.jobconfig import JobTemplates
from deploytool.worker.launch import LaunchError, Prepared, prepare
from tests.config.corpus import require_corpus

REPO = Path(__file__).resolve().parents[2]
ENVIRON = {"HOME": "/home/w", "IMAGE_TAG": "v1", "PREFECT_API_URL": "http://x"}


def _projects() -> list[Path]:
    return [REPO / "examples" / "prefect.yaml", REPO / "examples" / "deploy.yaml"]


def _deployments(file: Path) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(name, job_variables, pull steps as stored) of each deployment of a project file."""
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError:  # a corpus file that is not YAML deploys nothing
        return []
    found = []
    for index, item in enumerate(data.get("deployments") or []):
        if not isinstance(item, dict):
            continue
        pool = item.get("work_pool") if isinstance(item.get("work_pool"), dict) else {}
        job_variables = pool.get("job_variables") if isinstance(pool.get("job_variables"), dict) else {}
        steps = []
        for step in item.get("pull", data.get("pull")) or []:
            if isinstance(step, dict) and len(step) == 1:
                ((name, inputs),) = step.items()
                inputs = dict(inputs) if isinstance(inputs, dict) else {}
                steps.append({"name": name, "id": inputs.pop("id", None), "inputs": inputs})
        found.append((f"{index}-{item.get('name')}", job_variables, steps))
    return found


def _outcome(prepared: Prepared | str) -> str:
    """Everything of a prepared job, types and key order included (repr), or the error's message."""
    if isinstance(prepared, str):
        return prepared
    return repr((prepared.job, sorted(prepared.secrets), prepared.working_dir, prepared.stream_output))


def _prepare(store: Store, run: FlowRun, pool: WorkPool, cache: JobTemplates | None) -> str:
    try:
        return _outcome(prepare(store, run, pool, worker_name="w1", environ=ENVIRON, cache=cache))
    except LaunchError as exc:
        return f"LaunchError: {exc}"
    except Exception as exc:  # the same error either way is what counts
        return f"{type(exc).__name__}: {exc}"


def _check_project(store: Store, file: Path, tmp_path: Path) -> int:
    """Prepare two runs of each deployment, on each pool type, with and without a cache: the same jobs."""
    checked = 0
    for pool_type in ("process", "docker"):
        template = jobvars.default_base_job_template(pool_type)
        pool = store.pools.create(WorkPool(f"{pool_type}-{file.name}", pool_type, base_job_template=template))
        cache = JobTemplates()
        for name, job_variables, steps in _deployments(file):
            deployment, _ = store.deployments.upsert(
                Deployment(
                    flow_name="f", name=f"{name}-{pool.name}", entrypoint="flow.py:main", pool_name=pool.name,
                    job_variables=job_variables, pull_steps=steps, source_file=str(tmp_path / "deploy.yaml"),
                )
            )  # fmt: skip
            for attempt in (1, 2, 3):  # the first run fills the cache, the next ones use it
                run = store.runs.create(FlowRun("f", deployment.name, pool.name, deployment.id))
                run = replace(run, attempt=attempt, parameters={"n": attempt})
                assert _prepare(store, run, pool, cache) == _prepare(store, run, pool, None), (file.name, name)
                checked += 1
    return checked


def test_a_cached_job_configuration_is_the_one_rendered_afresh_for_the_examples(store: Store, tmp_path: Path) -> None:
    assert sum(_check_project(store, file, tmp_path) for file in _projects()) > 0


def test_a_cached_job_configuration_is_the_one_rendered_afresh_for_the_corpus(store: Store, tmp_path: Path) -> None:
    files = sorted(p for p in require_corpus().iterdir() if p.suffix in (".yaml", ".yml"))
    assert sum(_check_project(store, file, tmp_path) for file in files) > 0


@pytest.mark.parametrize(
    "job_variables",
    [
        {"env": {"RUN": "{{ flow_run.id }}", "N": "{{ flow_run.parameters.n }}"}, "name": "{{ flow_run.name }}"},
        {"env": {"A": "1"}, "labels": {"attempt": "{{ flow_run.attempt }}"}},
        {"env": {"HOME_IS": "{{ $HOME }}"}, "command": "python -m deploytool.engine"},
        {"env": {"A": None, "B": 2, "C": [1, "2", {"3": True}]}, "working_dir": None},
    ],
)
def test_what_changes_from_run_to_run_is_rendered_for_each_run(
    store: Store, tmp_path: Path, job_variables: dict[str, Any]
) -> None:
    """flow_run.*, the environment, types and nulls: every run gets its own values, as without a cache."""
    pool = store.pools.get("p")
    cache = JobTemplates()
    deployment, _ = store.deployments.upsert(
        Deployment(flow_name="f", name="d", entrypoint="flow.py:main", pool_name="p", job_variables=job_variables)
    )
    outcomes = set()
    for attempt in (1, 2, 3):
        run = store.runs.create(FlowRun(flow_name="f", deployment_name="d", pool_name="p", deployment_id=deployment.id))
        run = replace(run, attempt=attempt, parameters={"n": attempt})
        cached = _prepare(store, run, pool, cache)
        assert cached == _prepare(store, run, pool, None)
        outcomes.add(cached)
    assert len(outcomes) == 3  # each run's own id at least


def test_a_changed_pool_template_or_job_variable_is_not_served_from_the_cache(store: Store) -> None:
    pool = store.pools.get("p")
    cache = JobTemplates()
    deployment, _ = store.deployments.upsert(
        Deployment(flow_name="f", name="d", entrypoint="flow.py:main", pool_name="p", job_variables={"env": {"A": "1"}})
    )
    run = store.runs.create(FlowRun(flow_name="f", deployment_name="d", pool_name="p", deployment_id=deployment.id))
    first = prepare(store, run, pool, worker_name="w1", environ=ENVIRON, cache=cache)
    assert first.job.configuration["env"]["A"] == "1"
    changed, _ = store.deployments.upsert(replace(deployment, job_variables={"env": {"A": 1}}))
    second = prepare(store, run, pool, worker_name="w1", environ=ENVIRON, cache=cache)
    assert second.job.configuration["env"]["A"] == 1 and changed.job_variables == {"env": {"A": 1}}
    template = jobvars.default_base_job_template("process")
    template["job_configuration"]["labels"] = {"team": "data"}
    pool = store.pools.update("p", base_job_template=template)
    third = prepare(store, run, pool, worker_name="w1", environ=ENVIRON, cache=cache)
    assert third.job.configuration["labels"] == {"team": "data"}
