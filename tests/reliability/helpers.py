"""What the reliability tests share: real `deploytool worker start` processes, each with a store URL and a home."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

MAIN = Path(__file__).parents[1] / "worker" / "worker_main.py"
WAIT = 240.0  # a safety net for a hung test on a loaded machine, never a speed check


class Workers:
    """Real `deploytool worker start` processes, each with its own store URL and home (its own "host")."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, url: str, *args: str, pool: str = "p", env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        home = self.folder / f"home-{name}"
        home.mkdir(exist_ok=True)
        env = {**os.environ, **(env or {}), "DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(home)}
        command = [sys.executable, str(MAIN), "worker", "start", "--pool", pool, "--name", name, *args]
        with open(self.folder / f"{name}.log", "wb") as out:
            self.procs[name] = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self.procs[name]

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str) -> int:
        proc = self.procs[name]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(WAIT)

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def gone(pid: int) -> bool:
    """True once the process has ended (a zombie not yet reaped counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    return True
