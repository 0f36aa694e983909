"""The default base job templates shipped for each work pool type."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool import pooltypes
from deploytool.errors import DeploytoolError, InfraError
from deploytool.infra.docker_config import build_volumes
from deploytool.jobvars import (
    default_base_job_template,
    validate_base_job_template,
    validate_job_variables,
    variable_defaults,
)

PROCESS_FIELDS = {"command", "env", "labels", "name", "stream_output", "warm_start", "working_dir"}
DOCKER_FIELDS = {
    "command", "env", "labels", "name", "image", "registry_credentials", "image_pull_policy", "networks",
    "network_mode", "auto_remove", "keep_failed_hours", "volumes", "stream_output", "mem_limit", "memswap_limit",
    "privileged", "container_create_kwargs",
}  # fmt: skip


@pytest.mark.parametrize("pool_type", pooltypes.names())
def test_each_default_template_is_valid(pool_type: str) -> None:
    template = default_base_job_template(pool_type)
    assert validate_base_job_template(template) == []


@pytest.mark.parametrize(("pool_type", "fields"), [("process", PROCESS_FIELDS), ("docker", DOCKER_FIELDS)])
def test_prefect_shape_and_field_names(pool_type: str, fields: set[str]) -> None:
    template = default_base_job_template(pool_type)
    assert set(template["job_configuration"]) == fields
    assert set(template["variables"]["properties"]) == fields
    # as in Prefect: each field is the whole placeholder of the variable of the same name
    assert all(v == "{{ " + k + " }}" for k, v in template["job_configuration"].items())


def test_defaults() -> None:
    assert variable_defaults(default_base_job_template("process")) == {"stream_output": True, "warm_start": False}
    docker = variable_defaults(default_base_job_template("docker"))
    assert docker == {
        "image": "python:3.11-slim",
        "image_pull_policy": "IfNotPresent",
        "auto_remove": True,  # containers of finished runs do not pile up (issue 16 item 3)
        "keep_failed_hours": 24,  # ... but a failed run's stays a day, to look into
        "stream_output": True,
        "privileged": False,
    }
    policy = default_base_job_template("docker")["variables"]["properties"]["image_pull_policy"]
    assert policy["enum"] == ["Always", "IfNotPresent", "Never"]


def test_each_call_returns_a_fresh_copy() -> None:
    a = default_base_job_template("process")
    a["job_configuration"]["command"] = "changed"
    assert default_base_job_template("process")["job_configuration"]["command"] == "{{ command }}"


def test_unknown_pool_type_lists_the_known_ones() -> None:
    with pytest.raises(DeploytoolError) as info:
        default_base_job_template("dokcer")
    assert "unknown work pool type 'dokcer'" in str(info.value)
    assert info.value.hint == "did you mean 'docker'?"
    with pytest.raises(DeploytoolError, match="known types: process, docker"):
        default_base_job_template("kubernetes")


@pytest.mark.parametrize("field", ["mem_limit", "memswap_limit"])
def test_docker_memory_limits_take_what_docker_takes(field: str) -> None:
    template = default_base_job_template("docker")
    for good in ("512m", "2g", "1.5g", "512 MB", "1024", 536870912, -1, "-1", None):
        assert validate_job_variables({field: good}, template) == [], good
    for bad in ("512 megs", "lots", "2t", True):
        issues = validate_job_variables({field: bad}, template)
        assert [issue.path for issue in issues] == [field], bad


def test_docker_volumes_are_checked_at_deploy_as_the_worker_checks_them(tmp_path: Path) -> None:
    template = default_base_job_template("docker")
    good = ["/data:/data", "/data:/data:ro", "./cache:/cache", "~/x:/x:rw,z", "named:/var/lib/x"]
    assert validate_job_variables({"volumes": good}, template) == []
    build_volumes(good, tmp_path)  # the worker takes them too
    for bad in ("a:b:c:d", "/tmp:relative", "/data", "/data:/data:rx", ":/data"):
        issues = validate_job_variables({"volumes": [bad]}, template)
        assert [issue.path for issue in issues] == ["volumes[0]"], bad
        with pytest.raises(InfraError):
            build_volumes([bad], tmp_path)
