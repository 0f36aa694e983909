"""Every valid prefect.yaml deploys: forms Prefect 3 accepts are warnings with their fix in a prefect.yaml (errors
in a deploy.yaml; --strict makes them errors), and job variables a pool type does not have are ignored there, as
Prefect ignores them."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.config.validate import validate_file
from tests.cli.cli_helpers import CLI, open_store

FLOW = "from deploytool import flow\n\n\n@flow\ndef main():\n    pass\n"

FORMS = """\
build: {}
push: null
pull: {}
deployments:
  - name: a
    entrypoint: flow.py:main
    work_pool: {name: p}
    schedule: []
    concurrency_limit: {limit: 2, collision_strategy: CANCEL_NEW, grace_period_seconds: 120}
  - name: b
    entrypoint: flow.py:main
    work_pool: {name: p}
    schedules: null
    build: {}
    push: null
    pull: null
    concurrency_limit: {limit: 3}
"""

EXPECTED = [
    (1, "build", "`build: {}` is an empty mapping, read as no build steps", "write `build: []`"),
    (3, "pull", "`pull: {}` is an empty mapping, read as no pull steps", "write `pull: []`"),
    (8, "deployments[a].schedule", "`schedule: []` is read as no schedule", "remove it, or write `schedules: []`"),
    (
        9,
        "deployments[a].concurrency_limit.grace_period_seconds",
        "`grace_period_seconds` is not used: a run's slot is freed when the run ends, or when its worker's lease "
        "expires",
        "remove it (a worker's --lease sets how soon a dead worker's slots are freed)",
    ),
    (
        13,
        "deployments[b].schedules",
        "`schedules: null` is read as no schedules (a redeploy removes the deployment's schedules)",
        "write `schedules: []`, or remove the key",
    ),
    (14, "deployments[b].build", "`build: {}` is an empty mapping, read as no build steps", "write `build: []`"),
    (
        16,
        "deployments[b].pull",
        "`pull: null` in a deployment is read as the file's pull steps (as Prefect does), not as none",
        "remove the key (it means the same), or write `pull: []` for no pull steps",
    ),
]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "flow.py").write_text(FLOW)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_prefect_forms_are_warnings_with_their_fix_in_a_prefect_yaml(tmp_path: Path) -> None:
    result = validate_file(_write(tmp_path, "prefect.yaml", FORMS))
    assert [(i.line, i.path, i.message, i.severity) for i in result.issues] == [
        (line, path, message, "warning") for line, path, message, _ in EXPECTED
    ]
    assert [i.hint for i in result.issues] == [f"{fix}; --strict makes this an error" for *_, fix in EXPECTED]
    assert result.project is not None and [len(d.build) for d in result.project.deployments] == [0, 0]
    assert all(d.schedules == [] for d in result.project.deployments)
    assert [d.concurrency_limit for d in result.project.deployments] == [
        {"limit": 2, "collision_strategy": "CANCEL_NEW"},
        {"limit": 3, "collision_strategy": "ENQUEUE"},
    ]


def test_a_deployments_null_pull_is_the_files_pull_steps_as_in_prefect(tmp_path: Path) -> None:
    text = """\
pull:
  - set_working_directory: {directory: /srv/app}
deployments:
  - name: a
    entrypoint: flow.py:main
    work_pool: {name: p}
    pull:
  - name: b
    entrypoint: flow.py:main
    work_pool: {name: p}
    pull: []
"""
    result = validate_file(_write(tmp_path, "prefect.yaml", text))
    assert [(i.line, i.severity) for i in result.issues] == [(7, "warning")]
    assert result.project is not None
    assert [[c.name for c in d.pull] for d in result.project.deployments] == [["set_working_directory"], []]


@pytest.mark.parametrize(("name", "strict"), [("deploy.yaml", False), ("prefect.yaml", True)])
def test_they_are_errors_in_a_deploy_yaml_and_under_strict(tmp_path: Path, name: str, strict: bool) -> None:
    result = validate_file(_write(tmp_path, name, FORMS), strict=strict)
    assert [(i.line, i.message, i.severity) for i in result.issues] == [(e[0], e[2], "error") for e in EXPECTED]


DOCKER = """\
deployments:
  - name: d
    entrypoint: flow.py:main
    work_pool:
      name: dock
      job_variables: {image: "python:3.11", network: host, cap_add: [NET_ADMIN]}
"""


def test_job_variables_a_pool_type_lacks_are_ignored_in_a_prefect_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "dock", "--type", "docker").code == 0
    path = _write(tmp_path, "prefect.yaml", DOCKER)
    done = cli("deploy", "--file", str(path))
    assert done.code == 0, done.err + done.out
    shown = done.err + done.out
    assert (
        "warning: deployments[d].work_pool.job_variables.network: job variable 'network' is not a variable of "
        "docker pools; ignored (as Prefect does) (did you mean 'networks'?; or remove it)" in shown
    )
    assert "job_variables.cap_add: job variable 'cap_add' is not a variable of docker pools; ignored" in shown
    with open_store() as store:
        [stored] = store.deployments.list()
    assert stored.job_variables == {"image": "python:3.11"}


def test_they_are_errors_in_a_deploy_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "dock", "--type", "docker").code == 0
    done = cli("deploy", "--file", str(_write(tmp_path, "deploy.yaml", DOCKER)))
    assert done.code == 1
    assert "deployments[d].work_pool.job_variables.network: unknown job variable (pool 'dock', docker) " in done.err
    with open_store() as store:
        assert store.deployments.list() == []


@pytest.mark.parametrize(
    ("name", "args", "severity", "message"),
    [
        ("prefect.yaml", (), "warning: ", "job variable 'network' is not a variable of docker pools; ignored"),
        ("prefect.yaml", ("--strict",), "", "job variable 'network' is not a variable of docker pools (Prefect would"),
        ("deploy.yaml", (), "", "unknown job variable (pool 'dock', docker) (did you mean 'networks'?)"),
    ],
)
def test_validate_checks_job_variables_against_the_pool_when_the_store_has_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    args: tuple[str, ...],
    severity: str,
    message: str,
) -> None:
    cli = CLI(capsys, monkeypatch)
    path = _write(tmp_path, name, DOCKER)
    assert cli("validate", "--file", str(path)).code == 0  # no such pool (nor store) yet: deploy's business
    assert cli("work-pool", "create", "dock", "--type", "docker").code == 0
    done = cli("validate", "--file", str(path), *args)
    assert f"{name}:6:54: {severity}deployments[d].work_pool.job_variables.network: {message}" in done.out + done.err
    assert done.code == (0 if severity else 1)


def test_validate_does_not_create_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYTOOL_HOME", str(tmp_path / "home"))
    assert CLI(capsys, monkeypatch)("validate", "--file", str(_write(tmp_path, "deploy.yaml", DOCKER))).code == 0
    assert not (tmp_path / "home").exists()
