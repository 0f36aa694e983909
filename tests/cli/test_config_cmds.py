"""`deploytool validate`, `schema` and `init` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.cli.cli_helpers import CLI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_validate_the_example_prints_a_summary(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    result = cli("validate", "--file", "prefect.yaml")
    assert result.code == 0, result.err
    assert result.err == ""  # no warnings for the example
    assert "hello/hello-local" in result.out
    assert "etl/etl-docker" in result.out
    assert "prefect.yaml: valid, 4 deployments." in result.out


def test_deploy_yaml_is_found_before_prefect_yaml(cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    monkeypatch.chdir(tmp_path / "ex")
    (tmp_path / "ex" / "deploy.yaml").write_text("deployments: 5\n")
    result = cli("validate")
    assert result.code == 1
    assert result.err.startswith("deploy.yaml:1:14: deployments: expected a list")


def test_paths_are_relative_to_the_file_not_the_cwd(cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "--file", str(EXAMPLES / "prefect.yaml"))
    assert result.code == 0, result.err


def test_no_project_file_says_what_to_do(cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("validate")
    assert result.code == 1
    assert f"no deploy.yaml or prefect.yaml in {tmp_path}" in result.err
    assert "deploytool init" in result.err


@pytest.mark.parametrize("nested", ["[" * 3000 + "]" * 3000, "{a: " * 200 + "1" + "}" * 200])
def test_deeply_nested_yaml_is_a_clear_error(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, nested: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("deploy.yaml").write_text(f"deployments:\n  - name: a\n    parameters: {{x: {nested}}}\n")
    for command in (("validate",), ("deploy", "--dry-run")):
        result = cli(*command)
        assert result.code == 1
        assert "deploy.yaml:3:" in result.err and "nested more than 100 levels deep" in result.err
        assert "internal error" not in result.err


def test_validate_reports_malformed_placeholders_that_deploy_would_refuse(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("f.py").write_text("from deploytool import flow\n\n@flow\ndef f() -> None: ...\n")
    Path("deploy.yaml").write_text(
        "deployments:\n  - name: a\n    entrypoint: f.py:f\n    work_pool: {name: p}\n"
        "    description: 'literally {{ end'\n    tags: ['{{ }}', \"{{ '}}' }}\"]\n"
    )
    result = cli("validate")
    assert result.code == 1
    assert "deploy.yaml:5:18: deployments[a].description: unclosed placeholder in 'literally {{ end'" in result.err
    assert "deploy.yaml:6:12: deployments[a].tags[0]: empty placeholder in '{{ }}'" in result.err
    assert "Found 2 errors." in result.err


def test_validate_json_lists_every_issue(cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    Path("deploy.yaml").write_text("deployments:\n  - name: a\n    entrypoint: x.py:f\n    wat: 1\n")
    result = cli("validate", "--output", "json")
    assert result.code == 1
    envelope = result.json()
    assert envelope["kind"] == "validation" and envelope["ok"] is False and envelope["data"] is None
    messages = [(e["line"], e["path"], e["message"]) for e in envelope["errors"]]
    assert (4, "deployments[a].wat", "unknown key 'wat'") in messages
    assert any("x.py" in m and "does not exist" in m for _, _, m in messages)


def test_validate_json_success(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    envelope = cli("validate", "-f", "prefect.yaml", "-o", "json").json()
    assert envelope["ok"] is True
    names = [d["flow_name"] + "/" + d["name"] for d in envelope["data"]["deployments"]]
    assert names == ["hello/hello-local", "etl/etl-docker", "etl/etl-every-ten-minutes", "make-report/weekly-report"]


def test_schema_prints_the_schema_that_validates(cli: CLI) -> None:
    result = cli("schema")
    schema = json.loads(result.out)
    jsonschema.Draft202012Validator.check_schema(schema)
    example = yaml.safe_load((EXAMPLES / "prefect.yaml").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(example)) == []
    assert list(jsonschema.Draft202012Validator(schema).iter_errors({"deployments": [{"name": 1}]}))


@pytest.mark.parametrize("recipe", ["process", "docker"])
def test_init_writes_a_starter_that_validates(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recipe: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("init", "--recipe", recipe)
    assert result.code == 0, result.err
    assert (tmp_path / "deploy.yaml").exists() and (tmp_path / "flows" / "my_flow.py").exists()
    validated = cli("validate")
    assert validated.code == 0, validated.err
    again = cli("init")
    assert again.code == 1 and "already exists" in again.err and "--force" in again.err


def test_init_unknown_recipe(cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("init", "--recipe", "kubernetes")
    assert result.code == 1
    assert "unknown recipe 'kubernetes'" in result.err


def test_strict_turns_prefect_warnings_into_errors(cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "flows", tmp_path / "flows")
    monkeypatch.chdir(tmp_path)
    Path("prefect.yaml").write_text(
        "deployments:\n  - name: a\n    entrypoint: flows/hello.py:hello\n"
        "    work_pool: {name: p}\n    is_paused: true\n"
    )
    lenient = cli("validate")
    assert lenient.code == 0
    assert "prefect.yaml:5:5: warning: deployments[a].is_paused: unknown key 'is_paused' is ignored" in lenient.err
    assert "did you mean 'paused'?" in lenient.err
    strict = cli("validate", "--strict")
    assert strict.code == 1
    assert "prefect.yaml:5:5: deployments[a].is_paused: unknown key 'is_paused' is ignored" in strict.err


def test_an_internal_error_is_not_a_traceback(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated_home: Path
) -> None:
    import deploytool.config as config

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(config, "load_project", boom)
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "crash.log").touch(mode=0o644)  # an older crash.log, readable by others
    result = cli("validate", "--file", "private-name.yaml")
    assert result.code == 1
    assert "internal error: RuntimeError: kaboom" in result.err
    assert "Traceback" not in result.err
    crash = isolated_home / "crash.log"
    assert "kaboom" in crash.read_text() and "deploytool validate (arguments not logged)" in crash.read_text()
    assert "private-name" not in crash.read_text()  # argument values are never logged
    assert crash.stat().st_mode & 0o777 == 0o600


def test_an_init_project_runs_wherever_the_worker_was_started(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import subprocess
    import sys

    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    assert cli("init").code == 0
    assert cli("work-pool", "create", "local-processes", "--type", "process").code == 0
    assert cli("deploy").code == 0
    queued = cli("run", "my-flow/my-flow-local", "--param", "name=init", "-o", "json")
    run_id = queued.json()["data"]["id"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    worker = subprocess.run(
        [sys.executable, "-m", "deploytool", "worker", "start", "--pool", "local-processes", "--run-once"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr
    shown = cli("flow-run", "inspect", run_id, "-o", "json").json()["data"]
    assert shown["state"] == "COMPLETED", shown
    assert "Hello, init!" in cli("flow-run", "logs", run_id).out
