"""`deploytool deploy` and `deployment ls/inspect/render/delete`, through the real CLI and a real store file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.cli_helpers import CLI, open_store
from tests.cli.projects import write_project

TWO = """
deployments:
  - name: daily
    entrypoint: flows/etl.py:etl
    parameters: {source: s3://daily}
    schedules:
      - cron: "0 6 * * *"
        timezone: Europe/Berlin
    work_pool:
      name: local
      job_variables:
        env: {REGION: eu}
  - name: hourly
    entrypoint: flows/etl.py:etl
    parameters: {source: s3://hourly}
    work_pool: {name: local}
"""


@pytest.fixture
def pool(cli: CLI) -> str:
    assert cli("work-pool", "create", "local", "--type", "process").code == 0
    return "local"


def test_deploy_all_then_again_changes_nothing(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    first = cli("deploy", "--all", "--file", str(file))
    assert first.code == 0, first.err
    assert "+ create    etl/daily" in first.out
    assert "Deployed: 2 created." in first.out
    again = cli("deploy", "--all", "--file", str(file))
    assert again.code == 0
    assert "Nothing to change: 2 unchanged." in again.out
    with open_store() as store:
        daily = store.deployments.get_by_name("etl", "daily")
    assert daily.parameters == {"source": "s3://daily"}
    assert daily.job_variables == {"env": {"REGION": "eu"}}
    assert daily.schedules == [{"cron": "0 6 * * *", "timezone": "Europe/Berlin"}]
    assert daily.source_file == str(file.resolve())
    assert daily.parameter_schema["required"] == ["source"]


def test_update_names_the_changed_fields(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    cli("deploy", "--all", "--file", str(file))
    file.write_text(file.read_text().replace("s3://hourly", "s3://changed"))
    result = cli("deploy", "--all", "--file", str(file))
    assert "~ update    etl/hourly (parameters)" in result.out
    assert "= unchanged etl/daily" in result.out


def test_without_selection_several_deployments_is_an_error(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    result = cli("deploy", "--file", str(file))
    assert result.code == 1
    assert "has 2 deployments: etl/daily, etl/hourly" in result.err
    assert "--all" in result.err
    with open_store() as store:
        assert store.deployments.list() == []


def test_select_by_name_and_flow_name(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    assert cli("deploy", "-n", "etl/hourly", "--file", str(file)).code == 0
    with open_store() as store:
        assert [d.name for d in store.deployments.list()] == ["hourly"]
    missing = cli("deploy", "-n", "weekly", "--file", str(file))
    assert missing.code == 1
    assert "no deployment in deploy.yaml matches 'weekly'" in missing.err


def test_missing_pool_is_an_error_with_the_create_command_and_nothing_is_written(cli: CLI, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    result = cli("deploy", "--all", "--file", str(file))
    assert result.code == 1
    assert "deployments[daily].work_pool.name: work pool 'local' does not exist" in result.err
    assert "deploytool work-pool create local --type process" in result.err
    with open_store() as store:
        assert store.deployments.list() == []


def test_one_bad_deployment_means_nothing_is_written(cli: CLI, pool: str, tmp_path: Path) -> None:
    text = TWO.replace("env: {REGION: eu}", "env: {REGION: eu}\n        workdir: /tmp")
    file = write_project(tmp_path, text)
    result = cli("deploy", "--all", "--file", str(file))
    assert result.code == 1
    assert "deployments[daily].work_pool.job_variables.workdir: unknown job variable (pool 'local'" in result.err
    assert "did you mean" in result.err and "working_dir" in result.err
    with open_store() as store:
        assert store.deployments.list() == []


def test_job_variable_overrides_merge_into_the_files(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    result = cli("deploy", "-n", "daily", "--file", str(file), "--job-variable", 'env={"DEBUG": "1"}')
    assert result.code == 0, result.err
    with open_store() as store:
        daily = store.deployments.get_by_name("etl", "daily")
    assert daily.job_variables == {"env": {"REGION": "eu", "DEBUG": "1"}}


def test_param_override_is_checked_against_the_flow(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    result = cli("deploy", "-n", "daily", "--file", str(file), "--param", "batch_size=lots")
    assert result.code == 1
    # the problem names the option it came from, not a line of the file that does not hold it
    assert "deploy.yaml:3:5: deployments[daily]: --param batch_size: parameter 'batch_size' must be an integer" in (
        result.err
    )
    ok = cli("deploy", "-n", "daily", "--file", str(file), "--param", "batch_size=5")
    assert ok.code == 0
    with open_store() as store:
        assert store.deployments.get_by_name("etl", "daily").parameters == {"source": "s3://daily", "batch_size": 5}


def test_bad_command_line_overrides_name_their_option(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    args = ("deploy", "-n", "daily", "--file", str(file))
    result = cli(*args, "--job-variable", "workdir=/tmp", "--job-variable", 'env={"N": 1}')
    assert result.code == 1
    assert "deployments[daily]: --job-variable workdir: unknown job variable (pool 'local'" in result.err
    assert "deployments[daily]: --job-variable env.N: job variable 1 is not of type 'string'" in result.err
    result = cli(*args, "--pool", "nope")
    assert result.code == 1
    assert "deploy.yaml:3:5: deployments[daily]: --pool: work pool 'nope' does not exist" in result.err
    with open_store() as store:
        assert store.deployments.list() == []


def test_dry_run_writes_nothing(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    result = cli("deploy", "--all", "--dry-run", "--file", str(file))
    assert result.code == 0
    assert "Dry run, nothing written. Would be: 2 created." in result.out
    with open_store() as store:
        assert store.deployments.list() == []


def test_prune_deletes_what_left_the_file(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    cli("deploy", "--all", "--file", str(file))
    file.write_text(TWO.split("  - name: hourly")[0])
    kept = cli("deploy", "--all", "--file", str(file))
    assert "delete" not in kept.out  # without --prune nothing is deleted
    pruned = cli("deploy", "--all", "--prune", "--file", str(file))
    assert "- delete    etl/hourly" in pruned.out
    with open_store() as store:
        assert [d.name for d in store.deployments.list()] == ["daily"]


def test_empty_schedules_clear_stored_ones(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    cli("deploy", "--all", "--file", str(file))
    file.write_text(
        TWO.replace('      - cron: "0 6 * * *"\n        timezone: Europe/Berlin\n', "").replace(
            "schedules:\n", "schedules: []\n"
        )
    )
    result = cli("deploy", "-n", "daily", "--file", str(file))
    assert "(schedules)" in result.out
    with open_store() as store:
        assert store.deployments.get_by_name("etl", "daily").schedules == []


def test_a_paused_deployment_stays_paused_on_redeploy(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    cli("deploy", "--all", "--file", str(file))
    with open_store() as store:
        daily = store.deployments.get_by_name("etl", "daily")
        store.deployments.set_paused(daily.id, True)
    file.write_text(file.read_text().replace("s3://daily", "s3://other"))
    cli("deploy", "--all", "--file", str(file))
    with open_store() as store:
        assert store.deployments.get_by_name("etl", "daily").paused is True


def test_env_is_resolved_at_deploy_time_and_block_secrets_are_not(
    cli: CLI, pool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("block", "set", "secret/db-password", "value=hunter2-secret").code == 0
    monkeypatch.setenv("TARGET_REGION", "us-east-1")
    file = write_project(
        tmp_path,
        """
        deployments:
          - name: daily
            entrypoint: flows/etl.py:etl
            parameters: {source: "s3://{{ $TARGET_REGION }}/in"}
            work_pool:
              name: local
              job_variables:
                env:
                  DB_PASSWORD: "{{ prefect.blocks.secret.db-password }}"
        """,
    )
    result = cli("deploy", "--file", str(file))
    assert result.code == 0, result.err
    with open_store() as store:
        daily = store.deployments.get_by_name("etl", "daily")
    assert daily.parameters == {"source": "s3://us-east-1/in"}
    assert daily.job_variables == {"env": {"DB_PASSWORD": "{{ prefect.blocks.secret.db-password }}"}}
    shown = cli("deployment", "inspect", "etl/daily")
    assert "hunter2-secret" not in shown.out
    rendered = cli("deployment", "render", "etl/daily")
    assert "hunter2-secret" not in rendered.out
    assert "{{ prefect.blocks.secret.db-password }}" in rendered.out


def test_unset_environment_variable_is_an_error_at_its_key(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(
        tmp_path,
        """
        deployments:
          - name: daily
            entrypoint: flows/etl.py:etl
            parameters: {source: "{{ $NOT_SET_ANYWHERE }}"}
            work_pool: {name: local}
        """,
    )
    result = cli("deploy", "--file", str(file))
    assert result.code == 1
    assert "deploy.yaml:5:" in result.err
    assert "deployments[daily].parameters.source" in result.err
    assert "NOT_SET_ANYWHERE" in result.err


def test_deployment_commands(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    cli("deploy", "--all", "--file", str(file))
    listing = cli("deployment", "ls", "--output", "json").json()
    assert listing["kind"] == "deployment-list"
    assert [d["full_name"] for d in listing["data"]] == ["etl/daily", "etl/hourly"]
    shown = cli("deployment", "inspect", "etl/daily", "-o", "json").json()
    assert shown["data"]["work_pool"] == "local"
    rendered = cli("deployment", "render", "etl/daily", "-o", "json").json()
    assert rendered["data"]["env"] == {"REGION": "eu"}
    explained = cli("deployment", "render", "etl/daily", "--explain", "-jv", "working_dir=/srv", "-o", "json").json()
    sources = {row["path"]: row["source"] for row in explained["data"]}
    assert sources["env.REGION"] == "deployment"
    assert sources["working_dir"] == "run"
    deleted = cli("deployment", "delete", "etl/hourly")
    assert deleted.code == 0 and "Deleted etl/hourly" in deleted.out
    missing = cli("deployment", "inspect", "etl/hourly")
    assert missing.code == 1


def test_two_processes_deploying_at_once_both_succeed(cli: CLI, pool: str, tmp_path: Path) -> None:
    lines = ["deployments:"]
    for i in range(40):
        lines += [
            f"  - name: d{i}",
            "    entrypoint: flows/etl.py:etl",
            "    parameters: {source: x}",
            "    work_pool: {name: local}",
        ]
    a = write_project(tmp_path / "a", "\n".join(lines) + "\n")
    b = write_project(tmp_path / "b", "\n".join(lines).replace("name: d", "name: e") + "\n")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "deploytool", "deploy", "--all", "--file", str(f)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in (a, b)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "Deployed: 40 created." in out
        assert "locked" not in err
    with open_store() as store:
        assert len(store.deployments.list()) == 80


def test_deploy_output_json(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO)
    result = cli("deploy", "--all", "--file", str(file), "--output", "json")
    data = json.loads(result.out)
    assert data["kind"] == "deploy"
    assert data["data"]["applied"] is True
    assert [i["action"] for i in data["data"]["items"]] == ["create", "create"]


DOCKER_PROJECT = """
build:
  - build_docker_image:
      id: build-image
      image_name: deploytool-test/deploy-auto
      dockerfile: auto
      labels: {LABELS}
deployments:
  - name: first
    entrypoint: flows/etl.py:etl
    parameters: {{source: a}}
    work_pool:
      name: containers
      job_variables:
        image: "{{{{ build-image.image }}}}"
  - name: second
    entrypoint: flows/etl.py:etl
    parameters: {{source: b}}
    work_pool:
      name: containers
      job_variables:
        image: "{{{{ build-image.image }}}}"
"""


def test_deploy_builds_the_auto_image_once_and_adds_its_pull_step(
    cli: CLI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    base_image: str,
    docker_labels: dict[str, str],
    docker_janitor: object,
) -> None:
    monkeypatch.setenv("DEPLOYTOOL_BASE_IMAGE", base_image)
    assert cli("work-pool", "create", "containers", "--type", "docker").code == 0
    labels = json.dumps(docker_labels)
    file = write_project(tmp_path, DOCKER_PROJECT.format(LABELS=labels))
    result = cli("deploy", "--all", "--file", str(file))
    assert result.code == 0, result.err
    assert "Deployed: 2 created." in result.out
    with open_store() as store:
        first = store.deployments.get_by_name("etl", "first")
        second = store.deployments.get_by_name("etl", "second")
    image = first.job_variables["image"]
    assert image.startswith("deploytool-test/deploy-auto:")
    assert second.job_variables["image"] == image
    assert first.pull_steps == [
        {"name": "set_working_directory", "id": None, "inputs": {"directory": "/opt/deploytool/project"}}
    ]
    # one build (or reuse of an earlier identical one) for the two deployments
    shown = result.out + result.err
    assert shown.count("Step 1/") + shown.count("reusing deploytool-test/deploy-auto") == 1, shown
    again = cli("deploy", "--all", "--file", str(file))
    assert "Nothing to change: 2 unchanged." in again.out
    assert "reusing deploytool-test/deploy-auto" in again.out + again.err


def test_deploy_output_json_errors_are_envelopes_with_every_issue(cli: CLI, pool: str, tmp_path: Path) -> None:
    file = write_project(tmp_path, TWO.replace("parameters: {source: s3://hourly}", "parameters: {sourse: x}"))
    result = cli("deploy", "--all", "--file", str(file), "--output", "json")
    assert result.code == 1
    envelope = json.loads(result.out)
    assert envelope["kind"] == "deploy" and envelope["ok"] is False and envelope["data"] is None
    [error] = envelope["errors"]
    assert error["path"] == "deployments[hourly].parameters.sourse"
    assert error["message"] == "unknown parameter 'sourse'"
    assert error["line"] == 15
    missing = cli("deployment", "inspect", "etl/nope", "-o", "json")
    assert missing.code == 1 and json.loads(missing.out)["ok"] is False
