"""Flow.deploy's arguments as a project document: entrypoint, image, schedules, errors named by argument."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deploytool import DockerImage
from deploytool.errors import DeploytoolError
from deploytool.pyapi.project import (
    FlowSource,
    argument_path,
    document,
    flow_source,
    image_parts,
    schedules_of,
)

_NAME = "test_entrypoint_relative_to_the_cwd_when_the_file_is_below_it"


def test_entrypoint_relative_to_the_cwd_when_the_file_is_below_it(tmp_path: Path) -> None:
    import tests.pyapi.test_project as me

    here = Path(me.__file__).resolve()
    source = flow_source(test_entrypoint_relative_to_the_cwd_when_the_file_is_below_it, cwd=here.parents[2])
    assert source.project_dir == here.parents[2]
    assert (
        source.entrypoint == "tests/pyapi/test_project.py:test_entrypoint_relative_to_the_cwd_when_the_file_is_below_it"
    )
    assert source.project_file.parent == here.parents[2]
    elsewhere = flow_source(test_entrypoint_relative_to_the_cwd_when_the_file_is_below_it, cwd=tmp_path)
    assert (elsewhere.project_dir, elsewhere.project_file) == (here.parent, here)
    assert elsewhere.entrypoint.startswith("test_project.py:")


def test_a_nested_function_is_refused() -> None:
    def inner() -> None:
        pass

    with pytest.raises(DeploytoolError, match="top level"):
        flow_source(inner)


def test_image_strings_and_docker_images() -> None:
    assert image_parts("my-image:tutorial") == ("my-image", "tutorial", "auto", {})
    assert image_parts("127.0.0.1:5000/team/app") == ("127.0.0.1:5000/team/app", None, "auto", {})
    image = DockerImage("team/app", tag="1", dockerfile="Dockerfile", platform="linux/amd64")
    assert image_parts(image) == ("team/app", "1", "Dockerfile", {"platform": "linux/amd64"})
    with pytest.raises(DeploytoolError, match="in one place"):
        image_parts(DockerImage("team/app:2", tag="1"))
    with pytest.raises(DeploytoolError, match="string or a DockerImage"):
        image_parts(42)


def test_schedules_from_cron_interval_rrule() -> None:
    assert schedules_of(None, None, None, None) == []
    assert schedules_of("0 9 * * *", [60, timedelta(minutes=5)], "FREQ=DAILY", [{"cron": "1 * * * *"}]) == [
        {"cron": "1 * * * *"},
        {"cron": "0 9 * * *"},
        {"interval": 60},
        {"interval": 300.0},
        {"rrule": "FREQ=DAILY"},
    ]


def test_document_builds_pushes_and_sets_the_image(tmp_path: Path) -> None:
    source = FlowSource(tmp_path, "flow.py:f", tmp_path / "flow.py")
    doc = document(source, name="d", work_pool_name="p", image="app:1", push=False, job_variables={"x": 1})
    assert doc["build"] == [
        {"build_docker_image": {"id": "image", "image_name": "app", "dockerfile": "auto", "tag": "1"}}
    ]
    assert "push" not in doc
    assert doc["deployments"][0]["work_pool"] == {"name": "p", "job_variables": {"x": 1, "image": "{{ image.image }}"}}
    unbuilt = document(source, name="d", work_pool_name="p", image="reg/app:1", build=False)
    assert "build" not in unbuilt
    assert unbuilt["push"] == [{"push_docker_image": {"image_name": "reg/app", "tag": "1"}}]
    assert unbuilt["deployments"][0]["work_pool"]["job_variables"] == {"image": "reg/app:1"}
    with pytest.raises(DeploytoolError, match="no tag"):
        document(source, name="d", work_pool_name="p", image="app", build=False)


def test_issue_paths_name_the_argument() -> None:
    assert (
        argument_path("deployments[0].work_pool.job_variables.image_pull_policy") == "job_variables.image_pull_policy"
    )
    assert argument_path("deployments[nightly].work_pool.name") == "work_pool_name"
    assert argument_path("deployments[0].parameters.x") == "parameters.x"
    assert argument_path("build[0].build_docker_image.platform") == "image.platform"
    assert argument_path("deployments[0].schedules[1].cron") == "schedules[1].cron"
    assert argument_path("deployments[0].work_pool.job_variables[0]") == "job_variables[0]"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"job_variables": "x"}, "job_variables must be a mapping (a dict), not str"),
        ({"parameters": [1, 2]}, "parameters must be a mapping (a dict), not list"),
        ({"tags": "etl"}, "tags must be a list, not str"),
    ],
)
def test_arguments_of_the_wrong_shape_are_errors_not_tracebacks(
    tmp_path: Path, arguments: dict[str, Any], message: str
) -> None:
    source = FlowSource(tmp_path, "flow.py:f", tmp_path / "flow.py")
    with pytest.raises(DeploytoolError, match=re.escape(message)):
        document(source, name="d", work_pool_name="p", **arguments)


def test_schedules_of_the_wrong_shape_are_errors_not_tracebacks() -> None:
    with pytest.raises(DeploytoolError, match=re.escape("schedules[1] must be a mapping (a dict), not str")):
        schedules_of(None, None, None, [{"cron": "0 9 * * *"}, "0 9 * * *"])
    with pytest.raises(DeploytoolError, match="schedules must be a list, not dict"):
        schedules_of(None, None, None, {"cron": "0 9 * * *"})  # type: ignore[arg-type]
