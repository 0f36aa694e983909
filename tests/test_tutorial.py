"""docs/tutorial.md, run as written: every file it shows is written, every command it shows is run, in order,
against the real Docker daemon, and every claim its markers make is checked.

The markdown marks its blocks with HTML comments (invisible when rendered):

- `<!-- tutorial: file NAME -->` before a fenced block: the whole content of NAME in the working directory.
- `<!-- tutorial: run [fails] [expect "REGEX"]... -->` before a ```bash block: each line is run to completion;
  it must exit 0 (non-zero with `fails`) and its output must match each REGEX.
- `<!-- tutorial: background NAME until "REGEX" -->` before a ```bash block: started and left running (a
  second terminal); the test waits until its output matches.
- `<!-- tutorial: ctrl-c NAME [expect "REGEX"]... -->`: Ctrl-C (SIGINT) to that process, which must exit 0.

A ```bash block without a marker fails the test, so no command can be added that is not run.

The only substitutions: the GitHub API URL becomes a fake API served by this test on the Docker bridge's
gateway address (reachable from the host and from containers), and `RUN_ID` becomes the id of the run last
created by `deploytool run`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
EXAMPLE = ROOT / "examples" / "tutorial"
REAL_API = "https://api.github.com"
IMAGE = "my-first-deployment-image:tutorial"
POOL = "my-docker-pool"
STARS, FORKS = 17234, 1712
COMMAND_TIMEOUT = 600.0
BACKGROUND_TIMEOUT = 60.0

_MARKER = re.compile(r"^<!-- tutorial: (?P<kind>file|run|background|ctrl-c)\b(?P<rest>.*?)-->\s*$")
_FENCE = re.compile(r"^```(?P<lang>\w*)\s*$")
_RUN_CREATED = re.compile(r"Created flow run \S+ \(([0-9a-f]{32})\)")


@dataclass
class Step:
    kind: str  # file | run | background | ctrl-c
    line: int
    name: str = ""
    text: str = ""
    fails: bool = False
    expect: list[str] = field(default_factory=list)
    until: str = ""


def parse_tutorial(text: str) -> list[Step]:
    """The tutorial's steps, in order. ValueError for a bash block without a marker, or a marker without a block."""
    steps: list[Step] = []
    pending: Step | None = None
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = _MARKER.match(line)
        fence = _FENCE.match(line)
        if marker:
            if pending is not None:
                raise ValueError(f"line {pending.line}: tutorial marker without its code block")
            pending = _step(marker.group("kind"), marker.group("rest"), index + 1)
            if pending.kind == "ctrl-c":
                steps.append(pending)
                pending = None
        elif fence:
            end = next((j for j in range(index + 1, len(lines)) if lines[j].startswith("```")), None)
            if end is None:
                raise ValueError(f"line {index + 1}: unclosed code block")
            body = "\n".join(lines[index + 1 : end]) + "\n"
            if pending is not None:
                pending.text = body
                steps.append(pending)
                pending = None
            elif fence.group("lang") in ("bash", "sh", "shell", "console"):
                raise ValueError(f"line {index + 1}: a command block without a `<!-- tutorial: ... -->` marker")
            index = end
        elif pending is not None and line.strip():
            raise ValueError(f"line {pending.line}: tutorial marker not followed by its code block")
        index += 1
    if pending is not None:
        raise ValueError(f"line {pending.line}: tutorial marker at the end of the file")
    return steps


def _step(kind: str, rest: str, line: int) -> Step:
    quoted = re.findall(r'(\w+) "((?:[^"\\]|\\.)*)"', rest)
    words = re.sub(r'\w+ "(?:[^"\\]|\\.)*"', "", rest).split()
    step = Step(kind, line, fails="fails" in words)
    names = [w for w in words if w != "fails"]
    if kind in ("file", "background", "ctrl-c"):
        assert names, f"line {line}: {kind} needs a name"
        step.name = names[0]
    for key, value in quoted:
        if key == "expect":
            step.expect.append(value)
        elif key == "until":
            step.until = value
    return step


