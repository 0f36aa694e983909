"""Running `python -m deploytool.engine` as a real subprocess and reading what it reports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploytool.engine.events import parse_line
from deploytool.engine.spec import FlowOptions, RunSpec

ENGINE = [sys.executable, "-m", "deploytool.engine"]


@dataclass
class EngineRun:
    exit_code: int
    events: list[dict[str, Any]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # the output lines that are not events

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events if e["event"] != "log"]

    def one(self, kind: str) -> dict[str, Any]:
        found = [e for e in self.events if e["event"] == kind]
        assert len(found) == 1, f"expected one {kind!r} event, got {found}"
        return found[0]

    def logs(self) -> list[tuple[str, str]]:
        return [(e["level"], e["message"]) for e in self.events if e["event"] == "log"]


def write_flow(directory: Path, source: str, name: str = "flows.py") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


def make_spec(entrypoint: str = "flows.py:main", **kwargs: Any) -> RunSpec:
    options = kwargs.pop("flow_options", None) or {}
    return RunSpec(
        run_id=kwargs.pop("run_id", "run-1"),
        flow_name=kwargs.pop("flow_name", "main"),
        deployment_name=kwargs.pop("deployment_name", "test"),
        entrypoint=entrypoint,
        flow_options=FlowOptions(**options),
        **kwargs,
    )


def engine_env(spec: RunSpec | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYTOOL_RUN_")}
    env.update(spec.to_env() if spec else {})
    return env


def parse_output(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    events: list[dict[str, Any]] = []
    log: list[str] = []
    for line in text.splitlines():
        plain, event = parse_line(line)
        if plain is not None:
            log.append(plain)
        if event is not None:
            events.append(event)
    return events, log


def run_engine(cwd: Path, spec: RunSpec | None, timeout: float = 20, env: dict[str, str] | None = None) -> EngineRun:
    done = subprocess.run(
        ENGINE,
        cwd=cwd,
        env={**engine_env(spec), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    events, log = parse_output(done.stdout)
    return EngineRun(done.returncode, events, log)
