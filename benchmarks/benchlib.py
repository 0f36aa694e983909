"""Helpers shared by the benchmark scripts: finding the console script, timing fresh processes, statistics.

Stdlib only, so that the benchmarks measure deploytool and nothing of their own.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib.metadata
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import zipfile
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
    seconds: float  # wall time, fork to exit, seen exactly (os.wait4 blocks until the exit)
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system CPU of the process and the children it waited for
    max_rss_kib: int = 0  # peak resident set of the process (or of its largest waited-for child)


def run_timed(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], capture: bool = True, timeout: float = 120.0
) -> Completed:
    """Run argv as a fresh process; its exact wall time (fork to exit, as a user sees it), CPU, peak RSS, output.

    The exit is awaited with a blocking `os.wait4`, which returns the moment the process ends, together with its
    resource usage. (`subprocess.run(timeout=...)` polls with growing sleeps of up to 50 ms, which rounded every
    figure up to a 50 ms grid.) Output goes to temporary files, so no reader thread competes for the CPU. A timer
    kills the process when `timeout` passes, and the run is then an error, never a figure.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err if capture else subprocess.DEVNULL,
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        if seconds >= timeout:
            raise BenchError(f"`{' '.join(argv)}` did not finish within {timeout:g} s")
        texts = []
        for fh in (out, err):
            fh.seek(0)
            texts.append(fh.read().decode("utf-8", "replace") if capture else "")
    return Completed(
        seconds,
        proc.returncode,
        texts[0],
        texts[1],
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
    )


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


# --- a non-editable install, as users have it -------------------------------------------------------------


@dataclass(frozen=True)
class Install:
    """A virtual environment holding deploytool installed from a wheel (not editable) and its dependencies."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def deploytool(self) -> Path:
        return self.root / "bin" / "deploytool"


def build_wheel(dest: Path) -> Path:
    """A wheel of this checkout (package files, package data, console script), made without any build backend.

    setuptools' bdist_wheel needs the `wheel` package, and pip's isolated build an index: neither is here.
    """
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"], project["version"]
    package = REPO_ROOT / name
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    contents = {str(p.relative_to(REPO_ROOT)): p.read_bytes() for p in files}
    dist = f"{name}-{version}.dist-info"
    requires = "".join(f"Requires-Dist: {r}\n" for r in project.get("dependencies", []))
    contents[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires}".encode()
    contents[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: benchlib\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    scripts = "".join(f"{k} = {v}\n" for k, v in project.get("scripts", {}).items())
    contents[f"{dist}/entry_points.txt"] = f"[console_scripts]\n{scripts}".encode()
    record = []
    for path, data in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    contents[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return wheel


def _requirement_names(requirements: list[str] | None) -> list[str]:
    names = []
    for requirement in requirements or []:
        if "extra ==" in requirement.split(";", 1)[-1] and ";" in requirement:
            continue  # an optional extra
        match = re.match(r"[A-Za-z0-9._-]+", requirement.strip())
        if match:
            names.append(match.group(0))
    return names


def _dependency_closure(name: str) -> list[importlib.metadata.Distribution]:
    """The installed distributions `name` needs, recursively (those not installed here do not apply here)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = _requirement_names(importlib.metadata.distribution(name).requires)
    while pending:
        wanted = pending.pop()
        key = re.sub(r"[-_.]+", "-", wanted).lower()
        if key in seen:
            continue
        try:
            found = importlib.metadata.distribution(wanted)
        except importlib.metadata.PackageNotFoundError:
            continue  # e.g. colorama on Windows only
        seen[key] = found
        pending.extend(_requirement_names(found.requires))
    return list(seen.values())


def make_install(dest: Path) -> Install:
    """A fresh venv in `dest` with deploytool from a wheel of this checkout, and its dependencies copied from the
    running environment (the same versions, offline), never an editable install's import hooks."""
    install = Install(dest / "venv")
    venv_run = [sys.executable, "-m", "venv", "--without-pip", str(install.root)]
    subprocess.run(venv_run, check=True, capture_output=True)
    site = Path(
        subprocess.run(
            [str(install.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    for dist in _dependency_closure("deploytool"):
        for file in dist.files or []:
            if file.parts and file.parts[0] == "..":
                continue  # console scripts of the dependencies: not needed
            source = Path(str(dist.locate_file(file)))
            if source.is_file():
                target = site / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    wheel = build_wheel(dest)
    pip = [sys.executable, "-m", "pip", "--python", str(install.python), "install", "--no-deps", "--no-index"]
    done = subprocess.run([*pip, "-q", str(wheel)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"installing {wheel.name} into {install.root} failed: {done.stderr.strip()[-800:]}")
    # Compile the dependencies too, as pip does on install: the first runs measure no bytecode compilation.
    subprocess.run([str(install.python), "-m", "compileall", "-q", str(site)], check=False, capture_output=True)
    return install
