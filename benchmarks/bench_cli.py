"""Start-up time of the deploytool CLI, as a user sees it: the wall time of a fresh process.

    .venv/bin/python benchmarks/bench_cli.py [--runs N] [--warmups N] [--json] [--editable]

deploytool is measured as users install it: a wheel of this checkout installed (not editable) into a fresh
virtual environment, with the running environment's dependencies (benchlib.make_install). `--editable` measures
the console script next to the running interpreter instead (an editable install's import hooks add ~30 ms).

Each command runs `--warmups` times unmeasured (bytecode caches, page cache), then `--runs` times, round-robin
across the commands so that noise from other work on the machine is spread evenly. Each run's exit is awaited
with os.wait4, which gives its exact wall time, its CPU time and its peak resident memory. The table shows min,
median and p90 (nearest rank) in ms, the median CPU, the peak RSS, and PASS/FAIL of the median against its target:
every command within 3x `python -c pass` in the same environment (issue 17, item 4). Each command is also run
once under `python -X importtime` to record which heavy modules it imports: `deploytool --version` and
`deploytool --help` must import none of typer, click and rich.

Exit status: 0 when every target is met, 1 when one is missed, 2 when a command cannot be run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (
    HEAVY_MODULES,
    REPO_ROOT,
    BenchError,
    Stats,
    describe_failure,
    find_console_script,
    imported_modules,
    machine,
    make_install,
    ms,
    print_table,
    run_timed,
    script_interpreter,
    signed_ms,
    third_party,
)

# Modules `deploytool --version` and `--help` must not import: they answer before the CLI framework loads.
VERSION_FORBIDDEN = ("typer", "click", "rich")
LEAN_COMMANDS = ("deploytool --version", "deploytool --help")
FACTOR = 3.0  # every command's median within 3x the bare interpreter's


@dataclass
class Case:
    label: str
    argv: list[str]
    target_ms: float | None  # None: reported only (or the baseline); set from the baseline after measuring
    python_argv: list[str] | None  # the same command as `python ... args`, for -X importtime; None: not Python
    stats: Stats
    imports: dict[str, float] | None = None
    cpu: list[float] = field(default_factory=list)
    rss_kib: int = 0
    checked: bool = True  # held to the 3x target


# Every top-level group's help, and a cheap real command of each kind (reads of the store, validate).
COMMANDS: list[list[str]] = [
    ["--version"],
    ["--help"],
    ["validate", "--file", "examples/prefect.yaml"],
    ["validate", "--file", "examples/deploy.yaml"],
    ["work-pool", "ls"],
    ["work-queue", "ls"],
    ["deployment", "ls"],
    ["flow-run", "ls"],
    ["variable", "ls"],
    ["worker", "ls"],
    ["work-pool", "--help"],
    ["flow-run", "--help"],
    ["deployment", "--help"],
    ["worker", "start", "--help"],
    ["run", "--help"],
    ["deploy", "--help"],
]


def build_cases(script: Path, py: str) -> list[Case]:
    interpreter = script_interpreter(script)

    def cli(args: list[str]) -> Case:
        python_argv = [interpreter, str(script), *args] if interpreter else None
        return Case("deploytool " + " ".join(args), [str(script), *args], None, python_argv, Stats())

    return [
        Case("python -c pass (baseline)", [py, "-c", "pass"], None, [py, "-c", "pass"], Stats(), checked=False),
        Case('python -c "import deploytool"', [py, "-c", "import deploytool"], None, None, Stats(), checked=False),
        *(cli(args) for args in COMMANDS),
    ]


def measure(cases: list[Case], runs: int, warmups: int, env: dict[str, str]) -> None:
    for case in cases:
        for _ in range(warmups):
            done = run_timed(case.argv, cwd=REPO_ROOT, env=env)
            if done.returncode != 0:
                raise BenchError(describe_failure(case.argv, done))
    for _ in range(runs):
        for case in cases:
            done = run_timed(case.argv, cwd=REPO_ROOT, env=env, capture=False)
            if done.returncode != 0:
                raise BenchError(f"`{' '.join(case.argv)}` exited {done.returncode} during the measured runs")
            case.stats.samples.append(done.seconds)
            case.cpu.append(done.cpu_seconds)
            case.rss_kib = max(case.rss_kib, done.max_rss_kib)
    baseline = cases[0].stats.median
    for case in cases:
        if case.checked:
            case.target_ms = FACTOR * baseline * 1000
        argv = case.python_argv
        if case.label.startswith('python -c "import'):
            argv = case.argv
        if argv is not None:
            case.imports = imported_modules(argv, cwd=REPO_ROOT, env=env)


def heavy(imports: dict[str, float] | None) -> list[str]:
    if imports is None:
        return []
    return [m for m in HEAVY_MODULES if m in imports]


def version_check(cases: list[Case]) -> tuple[bool | None, list[str]]:
    """Whether `deploytool --version` and `--help` stay clear of the CLI framework (None: could not be checked)."""
    found: list[str] = []
    checked = False
    for case in cases:
        if case.label in LEAN_COMMANDS:
            if case.imports is None:
                return None, []
            checked = True
            found += [f"{case.label}: {m}" for m in VERSION_FORBIDDEN if m in case.imports]
    return (not found, found) if checked else (None, [])


def verdict(case: Case) -> str:
    if case.target_ms is None:
        return "-"
    return "PASS" if case.stats.median * 1000 <= case.target_ms else "FAIL"


def report_text(cases: list[Case], info: dict[str, str], runs: int, warmups: int) -> None:
    baseline = cases[0].stats.median
    print(f"deploytool CLI start-up: {runs} runs after {warmups} warm-ups, wall time of a fresh process, in ms;")
    print(f"target: every deploytool command's median within {FACTOR:g}x the baseline's")
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print()
    rows = []
    for case in cases:
        s = case.stats
        over = "-" if case is cases[0] else signed_ms(s.median - baseline)
        target = f"<= {case.target_ms:.0f}" if case.target_ms is not None else "-"
        cpu = ms(statistics.median(case.cpu)) if case.cpu else "-"
        rss = f"{case.rss_kib / 1024:.0f}"
        rows.append([case.label, ms(s.min), ms(s.median), ms(s.p90), cpu, rss, over, target, verdict(case)])
    header = ["command", "min", "median", "p90", "CPU", "RSS MiB", "vs baseline", "target", "result"]
    print_table(header, rows)
    print()
    print("Imports (python -X importtime, one run; ms = import time of all the package's modules)")
    rows = []
    for case in cases:
        if case.imports is None:
            rows.append([case.label, "-", "-", "(not a Python command: not checked)"])
            continue
        others = third_party(case.imports)
        names = ", ".join(f"{m} {t:.0f}" for m, t in others[:7]) + (", ..." if len(others) > 7 else "")
        total = f"{sum(case.imports.values()):.0f}"
        own = f"{case.imports.get('deploytool', 0.0):.0f}"
        rows.append([case.label, str(len(case.imports)), total, own, names or "none"])
    print_table(["command", "packages", "all ms", "deploytool ms", "third-party packages, slowest first (ms)"], rows)
    ok, found = version_check(cases)
    print()
    if ok is None:
        print("CHECK  deploytool --version/--help imports: not checked (the console script is not a Python script)")
    else:
        what = "import none of " + "/".join(VERSION_FORBIDDEN) if ok else "imports " + ", ".join(found)
        print(f"{'PASS' if ok else 'FAIL'}   deploytool --version and --help {what}")


def report_json(cases: list[Case], info: dict[str, str], runs: int, warmups: int) -> None:
    ok, found = version_check(cases)
    data = {
        "benchmark": "cli",
        "runs": runs,
        "warmups": warmups,
        "machine": info,
        "results": [
            {
                "command": case.label,
                "argv": case.argv,
                **case.stats.to_json(),
                "cpu_median_ms": round(statistics.median(case.cpu) * 1000, 1) if case.cpu else None,
                "max_rss_kib": case.rss_kib,
                "target_ms": case.target_ms,
                "result": verdict(case),
                "heavy_imports": heavy(case.imports) if case.imports is not None else None,
                "import_ms_by_package": (
                    {k: round(v, 1) for k, v in sorted(case.imports.items())} if case.imports is not None else None
                ),
            }
            for case in cases
        ],
        "version_imports_cli_framework": None if ok is None else found,
        "passed": passed(cases),
    }
    print(json.dumps(data, indent=2))


def passed(cases: list[Case]) -> bool:
    ok, _ = version_check(cases)
    return all(verdict(c) != "FAIL" for c in cases) and ok is not False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="measured runs per command (default 20)")
    parser.add_argument("--warmups", type=int, default=2, help="unmeasured runs first (default 2)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--editable", action="store_true", help="measure the console script beside this interpreter, not a wheel"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmups < 0:
        parser.error("--runs must be at least 1 and --warmups at least 0")
    with tempfile.TemporaryDirectory(prefix="deploytool-bench-") as tmp:
        # A throw-away home: the benchmark never touches the user's store.
        env = {**os.environ, "DEPLOYTOOL_HOME": str(Path(tmp) / "home")}
        env.pop("DEPLOYTOOL_DEBUG", None)
        try:
            if args.editable:
                cases = build_cases(find_console_script(), sys.executable)
            else:
                install = make_install(Path(tmp))
                cases = build_cases(install.deploytool, str(install.python))
            measure(cases, args.runs, args.warmups, env)
        except BenchError as exc:
            print(f"bench_cli: {exc}", file=sys.stderr)
            return 2
    info = machine()
    if args.json:
        report_json(cases, info, args.runs, args.warmups)
    else:
        report_text(cases, info, args.runs, args.warmups)
    return 0 if passed(cases) else 1


if __name__ == "__main__":
    raise SystemExit(main())
