"""docs/worker-service.md says what is true: the commands it shows parse as `deploytool worker start` arguments,
the stop timeouts it gives cover the worker's shutdown and stop grace periods, and its unit is the one that
`deploytool worker service` prints, which `systemd-analyze verify` accepts."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from deploytool.cli.app import build_app
from tests.services import missing

DOC = Path(__file__).resolve().parent.parent / "docs" / "worker-service.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def worker_start(argv: list[str]) -> dict[str, object]:
    """Parse `deploytool worker start ...` as the CLI would, without running it: its parameters."""
    assert argv[:3] == ["deploytool", "worker", "start"], argv
    group: Any = typer.main.get_command(build_app("worker"))  # typer's own click: a Group by shape
    command = group.commands["worker"].commands["start"]
    context = command.make_context("start", argv[3:])
    return dict(context.params)


def test_the_systemd_unit_drains_the_worker_before_killing_it() -> None:
    (unit,) = [b for b in blocks("ini") if "[Service]" in b]
    settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    exec_start = shlex.split(settings["ExecStart"].replace("%i", "etl").replace("%H", "host"))
    exec_start[0] = Path(exec_start[0]).name
    params = worker_start(exec_start)
    grace = float(str(params["shutdown_grace"])) + float(str(params["stop_grace"]))
    assert float(settings["TimeoutStopSec"]) > grace
    assert settings["KillMode"] == "mixed" and settings["KillSignal"] == "SIGTERM"
    assert settings["Restart"] == "on-failure" and settings["EnvironmentFile"].startswith("/etc/deploytool/")
    assert params["name"], "a fixed --name, so a restarted worker re-attaches to its containers"


def test_the_container_waits_for_the_grace_periods_and_restarts() -> None:
    (run,) = [b for b in blocks("sh") if "docker run" in b]
    argv = shlex.split(run.replace("\\\n", " "))
    start = argv.index("deploytool")
    params = worker_start(argv[start:])
    docker_options = argv[:start]
    timeout = float(docker_options[docker_options.index("--stop-timeout") + 1])
    assert timeout > float(str(params["shutdown_grace"])) + float(str(params["stop_grace"]))
    assert docker_options[docker_options.index("--restart") + 1] == "unless-stopped"
    assert params["metrics_port"] == 9464 and params["log_format"] == "json"


# --- `deploytool worker service`: the unit the doc shows is the one the command prints -----------------------


def unit_settings(unit: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))


def print_unit(*args: str) -> subprocess.CompletedProcess[str]:
    """`deploytool worker service ...` as a user runs it: the installed command, in a process of its own."""
    command = [str(Path(sys.executable).parent / "deploytool"), "worker", "service", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


def test_the_doc_shows_the_unit_that_worker_service_prints() -> None:
    (command,) = [b for b in blocks("sh") if "deploytool worker service" in b]
    argv = shlex.split(command.splitlines()[0].split(">")[0])
    (unit,) = [b for b in blocks("ini") if "[Service]" in b]
    executable = unit_settings(unit)["ExecStart"].split()[0]
    printed = print_unit(*argv[3:], "--executable", executable)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == unit


def test_the_printed_unit_drains_restarts_and_reads_the_env_file(tmp_path: Path) -> None:
    printed = print_unit("--pool", "etl", "--shutdown-grace", "120", "--stop-grace", "15", "--user", "svc")
    assert printed.returncode == 0, printed.stderr
    settings = unit_settings(printed.stdout)
    exec_start = shlex.split(settings["ExecStart"])
    assert Path(exec_start[0]).is_absolute() and Path(exec_start[0]).name == "deploytool"
    assert Path(exec_start[0]).exists(), "the unit names the deploytool that printed it"
    params = worker_start(["deploytool", *exec_start[1:]])
    assert params["pool"] == "etl" and params["name"] == "%H-etl"  # systemd puts the host name in
    assert (params["shutdown_grace"], params["stop_grace"]) == (120.0, 15.0)
    assert float(settings["TimeoutStopSec"]) > 135
    assert (settings["KillMode"], settings["KillSignal"], settings["Restart"]) == ("mixed", "SIGTERM", "on-failure")
    assert settings["User"] == "svc" and settings["EnvironmentFile"] == "/etc/deploytool/worker.env"
    assert "DEPLOYTOOL_STORE_URL=" in printed.stdout and "DEPLOYTOOL_SECRET_KEY=" in printed.stdout
    env_doc = "\n".join(b for b in blocks("sh") if "DEPLOYTOOL_STORE_URL=" in b)
    assert "DEPLOYTOOL_SECRET_KEY=" in env_doc, "the doc's environment file has both credentials"


def test_systemd_analyze_verify_accepts_the_printed_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing("systemd-analyze not found (Debian package systemd)", "DEPLOYTOOL_REQUIRE_SYSTEMD")
    for args in (["--pool", "etl"], ["--pool", "a b%c", "--name", "w 1", "-q", "high", "--limit", "3"]):
        printed = print_unit(*args)
        assert printed.returncode == 0, printed.stderr
        unit = tmp_path / f"deploytool-worker-{len(args)}.service"
        unit.write_text(printed.stdout)
        checked = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120)
        assert (checked.returncode, checked.stderr.strip()) == (0, ""), printed.stdout


def test_a_bad_name_or_a_relative_executable_is_refused_with_what_to_do() -> None:
    printed = print_unit("--pool", "etl", "--name", "a/b", "--executable", "bin/deploytool")
    assert printed.returncode != 0 and printed.stdout == ""
    assert "worker name 'a/b' must be non-empty and contain no '/'" in printed.stderr
    assert "must be an absolute path, not 'bin/deploytool'" in printed.stderr
    assert "Traceback" not in printed.stderr
