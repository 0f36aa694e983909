"""Schedules through the real CLI: deploy --cron/--interval, catch_up from the file, ls next run, pause/resume,
and `deploytool scheduler --once`."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.cli import scheduler_cmds
from deploytool.cli.app import app
from deploytool.models import RunState
from tests.cli.cli_helpers import CLI, open_store
from tests.cli.projects import write_project
from tests.scheduling.helpers import auto_runs

scheduler_cmds.register(app)

PROJECT = """
deployments:
  - name: daily
    entrypoint: flows/etl.py:etl
    parameters: {source: s3://daily}
    catch_up: none
    schedule:
      cron: "0 6 * * *"
      timezone: Europe/Berlin
      parameters: {batch_size: 5}
    work_pool: {name: local}
"""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> CLI:
    command = CLI(capsys, monkeypatch)
    assert command("work-pool", "create", "local", "--type", "process").code == 0
    return command


def test_the_file_s_schedule_and_catch_up_are_stored_and_ls_shows_the_next_run(cli: CLI, tmp_path: Path) -> None:
    path = write_project(tmp_path, PROJECT)
    assert cli("deploy", "--file", str(path)).code == 0
    with open_store() as store:
        d = store.deployments.get_by_name("etl", "daily")
    assert d.catch_up == "none"
    assert d.schedules == [{"cron": "0 6 * * *", "timezone": "Europe/Berlin", "parameters": {"batch_size": 5}}]
    rows = cli("deployment", "ls", "--output", "json").json()
    rows = rows.get("data", rows) if isinstance(rows, dict) else rows
    assert rows[0]["next_run"] is not None and rows[0]["catch_up"] == "none"
    assert "next run" in cli("deployment", "ls").out


def test_deploy_cron_replaces_the_file_s_schedules(cli: CLI, tmp_path: Path) -> None:
    path = write_project(tmp_path, PROJECT)
    result = cli("deploy", "--file", str(path), "--cron", "*/15 * * * *", "--interval", "PT2H", "--timezone", "UTC")
    assert result.code == 0, result.err
    with open_store() as store:
        d = store.deployments.get_by_name("etl", "daily")
    assert d.schedules == [{"cron": "*/15 * * * *", "timezone": "UTC"}, {"interval": "PT2H", "timezone": "UTC"}]


def test_deploy_rejects_a_bad_cron_option_and_a_lone_timezone(cli: CLI, tmp_path: Path) -> None:
    path = write_project(tmp_path, PROJECT)
    bad = cli("deploy", "--file", str(path), "--cron", "61 * * * *")
    assert bad.code != 0 and "--cron" in bad.err
    lone = cli("deploy", "--file", str(path), "--timezone", "Europe/Berlin")
    assert lone.code != 0 and "--timezone" in lone.err
    wrong_zone = cli("deploy", "--file", str(path), "--cron", "0 * * * *", "--timezone", "Europe/Berln")
    assert wrong_zone.code != 0 and "Europe/Berlin" in wrong_zone.err


def test_scheduler_once_pause_resume_and_a_redeploy_that_changes_the_schedule(cli: CLI, tmp_path: Path) -> None:
    path = write_project(tmp_path, PROJECT)
    assert cli("deploy", "--file", str(path)).code == 0
    once = cli("scheduler", "--once", "--min-runs", "2", "--min-time", "0")
    assert once.code == 0 and "2 run(s) created" in once.out
    with open_store() as store:
        d = store.deployments.get_by_name("etl", "daily")
        runs = auto_runs(store, d)
    assert len(runs) == 2 and runs[0].parameters == {"source": "s3://daily", "batch_size": 5}
    assert all(r.scheduled_time.astimezone().hour is not None for r in runs)

    paused = cli("deployment", "pause", "etl/daily")
    assert paused.code == 0 and "deleted 2 scheduled runs" in paused.out
    assert cli("deploy", "--file", str(path)).code == 0  # the file does not say `paused`: it stays paused
    with open_store() as store:
        assert store.deployments.get_by_name("etl", "daily").paused
    assert "0 run(s) created" in cli("scheduler", "--once").out
    resumed = cli("deployment", "resume", "etl/daily")
    assert resumed.code == 0 and "scheduled 3 runs" in resumed.out

    # A redeploy with another schedule removes the old schedule's waiting runs in the same transaction.
    assert cli("deploy", "--file", str(path), "--cron", "0 7 * * *").code == 0
    with open_store() as store:
        assert auto_runs(store, d, RunState.SCHEDULED) == []
    assert "3 run(s) created" in cli("scheduler", "--once").out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--min-time", "nan"], "the minimum time ahead (nans) must be between 0 and the maximum"),
        (["--min-time", "inf"], "the minimum time ahead (infs) must be between 0 and the maximum"),
        (["--every", "inf"], "--every must be more than 0 and at most 86400 seconds, not inf"),
        (["--every", "nan"], "--every must be more than 0 and at most 86400 seconds, not nan"),
    ],
)
def test_scheduler_refuses_non_finite_durations_with_a_clear_error(
    cli: CLI, tmp_path: Path, args: list[str], says: str
) -> None:
    assert cli("deploy", "--file", str(write_project(tmp_path, PROJECT))).code == 0
    result = cli("scheduler", "--once", *args)
    assert result.code == 1 and says in result.err and "internal error" not in result.err


def test_scheduler_once_json_errors_are_an_envelope(cli: CLI) -> None:
    result = cli("scheduler", "--once", "-o", "json", "--pool", "nope")
    assert result.code == 1 and "work pool 'nope' not found" in result.err
    envelope = result.json()
    assert envelope["kind"] == "scheduler-pass" and envelope["ok"] is False
    assert envelope["errors"][0]["message"] == "work pool 'nope' not found"
    bad = cli("scheduler", "--once", "-o", "json", "--every", "0")
    assert bad.code == 1 and bad.json()["errors"][0]["message"].startswith("--every must be more than 0")
