"""scripts/demo.sh, the README's first command, run as a user runs it: it works in a store of its own and leaves
nothing behind (no store in ~/.deploytool or $DEPLOYTOOL_HOME, no temporary home, no worker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "scripts" / "demo.sh"


def _demo(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    if not (REPO / ".venv" / "bin" / "deploytool").exists():
        pytest.skip(f"scripts/demo.sh uses {REPO / '.venv'}, which is not set up (./scripts/test.sh makes it)")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    environ = {**os.environ, "TMPDIR": str(tmp), "NO_COLOR": "1", **env}
    return subprocess.run(["bash", str(DEMO)], env=environ, capture_output=True, text=True, timeout=600, check=False)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and proc.name != str(os.getpid()):
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                environ = (proc / "environ").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if text in environ and "worker" in cmdline:
                found.append(cmdline)
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to check that no worker is left")
def test_demo_runs_in_its_own_home_and_leaves_nothing_behind(tmp_path: Path, isolated_home: Path) -> None:
    result = _demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Flow run hello-local-" in result.stderr and "COMPLETED" in result.stderr
    assert "Hello, demo!" in result.stdout
    # It said where it wrote, and removed it.
    (line,) = [x for x in result.stderr.splitlines() if "DEPLOYTOOL_HOME=" in x and "not touched" in x]
    home = Path(line.split("DEPLOYTOOL_HOME=", 1)[1].split(" ", 1)[0])
    assert home.parent == tmp_path / "tmp"
    assert not home.exists()
    assert list((tmp_path / "tmp").iterdir()) == []
    # The user's store (here the test's DEPLOYTOOL_HOME and HOME) was never created.
    assert not isolated_home.exists()
    assert not (Path(os.environ["HOME"]) / ".deploytool").exists()
    assert _processes_mentioning(str(home)) == []
    # The worker it started a moment before the run was polling by the time it mattered: no false alarm.
    assert "no worker is polling" not in result.stderr


def test_demo_home_can_be_kept_to_explore(tmp_path: Path) -> None:
    keep = tmp_path / "demo-home"
    result = _demo(tmp_path, DEPLOYTOOL_DEMO_HOME=str(keep))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (keep / "deploytool.db").exists()
    assert f"kept {keep}" in result.stderr
    shown = subprocess.run(
        [str(REPO / ".venv" / "bin" / "deploytool"), "flow-run", "ls"],
        env={**os.environ, "DEPLOYTOOL_HOME": str(keep)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert "COMPLETED" in shown.stdout, shown.stdout + shown.stderr
