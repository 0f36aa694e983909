"""Run a piece of Python in a child process with a memory and CPU-time limit, so that a regression in a limit
(a template or a file that builds gigabytes, or loops) fails its test instead of taking the test machine down."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Sequence

MEMORY_LIMIT = 1_500_000_000  # bytes of address space: an interpreter with jinja2 and yaml loaded fits easily
CPU_SECONDS = 120  # CPU time, not wall-clock time: a loaded machine does not make a passing test fail


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def run_limited(code: str, args: Sequence[str] = (), stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """`python -c code args...` under the limits; a MemoryError or a kill shows as a non-zero return code."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        preexec_fn=_limit,
        check=False,
    )


def run_cli_limited(args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The deploytool CLI under the limits."""
    return subprocess.run(
        [sys.executable, "-m", "deploytool", *args],
        capture_output=True,
        text=True,
        preexec_fn=_limit,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
