"""Flow.deploy and Flow.serve as a user runs them: a script, a real store, a real worker, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FLOW = """\
import sys
import time

from deploytool import flow


@flow(log_prints=True)
def say_hi(who: str = "world", pause: float = 0):
    \"\"\"Greet someone.\"\"\"
    time.sleep(pause)
    print(f"hi {who}")


if __name__ == "__main__":
    ACTION
"""

PARTS = Path(sys.executable).parent


def script(tmp_path: Path, action: str) -> Path:
    path = tmp_path / "hello.py"
    path.write_text(FLOW.replace("ACTION", action), encoding="utf-8")
    return path


def python(path: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path)], cwd=cwd or path.parent, capture_output=True, text=True, timeout=60, check=False
    )


def cli(*args: str, cwd: Path | None = None) -> Any:
    done = subprocess.run(
        [str(PARTS / "deploytool"), *args, "--output", "json"], capture_output=True, text=True, timeout=60, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    return data.get("data", data) if isinstance(data, dict) else data


def test_deploy_creates_then_updates_then_leaves_unchanged(tmp_path: Path) -> None:
    subprocess.run([str(PARTS / "deploytool"), "work-pool", "create", "--type", "process", "local"], check=True)
    first = script(tmp_path, 'say_hi.deploy(name="d", work_pool_name="local", cron="0 9 * * *", tags=["t"])')
    done = python(first)
    assert done.returncode == 0, done.stderr
    assert "+ create    say-hi/d" in done.stdout
    again = python(first)
    assert "= unchanged say-hi/d" in again.stdout
    script(tmp_path, 'say_hi.deploy(name="d", work_pool_name="local", parameters={"who": "you"})')
    changed = python(tmp_path / "hello.py")
    assert "~ update    say-hi/d (parameters" in changed.stdout, changed.stdout + changed.stderr
    rows = [d for d in cli("deployment", "ls") if d["full_name"] == "say-hi/d"]
    assert len(rows) == 1
    detail = cli("deployment", "inspect", "say_hi/d")
    assert detail["entrypoint"] == "hello.py:say_hi"
    assert detail["parameters"] == {"who": "you"}
    assert detail["schedules"] == []  # the script declares the whole deployment: no schedule argument, none
    assert detail["description"] == "Greet someone."


def test_errors_are_the_clis_without_a_traceback(tmp_path: Path) -> None:
    missing = python(script(tmp_path, 'say_hi.deploy(name="d", work_pool_name="nowhere")'))
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr
    assert "hello.py: work_pool_name: work pool 'nowhere' does not exist" in missing.stderr
    subprocess.run([str(PARTS / "deploytool"), "work-pool", "create", "--type", "process", "local"], check=True)
    bad = python(script(tmp_path, 'say_hi.deploy(name="d", work_pool_name="local", parameters={"pause": "x"})'))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "parameters.pause" in bad.stderr


def test_an_image_for_a_process_pool_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    subprocess.run([str(PARTS / "deploytool"), "work-pool", "create", "--type", "process", "local"], check=True)
    image = 'say_hi.deploy(name="d", work_pool_name="local", image="deploytool-test/never-built:1")'
    done = python(script(tmp_path, image))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "Error: work pool 'local' is a process pool: its runs are not containers, so it takes no image" in (
        done.stderr
    )
    assert "building" not in done.stdout + done.stderr
    assert cli("deployment", "ls") == []


def test_deploy_from_the_project_root_uses_a_path_entrypoint(tmp_path: Path) -> None:
    subprocess.run([str(PARTS / "deploytool"), "work-pool", "create", "--type", "process", "local"], check=True)
    (tmp_path / "flows").mkdir()
    path = script(tmp_path / "flows", 'say_hi.deploy(name="nested", work_pool_name="local")')
    done = python(path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert cli("deployment", "inspect", "say-hi/nested")["entrypoint"] == "flows/hello.py:say_hi"


def test_serve_runs_queued_runs_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    path = script(tmp_path, 'say_hi.serve(name="served", parameters={"who": "served", "pause": 3})')
    serve = subprocess.Popen(
        [sys.executable, str(path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert serve.stdout is not None
        seen = ""
        while "Serving say-hi/served" not in seen:
            line = serve.stdout.readline()
            assert line, f"serve exited:\n{seen}"
            seen += line
        pools = {p["name"]: p for p in cli("work-pool", "ls")}
        assert pools["serve:say-hi:served"]["type"] == "process"
        assert pools["serve:say-hi:served"]["status"] == "READY"
        done = subprocess.run(
            [str(PARTS / "deploytool"), "run", "say_hi/served", "--param", "pause=0", "--watch"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "hi served" in done.stdout
        # A run still going when Ctrl-C comes: it may finish, and nothing is left claimed or running.
        subprocess.run([str(PARTS / "deploytool"), "run", "say-hi/served"], check=True, capture_output=True)
        deadline = time.monotonic() + 120  # a safety net, not a speed bound: the loop ends on the event

        def second_run_started() -> bool:
            states = [r["state"] for r in cli("flow-run", "ls")]
            return "RUNNING" in states or states.count("COMPLETED") >= 2

        while not second_run_started():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        serve.send_signal(signal.SIGINT)
        rest, _ = serve.communicate(timeout=30)
        assert serve.returncode == 0, seen + rest
        assert "Stopped serving say-hi/served" in rest
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    states = sorted(r["state"] for r in cli("flow-run", "ls"))
    assert states == ["COMPLETED", "COMPLETED"]
    assert cli("worker", "ls") == []


def test_serve_with_a_bad_limit_fails_before_registering_anything(tmp_path: Path) -> None:
    for limit, shown in (('"x"', "'x'"), ("0", "0")):
        done = python(script(tmp_path, f'say_hi.serve(name="s", limit={limit})'))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"Error: limit must be a whole number of runs at once, at least 1, not {shown}" in done.stderr
        assert "Serving" not in done.stdout
    assert cli("work-pool", "ls") == [] and cli("deployment", "ls") == []
