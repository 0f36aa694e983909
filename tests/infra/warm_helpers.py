"""Shared by the warm-start tests: deployments with `warm_start`, and reading what a run's flow reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deploytool.models import Deployment
from deploytool.store import Store
from tests.worker.helpers import make_deployment, write_flow

FACTS_FLOW = """
import json, os, signal, sys
hidden = ("DEPLOYTOOL_RUN_ID", "DEPLOYTOOL_JOB_TOKEN", "DEPLOYTOOL_RUN_SPEC")
mask = os.umask(0)
os.umask(mask)
def links():
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            found[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass  # the listing's own descriptor
    return found
def handler(h):
    return h if isinstance(h, int) else getattr(h, "__qualname__", repr(h))
facts = {
    "env": {k: v for k, v in os.environ.items() if k not in hidden},
    "cwd": os.getcwd(),
    "path": sys.path,
    "argv": sys.argv,
    "umask": mask,
    "signals": {int(s): handler(signal.getsignal(s)) for s in signal.valid_signals() if s not in (9, 19)},
    "leader": os.getsid(0) == os.getpid() == os.getpgrp(),
    "ppid": os.getppid(),
    "main": sys.modules["__main__"].__spec__.name,
    "stdout": [sys.stdout.line_buffering, sys.stdout.encoding, sys.stderr.encoding],
    "fds": links(),
}
print("FACTS " + json.dumps(facts), flush=True)
"""


def deployment(store: Store, project: Path, body: str, *, name: str = "d", **job_variables: Any) -> Deployment:
    entry = write_flow(project, body, name=f"{name}.py")
    return make_deployment(store, project, entry, name=name, job_variables=job_variables)


def facts(store: Store, run_id: str) -> dict[str, Any]:
    """What FACTS_FLOW (or a flow printing `FACTS {json}`) reported."""
    for line in store.logs.read(run_id, limit=100_000):
        if line.message.startswith("FACTS "):
            found: dict[str, Any] = json.loads(line.message[6:])
            return found
    raise AssertionError(f"run {run_id} printed no FACTS line")


def zygote_of(pid: int) -> int:
    """The parent of a warm job's main process: its zygote."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
