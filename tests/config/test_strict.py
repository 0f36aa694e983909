"""`deploy --strict` and `validate --strict`: every warning a prefect.yaml gets for a form Prefect accepts is an
error, and the deploy stores nothing; without --strict the same file deploys with the warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import CLI, open_store

FLOW = "from deploytool import flow\n\n\n@flow\ndef main(day: str = 'mon'):\n    pass\n"
NEEDS_DAY = "from deploytool import flow\n\n\n@flow\ndef main(day: str):\n    pass\n"

DEPLOYMENT = """\
deployments:
  - name: d
    entrypoint: flow.py:main
    work_pool: {name: p}
"""

# (what is tried, text added to the file (top level, or indented into the deployment), the warning's message)
FORMS = [
    ("build: {}", "build: {}\n", "`build: {}` is an empty mapping, read as no build steps"),
    ("pull: {}", "pull: {}\n", "`pull: {}` is an empty mapping, read as no pull steps"),
    ("push: {} in a deployment", "    push: {}\n", "`push: {}` is an empty mapping, read as no push steps"),
    ("pull: null in a deployment", "    pull: null\n", "`pull: null` in a deployment is read as the file's pull"),
    ("schedule: []", "    schedule: []\n", "`schedule: []` is read as no schedule"),
    ("schedules: null", "    schedules: null\n", "`schedules: null` is read as no schedules"),
    (
        "concurrency_limit mapping with grace_period_seconds",
        "    concurrency_limit: {limit: 1, collision_strategy: CANCEL_NEW, grace_period_seconds: 60}\n",
        "`grace_period_seconds` is not used",
    ),
    ("an unknown key Prefect ignores", "    owner: data-team\n", "unknown key 'owner' is ignored (Prefect ignores it"),
    (
        "a Prefect 2 schedule key",
        "    schedules: [{cron: '0 * * * *', catchup: true}]\n",
        "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
    ),
    ("triggers", "    triggers: [{enabled: true}]\n", "triggers (Prefect automations) are not supported"),
]


def _project(tmp_path: Path, addition: str, flow: str = FLOW) -> Path:
    (tmp_path / "flow.py").write_text(flow)
    text = addition + DEPLOYMENT if not addition.startswith(" ") else DEPLOYMENT + addition
    path = tmp_path / "prefect.yaml"
    path.write_text(text)
    return path


def _stored() -> list[str]:
    with open_store() as store:
        return [d.name for d in store.deployments.list()]


@pytest.mark.parametrize(("form", "addition", "message"), FORMS, ids=[f[0] for f in FORMS])
def test_each_form_is_a_warning_and_under_strict_an_error_that_deploys_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    form: str,
    addition: str,
    message: str,
) -> None:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    path = _project(tmp_path, addition)

    strict = cli("deploy", "--file", str(path), "--strict")
    assert strict.code == 1, strict.out + strict.err
    assert message in strict.err and "warning: " not in strict.err
    assert _stored() == []
    checked = cli("validate", "--file", str(path), "--strict")
    assert checked.code == 1 and message in checked.out + checked.err

    done = cli("deploy", "--file", str(path))
    assert done.code == 0, done.out + done.err
    assert "warning: " in done.out + done.err and message in done.out + done.err
    assert _stored() == ["d"]


def test_a_required_parameter_a_schedule_lacks_is_a_warning_and_under_strict_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    path = _project(tmp_path, "    schedules: [{cron: '0 * * * *'}]\n", flow=NEEDS_DAY)
    message = "required parameter 'day' has no value: every run of this schedule would fail"

    strict = cli("deploy", "--file", str(path), "--strict")
    assert strict.code == 1 and message in strict.err
    assert _stored() == []

    done = cli("deploy", "--file", str(path))
    assert done.code == 0, done.out + done.err
    assert f"warning: deployments[d].schedules[0]: {message}" in done.out + done.err
    assert _stored() == ["d"]


def test_a_job_variable_the_pool_type_lacks_is_ignored_with_a_warning_and_under_strict_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "p", "--type", "docker").code == 0
    path = _project(tmp_path, "")
    path.write_text(DEPLOYMENT.replace("{name: p}", "{name: p, job_variables: {image: 'python:3.11', network: host}}"))

    strict = cli("deploy", "--file", str(path), "--strict")
    assert strict.code == 1
    assert (
        "deployments[d].work_pool.job_variables.network: job variable 'network' is not a variable of docker pools "
        "(Prefect would ignore it) (did you mean 'networks'?; or remove it)" in strict.err
    )
    assert _stored() == []

    done = cli("deploy", "--file", str(path))
    assert done.code == 0, done.out + done.err
    assert "job variable 'network' is not a variable of docker pools; ignored (as Prefect does)" in done.out + done.err
    with open_store() as store:
        assert [d.job_variables for d in store.deployments.list()] == [{"image": "python:3.11"}]
