"""`deploytool work-pool ...` against a real store file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploytool.jobvars import default_base_job_template
from deploytool.models import Deployment, FlowRun, RunState, utcnow
from tests.cli.cli_helpers import CLI, open_store


def _ls(cli: CLI) -> dict[str, dict[str, object]]:
    result = cli("work-pool", "ls", "--output", "json")
    assert result.code == 0, result.err
    return {p["name"]: p for p in result.json()["data"]}


@pytest.mark.parametrize("pool_type", ["process", "docker"])
def test_create_each_type_then_ready_on_heartbeat_and_paused(cli: CLI, pool_type: str) -> None:
    result = cli("work-pool", "create", "p1", "--type", pool_type)
    assert result.code == 0, result.err
    assert "Created work pool 'p1'" in result.out

    text = cli("work-pool", "ls")
    assert "p1" in text.out and pool_type in text.out and "NOT_READY" in text.out
    assert _ls(cli)["p1"]["status"] == "NOT_READY"

    with open_store() as store:
        store.workers.heartbeat("w1", "p1", "host-a", 4242, utcnow())
        assert store.pools.get("p1").base_job_template == default_base_job_template(pool_type)
    assert _ls(cli)["p1"]["status"] == "READY"

    assert cli("work-pool", "pause", "p1").code == 0
    assert _ls(cli)["p1"]["status"] == "PAUSED"
    assert "PAUSED" in cli("work-pool", "ls").out
    resumed = cli("work-pool", "resume", "p1")
    assert resumed.code == 0 and "READY" in resumed.out
    assert _ls(cli)["p1"]["status"] == "READY"


def test_create_paused_with_limit_and_counts(cli: CLI) -> None:
    assert cli("work-pool", "create", "p", "--type", "process", "--paused", "--concurrency-limit", "2").code == 0
    row = _ls(cli)["p"]
    assert row["status"] == "PAUSED" and row["concurrency_limit"] == 2
    with open_store() as store:
        dep, _ = store.deployments.upsert(Deployment(flow_name="etl", name="d", entrypoint="f.py:etl", pool_name="p"))
        store.runs.create(FlowRun("etl", "d", "p", dep.id))
        run = store.runs.create(FlowRun("etl", "d", "p", dep.id))
        store.runs.set_state(run.id, RunState.PENDING)
    row = _ls(cli)["p"]
    assert (row["queued"], row["running"]) == (1, 1)


def test_unknown_type_lists_known_types(cli: CLI) -> None:
    result = cli("work-pool", "create", "p", "--type", "kubernetes")
    assert result.code == 1
    assert "unknown work pool type 'kubernetes'" in result.err and "process, docker" in result.err
    assert "Traceback" not in result.err
    assert cli("work-pool", "get-default-base-job-template", "--type", "dockr").err.count("did you mean 'docker'")


def test_existing_pool_needs_overwrite(cli: CLI) -> None:
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    again = cli("work-pool", "create", "p", "--type", "docker")
    assert again.code == 1 and "already exists" in again.err
    replaced = cli("work-pool", "create", "p", "--type", "docker", "--overwrite")
    assert replaced.code == 0 and "Replaced work pool 'p' (docker)" in replaced.out
    assert _ls(cli)["p"]["type"] == "docker"


def test_messages_quote_a_pool_name_with_a_space_so_commands_can_be_pasted(cli: CLI) -> None:
    created = cli("work-pool", "create", "my pool", "--type", "process")
    assert created.code == 0 and "deploytool worker start --pool 'my pool'." in created.out
    paused = cli("work-pool", "pause", "my pool")
    assert "Resume it with: deploytool work-pool resume 'my pool'" in paused.out
    missing = cli("work-pool", "inspect", "other pool")
    assert "create it: deploytool work-pool create 'other pool' --type process" in missing.err


def test_bad_template_lists_every_problem_and_stores_nothing(cli: CLI, tmp_path: Path) -> None:
    template = default_base_job_template("process")
    template["job_configuration"]["command"] = "{{ comand }}"
    template["job_configuration"]["extra"] = "run {{ nothing_here }}"
    template["variables"]["properties"]["stream_output"]["default"] = "yes"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(template))

    result = cli("work-pool", "create", "p", "--type", "process", "--base-job-template", str(bad))
    assert result.code == 1
    assert "3 problems" in result.err
    assert "job_configuration.command: {{ comand }} names no variable" in result.err
    assert "did you mean 'command'?" in result.err
    assert "job_configuration.extra: {{ nothing_here }}" in result.err
    assert "variables.properties.stream_output: 'yes' is not of type 'boolean'" in result.err
    assert "get-default-base-job-template" in result.err
    assert _ls(cli) == {}

    broken = tmp_path / "broken.json"
    broken.write_text('{"job_configuration": }')
    result = cli("work-pool", "create", "p", "--type", "process", "--base-job-template", str(broken))
    assert result.code == 1 and f"{broken}:1:23: invalid JSON" in result.err
    missing = cli("work-pool", "create", "p", "--type", "process", "--base-job-template", str(tmp_path / "no.json"))
    assert missing.code == 1 and "cannot read base job template" in missing.err
    assert _ls(cli) == {}


def test_custom_template_roundtrip_and_update(cli: CLI, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    result = cli("work-pool", "get-default-base-job-template", "--type", "process", "--file", str(out))
    assert result.code == 0 and json.loads(out.read_text()) == default_base_job_template("process")
    printed = cli("work-pool", "get-default-base-job-template", "--type", "docker")
    assert json.loads(printed.out) == default_base_job_template("docker")

    template = json.loads(out.read_text())
    template["job_configuration"]["env"] = {"FROM_POOL": "1", "MORE": "{{ env }}"}
    out.write_text(json.dumps(template))
    assert cli("work-pool", "create", "p", "--type", "process", "--base-job-template", str(out)).code == 0

    assert cli("work-pool", "update", "p", "--concurrency-limit", "5", "--description", "main pool").code == 0
    detail = cli("work-pool", "inspect", "p", "-o", "json").json()
    assert detail["kind"] == "work-pool" and detail["ok"] is True
    data = detail["data"]
    assert data["concurrency_limit"] == 5 and data["description"] == "main pool"
    assert data["base_job_template"]["job_configuration"]["env"]["FROM_POOL"] == "1"
    assert [q["name"] for q in data["queues"]] == ["default"]

    assert cli("work-pool", "update", "p", "--no-concurrency-limit").code == 0
    assert _ls(cli)["p"]["concurrency_limit"] is None
    nothing = cli("work-pool", "update", "p")
    assert nothing.code == 1 and "nothing to update" in nothing.err
    both = cli("work-pool", "update", "p", "--concurrency-limit", "1", "--no-concurrency-limit")
    assert both.code == 1 and "contradict" in both.err


def test_update_template_warns_about_deployments_it_breaks(cli: CLI, tmp_path: Path) -> None:
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    with open_store() as store:
        store.deployments.upsert(
            Deployment("etl", "d", "f.py:etl", "p", job_variables={"working_dir": "/srv", "stream_output": True})
        )
    template = default_base_job_template("process")
    del template["variables"]["properties"]["working_dir"]
    del template["job_configuration"]["working_dir"]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    result = cli("work-pool", "update", "p", "--base-job-template", str(path))
    assert result.code == 0
    assert "warning: deployment etl/d: job_variables.working_dir: unknown job variable" in result.err


def test_delete_refused_with_active_run_unless_force(cli: CLI) -> None:
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    with open_store() as store:
        dep, _ = store.deployments.upsert(Deployment(flow_name="etl", name="d", entrypoint="f.py:etl", pool_name="p"))
        run = store.runs.create(FlowRun("etl", "d", "p", dep.id, name="brave-run"))
        store.runs.set_state(run.id, RunState.PENDING)
        store.runs.set_state(run.id, RunState.RUNNING)
        store.runs.create(FlowRun("etl", "d", "p", dep.id))

    refused = cli("work-pool", "delete", "p")
    assert refused.code == 1
    assert "1 active run(s): etl/d run 'brave-run' (RUNNING)" in refused.err
    assert "--force" in refused.err
    assert "p" in _ls(cli)

    done = cli("work-pool", "delete", "p", "--force")
    assert done.code == 0, done.err
    assert "cancelling 1 active run(s)" in done.out and "deleted 1 scheduled run(s)" in done.out
    assert "deleted 1 deployment(s)" in done.out
    assert _ls(cli) == {}
    with open_store() as store:
        assert store.runs.get(run.id).state is RunState.CANCELLING


def test_delete_refused_while_deployments_use_it(cli: CLI) -> None:
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    with open_store() as store:
        store.deployments.upsert(Deployment(flow_name="etl", name="d", entrypoint="f.py:etl", pool_name="p"))
    refused = cli("work-pool", "delete", "p")
    assert refused.code == 1 and "used by 1 deployment(s): etl/d" in refused.err


def test_inspect_text_and_missing_pool(cli: CLI) -> None:
    assert cli("work-pool", "create", "p", "--type", "docker").code == 0
    with open_store() as store:
        store.workers.heartbeat("w1", "p", "host-a", 7, utcnow())
    text = cli("work-pool", "inspect", "p")
    assert text.code == 0
    assert "status: READY" in text.out and "w1 on host-a (pid 7): online" in text.out
    assert '"image_pull_policy": "{{ image_pull_policy }}"' in text.out

    missing = cli("work-pool", "inspect", "nope")
    assert missing.code == 1 and "work pool 'nope' not found" in missing.err
    as_json = cli("work-pool", "inspect", "nope", "-o", "json")
    assert as_json.code == 1
    envelope = as_json.json()
    assert envelope == {
        "version": 1,
        "kind": "work-pool",
        "ok": False,
        "data": None,
        "errors": [
            {
                "type": "NotFoundError",
                "message": "work pool 'nope' not found",
                "hint": "create it: deploytool work-pool create nope --type process",
            }
        ],
    }


def test_ls_json_envelope_is_stable(cli: CLI) -> None:
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    envelope = cli("work-pool", "ls", "-o", "json").json()
    assert set(envelope) == {"version", "kind", "ok", "data", "errors"}
    head = (envelope["version"], envelope["kind"], envelope["ok"], envelope["errors"])
    assert head == (1, "work-pool-list", True, [])
    assert set(envelope["data"][0]) == {
        "name", "type", "status", "problem", "paused", "concurrency_limit", "queued", "running", "description",
        "created", "updated",
    }  # fmt: skip


def test_bad_names_and_limits(cli: CLI) -> None:
    slash = cli("work-pool", "create", "a/b", "--type", "process")
    assert slash.code == 1 and "contains '/'" in slash.err
    negative = cli("work-pool", "create", "p", "--type", "process", "--concurrency-limit", "-1")
    assert negative.code == 1 and "must be 0 or more" in negative.err
    escape = cli("work-pool", "create", "p", "--type", "process", "--description", "x\x1b[2Jy")
    assert escape.code == 1 and "contains a control character" in escape.err
    assert _ls(cli) == {}
    assert cli("work-pool", "create", "p", "--type", "process", "--description", "one line").code == 0
    newline = cli("work-pool", "update", "p", "--description", "two\nlines")
    assert newline.code == 1 and "contains a control character" in newline.err
    assert _ls(cli)["p"]["description"] == "one line"


@pytest.mark.parametrize("group", ["work-pool", "work-queue", "variable", "block"])
def test_help_of_each_group(cli: CLI, group: str) -> None:
    result = cli(group, "--help")
    assert result.code == 0 and "Usage" in result.out
    for command in {"work-pool": ["create", "inspect", "get-default-base-job-template"], "block": ["set"]}.get(
        group, ["ls"]
    ):
        sub = cli(group, command, "--help")
        assert sub.code == 0, sub.err
