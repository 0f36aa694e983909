"""Terminal conventions of the CLI, as a user sees them in a real process: colour only on a terminal (never with
NO_COLOR or when piped), shell completion, `deploytool` alone prints help, and one rule for times (JSON: ISO 8601
with offset; text: local time with the zone named once per table)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from deploytool.core import runs as core
from deploytool.jobvars import default_base_job_template
from deploytool.models import Deployment, LogLine, RunState, WorkPool, utcnow
from deploytool.settings import Settings
from deploytool.store import Store

ESC = "\x1b["


def deploytool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI with stdout and stderr piped."""
    return subprocess.run(
        [sys.executable, "-m", "deploytool", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def on_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """The CLI with stdout and stderr on a pseudo-terminal; what the terminal showed."""
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environ.update({"TERM": "xterm", **(env or {})})
    proc = subprocess.Popen([sys.executable, "-m", "deploytool", *args], stdout=follower, stderr=follower, env=environ)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait()
    os.close(leader)
    return b"".join(chunks).decode()


@pytest.fixture
def store_with_runs(isolated_home: Path) -> Path:
    """A pool, a deployment and two runs: one COMPLETED with an ERROR log line, one SCHEDULED."""
    with Store.open(Settings.from_env().db_path) as store:
        store.pools.create(WorkPool("local", "process", default_base_job_template("process")))
        store.deployments.upsert(
            Deployment(flow_name="etl", name="daily", entrypoint="flows.py:etl", pool_name="local")
        )
        done = core.create_run(store, "etl/daily", {})
        store.runs.set_state(done.id, RunState.PENDING, worker_name="w1")
        store.runs.set_state(done.id, RunState.RUNNING)
        store.runs.set_state(done.id, RunState.COMPLETED, "completed")
        store.logs.append(done.id, [LogLine(done.id, utcnow(), "ERROR", "engine", "something went wrong")])
        core.create_run(store, "etl/daily", {}, {}, datetime(2030, 1, 15, 12, 0, tzinfo=utcnow().tzinfo))
        (path,) = {store.path}
    return Path(path)


# --- colour --------------------------------------------------------------------------------------------------


def test_states_levels_and_errors_are_coloured_on_a_terminal(store_with_runs: Path) -> None:
    table = on_terminal("flow-run", "ls")
    assert f"{ESC}32mCOMPLETED{ESC}0m" in table
    assert "SCHEDULED" in table
    # Colour does not shift the columns: the header and the rows line up as without it.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", table)
    assert plain.replace("\r\n", "\n") == deploytool("flow-run", "ls").stdout

    (done,) = [line.split()[0] for line in plain.splitlines() if "COMPLETED" in line]
    assert f"{ESC}31mERROR{ESC}0m" in on_terminal("flow-run", "logs", done)
    assert f"{ESC}1;31mError:{ESC}0m no flow run has" in on_terminal("flow-run", "inspect", "nope")
    assert f"{ESC}33mNOT_READY{ESC}0m" in on_terminal("work-pool", "ls")


def test_no_colour_with_no_color_or_when_piped(store_with_runs: Path) -> None:
    for args in (("flow-run", "ls"), ("work-pool", "ls"), ("flow-run", "inspect", "nope")):
        assert ESC not in on_terminal(*args, env={"NO_COLOR": "1"})
        assert ESC not in on_terminal(*args, env={"TERM": "dumb"})
        piped = deploytool(*args)
        assert ESC not in piped.stdout + piped.stderr


# --- help and completion -------------------------------------------------------------------------------------


def test_deploytool_alone_prints_help_and_exits_0() -> None:
    result = deploytool()
    assert result.returncode == 0, result.stderr
    assert "Usage: deploytool [OPTIONS] COMMAND" in result.stdout
    assert "work-pool" in result.stdout and "--install-completion" in result.stdout


def test_shell_completion_script_and_completions() -> None:
    script = deploytool("--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert script.returncode == 0, script.stderr
    assert "_DEPLOYTOOL_COMPLETE=complete_bash" in script.stdout and "complete " in script.stdout
    # What the installed script asks for when the user presses Tab after `deploytool work-p`.
    words = deploytool(
        env={"_DEPLOYTOOL_COMPLETE": "complete_bash", "COMP_WORDS": "deploytool work-p", "COMP_CWORD": "1"}
    )
    assert words.returncode == 0 and words.stdout.split() == ["work-pool"], words.stderr
    sub = deploytool(
        env={"_DEPLOYTOOL_COMPLETE": "complete_bash", "COMP_WORDS": "deploytool flow-run ca", "COMP_CWORD": "2"}
    )
    assert sub.stdout.split() == ["cancel"], sub.stderr


# --- times ---------------------------------------------------------------------------------------------------

TIME_KEYS = re.compile(r"(time|_at|updated|created|heartbeat|next_run)$")


def _times(value: object, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _times(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in _times(v, key)]
    return [value] if isinstance(value, str) and TIME_KEYS.search(key) else []


def test_json_times_are_iso_8601_with_offset(store_with_runs: Path) -> None:
    import json

    with Store.open(store_with_runs) as store:
        store.workers.heartbeat("w1", "local", "host", 1, utcnow())
    seen = []
    for args in (
        ("flow-run", "ls"),
        ("deployment", "ls"),
        ("deployment", "inspect", "etl/daily"),
        ("work-pool", "inspect", "local"),
        ("worker", "ls"),
    ):
        result = deploytool(*args, "--output", "json")
        assert result.returncode == 0, result.stderr
        for text in _times(json.loads(result.stdout)["data"]):
            assert "T" in text, (args, text)
            assert datetime.fromisoformat(text).utcoffset() is not None, (args, text)
            seen.append(args[0])
    assert {"flow-run", "deployment", "work-pool", "worker"} <= set(seen)


def test_text_times_are_local_with_the_zone_named_once_per_table(store_with_runs: Path) -> None:
    with Store.open(store_with_runs) as store:
        store.workers.heartbeat("w1", "local", "host", 1, utcnow())
    env = {"TZ": "America/New_York"}
    runs = deploytool("flow-run", "ls", env=env).stdout
    # 2030-01-15 12:00 UTC is 07:00 in New York (EST, UTC-5), and the table says which zone it is in.
    assert "2030-01-15 07:00:00" in runs
    assert runs.count("America/New_York") == 1 and "times in America/New_York" in runs.splitlines()[1]
    for args in (("deployment", "ls"), ("worker", "ls")):
        out = deploytool(*args, env=env).stdout
        assert out.count("times in America/New_York") == 1, out
        assert "+00:00" not in out and "UTC" not in out, out
    deployments = deploytool("deployment", "ls", env=env).stdout
    updated = deployments.splitlines()[2].split()[-2:]
    local_now = datetime.now(tz=_zone("America/New_York"))
    stamp = datetime.strptime(" ".join(updated), "%Y-%m-%d %H:%M:%S").replace(tzinfo=local_now.tzinfo)
    assert abs(stamp - local_now) < timedelta(hours=1)  # local, not UTC (5 hours off)
    inspect = deploytool("flow-run", "inspect", runs.splitlines()[2].split()[0], env=env).stdout
    assert "scheduled: 2030-01-15 07:00:00 (America/New_York)" in inspect


def _zone(name: str):  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_the_workers_own_log_levels_are_coloured_on_a_terminal_only(isolated_home: Path) -> None:
    assert deploytool("work-pool", "create", "held", "--type", "process").returncode == 0
    assert deploytool("work-pool", "pause", "held").returncode == 0
    shown = on_terminal("worker", "start", "--pool", "held", "--run-once")
    assert f"{ESC}33mWARNING{ESC}0m work pool 'held' is paused" in shown
    piped = deploytool("worker", "start", "--pool", "held", "--run-once")
    assert " WARNING work pool 'held' is paused" in piped.stderr and ESC not in piped.stderr
    assert ESC not in on_terminal("worker", "start", "--pool", "held", "--run-once", env={"NO_COLOR": "1"})