class FakeGitHub(BaseHTTPRequestHandler):
    """`GET /repos/OWNER/NAME` -> the two statistics the flow prints."""

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "repos":
            self.send_error(404)
            return
        body = json.dumps({"full_name": f"{parts[1]}/{parts[2]}", "stargazers_count": STARS, "forks_count": FORKS})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_api(docker_client: Any) -> Iterator[str]:
    """The fake API on the Docker bridge's gateway: the host reaches it (serve) and so do containers."""
    config = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    gateway = config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    server = ThreadingHTTPServer((gateway, 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{gateway}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def make_user_venv(where: Path) -> Path:
    """A fresh environment whose `pip install` cannot touch the project's .venv, with deploytool importable."""
    venv.create(where, with_pip=True)
    site = next(where.glob("lib/python*/site-packages"))
    ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "deploytool-dev.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in ours) + "\n", encoding="utf-8"
    )
    return where / "bin"


class Session:
    """The user's terminals: commands run one after the other, background ones kept running."""

    def __init__(self, cwd: Path, env: dict[str, str], api: str) -> None:
        self.cwd, self.env, self.api = cwd, env, api
        self.background: dict[str, tuple[subprocess.Popen[str], list[str]]] = {}
        self.run_id = ""

    def where(self, step: Step) -> str:
        return f"docs/tutorial.md:{step.line}"

    def write(self, step: Step) -> None:
        (self.cwd / step.name).write_text(step.text.replace(REAL_API, self.api), encoding="utf-8")

    def run(self, step: Step) -> None:
        for command in (c for c in step.text.splitlines() if c.strip() and not c.lstrip().startswith("#")):
            command = command.replace("RUN_ID", self.run_id)
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
            )
            output = done.stdout + done.stderr
            failed = done.returncode != 0
            assert failed == step.fails, (
                f"{self.where(step)}: `{command}` exited {done.returncode}\n{output[-4000:]}\n{self._background_tail()}"
            )
            for pattern in step.expect:
                assert re.search(pattern, output), f"{self.where(step)}: `{command}`: no {pattern!r} in\n{output}"
            if created := _RUN_CREATED.findall(output):
                self.run_id = created[-1]

    def start(self, step: Step) -> None:
        command = step.text.strip()
        assert "\n" not in command, f"{self.where(step)}: one command per background block"
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True).start()
        self.background[step.name] = (proc, lines)
        deadline = time.monotonic() + BACKGROUND_TIMEOUT
        while not re.search(step.until, "".join(lines)):
            assert proc.poll() is None, f"{self.where(step)}: `{command}` exited {proc.returncode}:\n{''.join(lines)}"
            assert time.monotonic() < deadline, f"{self.where(step)}: no {step.until!r} from `{command}`"
            time.sleep(0.1)

    def interrupt(self, step: Step) -> None:
        proc, lines = self.background.pop(step.name)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=BACKGROUND_TIMEOUT)
        time.sleep(0.2)  # the reader thread drains the last lines
        output = "".join(lines)
        assert code == 0, f"{self.where(step)}: {step.name} exited {code} after Ctrl-C:\n{output}"
        for pattern in step.expect:
            assert re.search(pattern, output), f"{self.where(step)}: no {pattern!r} from {step.name}:\n{output}"

    def _background_tail(self) -> str:
        return "\n".join(f"--- {n}:\n{''.join(lines)[-3000:]}" for n, (_, lines) in self.background.items())

    def close(self) -> None:
        for proc, _ in self.background.values():
            proc.kill()
            proc.wait()

    def cli(self, *args: str) -> Any:
        done = subprocess.run(
            ["deploytool", *args, "--output", "json"], cwd=self.cwd, env=self.env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        return data.get("data", data) if isinstance(data, dict) else data


def test_the_tutorial_parses_and_marks_every_command() -> None:
    steps = parse_tutorial(TUTORIAL.read_text(encoding="utf-8"))
    kinds = [s.kind for s in steps]
    assert kinds.count("background") == kinds.count("ctrl-c") == 2
    with pytest.raises(ValueError, match="without a `<!-- tutorial"):
        parse_tutorial("text\n```bash\ndeploytool deploy\n```\n")


def test_the_example_files_are_the_tutorials_final_versions() -> None:
    files: dict[str, str] = {}
    for step in parse_tutorial(TUTORIAL.read_text(encoding="utf-8")):
        if step.kind == "file":
            files[step.name] = step.text
    assert set(files) == {p.name for p in EXAMPLE.iterdir() if p.is_file()}
    for name, text in files.items():
        assert (EXAMPLE / name).read_text(encoding="utf-8") == text, f"examples/tutorial/{name} differs from the doc"


def _pool(session: Session) -> dict[str, Any]:
    pools = session.cli("work-pool", "ls")
    return next(p for p in pools if p["name"] == POOL)


def test_the_tutorial_runs_as_written(
    tmp_path: Path, fake_api: str, base_image: str, docker_client: Any, docker_janitor: Any
) -> None:
    steps = parse_tutorial(TUTORIAL.read_text(encoding="utf-8"))
    workdir = tmp_path / "tutorial"
    workdir.mkdir()
    bin_dir = make_user_venv(tmp_path / "user-venv")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "DEPLOYTOOL_BASE_IMAGE": base_image,
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }
    env.pop("VIRTUAL_ENV", None)
    docker_janitor.image(IMAGE)
    session = Session(workdir, env, fake_api)
    try:
        for step in steps:
            {"file": session.write, "run": session.run, "background": session.start, "ctrl-c": session.interrupt}[
                step.kind
            ](step)
        # The claims, checked once more through the JSON output.
        deployments = [d for d in session.cli("deployment", "ls") if d["full_name"].endswith("/my-first-deployment")]
        assert [(d["full_name"], d["pool"]) for d in deployments] == [("get-repo-info/my-first-deployment", POOL)]
        runs = session.cli("flow-run", "ls", "--deployment", "get_repo_info/my-first-deployment")
        assert sorted(r["state"] for r in runs) == ["COMPLETED"] * 3 + ["CRASHED"]
        assert not [r for r in runs if r["state"] in ("PENDING", "RUNNING")]
        assert _pool(session)["status"] == "NOT_READY"

        # A worker that dies without deregistering leaves its pool NOT_READY as soon as `worker ls` shows it stale:
        # at once on its own host, where its process is seen to be gone (docs/work-pools.md, "Status").
        command = f"deploytool worker start --pool {POOL} --name killed"
        session.start(Step("background", 0, "worker", command, until="serves pool"))
        assert _pool(session)["status"] == "READY"
        proc, _ = session.background.pop("worker")
        proc.kill()
        proc.wait()
        pool = _pool(session)
        assert (pool["status"], pool["problem"]) == (
            "NOT_READY",
            f"worker killed on {socket.gethostname()} is stale: its process (pid {proc.pid}) is gone",
        )
        assert [w["status"] for w in session.cli("worker", "ls", "--pool", POOL)] == ["stale"]
    finally:
        session.close()
        for container in docker_client.containers.list(all=True, filters={"label": f"org.deploytool.pool={POOL}"}):
            docker_janitor.container(container.id)
