"""docs/worker-service.md says what is true: the commands it shows parse as `deploytool worker start` arguments,
and the stop timeouts it gives cover the worker's shutdown and stop grace periods."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer

from deploytool.cli.app import build_app

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
