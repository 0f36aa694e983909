"""What the reliability tests share: real `deploytool worker start` processes, each with a store URL and a home."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from tests.worker_support import kill, start_worker

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
        env = {**(env or {}), "DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(home)}
        self.procs[name] = start_worker(name, *args, env=env, log=self.folder / f"{name}.log", pool=pool)
        return self.procs[name]

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str) -> int:
        proc = self.procs[name]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(WAIT)

    def kill_all(self) -> None:
        for proc in self.procs.values():
            kill(proc)


def gone(pid: int) -> bool:
    """True once the process has ended (a zombie not yet reaped counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    return True
