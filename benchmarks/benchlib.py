"""Helpers shared by the benchmark scripts: finding the console script, timing fresh processes, statistics.

Stdlib only, so that the benchmarks measure deploytool and nothing of their own.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Third-party (and slow stdlib) modules the CLI should import only where they are used (DESIGN.md, "Fast").
HEAVY_MODULES = (
    "typer",
    "click",
    "pydantic",
    "rich",
    "markdown_it",
    "pygments",
    "jsonschema",
    "jinja2",
    "yaml",
    "docker",
    "requests",
    "urllib3",
    "croniter",
    "dateutil",
    "sqlite3",
    "asyncio",
)


class BenchError(Exception):
    """A benchmark could not be run (missing script, a command that fails): never a silent figure."""


def find_console_script(name: str = "deploytool") -> Path:
    """The console script next to the running interpreter (a venv's bin/), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BenchError(f"no {name!r} console script next to {sys.executable} or on PATH (pip install -e .?)")


@dataclass
class Stats:
    """Wall times of one command, in seconds."""

    samples: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        # Nearest-rank percentile: a value that was actually observed.
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]

    def to_json(self) -> dict[str, float | int]:
        return {
            "runs": len(self.samples),
            "min_ms": round(self.min * 1000, 1),
            "median_ms": round(self.median * 1000, 1),
            "p90_ms": round(self.p90 * 1000, 1),
        }


@dataclass(frozen=True)
class Completed:
    seconds: float
    returncode: int
    stdout: str
    stderr: str


def run_timed(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], capture: bool = True, timeout: float = 120.0
) -> Completed:
    """Run argv as a fresh process; return its wall time (fork to exit, as a user sees it) and its output."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - start
    stdout = proc.stdout.decode("utf-8", "replace") if capture else ""
    stderr = proc.stderr.decode("utf-8", "replace") if capture else ""
    return Completed(seconds, proc.returncode, stdout, stderr)


def describe_failure(argv: Sequence[str], done: Completed) -> str:
    tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-5:]
    return f"`{' '.join(argv)}` exited {done.returncode}: " + " | ".join(tail)


def imported_modules(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> dict[str, float]:
    """Top-level packages a Python command imports, each with the import time of all its modules, in ms.

    Measured with `-X importtime` (inserted after argv[0], which must be a Python interpreter). A package's figure
    is the sum of the "self" times of its modules, so it counts the package's own code wherever in the import
    graph it was pulled in, and never another package's.
    """
    done = run_timed([argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, env=env)
    modules: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        top = parts[2].strip().split(".")[0]
        modules[top] = modules.get(top, 0.0) + int(parts[0].strip()) / 1000
    return modules


def third_party(modules: Mapping[str, float]) -> list[tuple[str, float]]:
    """The packages of `modules` outside the standard library and deploytool, the slowest first."""
    own = {"deploytool", "__main__"}
    rows = [
        (name, ms)
        for name, ms in modules.items()
        if ms >= 0.5 and name not in sys.stdlib_module_names and name not in own and not name.startswith("_")
    ]
    return sorted(rows, key=lambda row: -row[1])


def script_interpreter(script: Path) -> str | None:
    """The interpreter of a Python console script (its shebang), or None when it is not a Python script."""
    try:
        with script.open("rb") as fh:
            first = fh.readline().decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!") or "python" not in first:
        return None
    words = first[2:].split()
    if not words:
        return None
    if Path(words[0]).name == "env" and len(words) > 1:
        return shutil.which(words[1])
    return words[0]


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count() or "?"),
        "cpu_model": _cpu_model(),
        "memory": _memory(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
    }
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load is not None:
        info["loadavg"] = " ".join(f"{x:.2f}" for x in load)
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "?"


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *rows]
    for row in lines:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def signed_ms(seconds: float) -> str:
    value = round(seconds * 1000)
    return f"+{value}" if value >= 0 else str(value)
