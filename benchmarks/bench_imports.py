"""What a working command costs besides parsing its arguments: the CPU of each step, in a fresh process.

    .venv/bin/python benchmarks/bench_imports.py [--runs N] [--json] [--editable] [--modules]

For each cheap real command (`work-pool ls`, `flow-run ls`, `deployment ls`, `variable ls`, `block ls`,
`work-queue ls`, `worker ls`, `store info`, `schema`, `validate` of both examples, `run`) a fresh interpreter runs
what the command does below the CLI, step by step, and reads `time.process_time()` after each: importing
deploytool's models and errors, the store's interface, the core (or config) modules the command calls, opening the
store, the command's own work (the calls the CLI makes, without printing), closing the store. No CLI framework,
no parser, no command module: those are `bench_cli.py`'s (which times the whole command as a user runs it).

deploytool is measured as users install it: a wheel of this checkout in a fresh venv (benchlib.make_install);
`--editable` uses the running interpreter instead (an editable install's import hook adds to every import).
The commands run round-robin, `--runs` times each after one warm-up, in a throw-away DEPLOYTOOL_HOME holding a
pool, a deployment, a variable and a block. Each process's own CPU (os.wait4: user + system, the interpreter's
start included) is reported as a multiple of `python -c pass` in the same environment. Issue 17's target (3x) is
a command's start-up, which `bench_cli.py` judges; a whole command's CPU here has no target of the issue: it is
what the command's own work costs (YAML, croniter, SQLite), reported to find what to cut next. `--budget X` makes
it a check (a command above X times `python -c pass` fails). `--modules` lists the modules each command imports
beyond the bare interpreter.

Exit status: 1 when `--budget` is given and a command is above it, 2 when a command cannot be run, else 0.
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

from benchlib import REPO_ROOT, BenchError, describe_failure, machine, make_install, print_table, run_timed

# The columns every command's steps fall into, in the order they run.
STEPS = ("models", "store", "core", "open", "work", "close")

_MODELS = "import deploytool.errors, deploytool.models, deploytool.settings"
_STORE = "from deploytool.store import Store"
_OPEN = "from deploytool.settings import Settings\nstore = Store.open(Settings.from_env().store)"
_CLOSE = "store.close()"


def _store_command(core: str, work: str) -> dict[str, str]:
    return {"models": _MODELS, "store": _STORE, "core": core, "open": _OPEN, "work": work, "close": _CLOSE}


def _validate(file: str) -> dict[str, str]:
    return {
        "models": _MODELS,
        "core": "from deploytool.config import display_name, load_project\n"
        "from deploytool.core.summary import summarise\n"
        "from deploytool.core.resolve import pool_job_variable_issues",
        "work": f"result = load_project(Path({file!r}), strict=False)\n"
        "assert result.project is not None and not result.errors, result.issues\n"
        "issues = pool_job_variable_issues(result.project, strict=False)\n"
        "summarise(result.project).to_dict()\ndisplay_name(result.file)",
    }


# What each command does below the CLI: the calls its command function makes (deploytool/cli/*_cmds.py).
COMMANDS: dict[str, dict[str, str]] = {
    "work-pool ls": _store_command(
        "from deploytool.core.pool_listing import list_pools", "[p.to_dict() for p in list_pools(store)]"
    ),
    "work-queue ls": _store_command(
        "from deploytool.core.queues import list_queues", "[q.to_dict() for q in list_queues(store, None)]"
    ),
    "deployment ls": _store_command(
        "from deploytool.core.deployments import list_deployments",
        "[d.to_dict() for d in list_deployments(store, None)]",
    ),
    "flow-run ls": _store_command(
        "from deploytool.core.runs import list_runs, parse_states\n"
        "from deploytool.core.run_summary import duration_text",
        "states, late = parse_states([])\n"
        # the CLI's table: no state messages, so no stored secret is decrypted to mask them (`-o json` does)
        "rows = list_runs(store, states=states, late=late, deployment=None, pool=None, limit=50, messages=False)\n"
        "[r.to_dict() for r in rows]",
    ),
    "variable ls": _store_command(
        "from deploytool.core.values import list_variables", "[v.to_dict() for v in list_variables(store)]"
    ),
    "block ls": _store_command(
        "from deploytool.core.values import list_blocks", "[b.to_dict() for b in list_blocks(store, None)]"
    ),
    "worker ls": _store_command("from deploytool.worker.listing import list_workers", "list_workers(store, None)"),
    "store info": _store_command(
        "from deploytool.core.secret_keys import key_info\nfrom deploytool.store import latest_version",
        "(store.backend, store.url, store.schema_version(), latest_version(store.backend), store.table_counts())\n"
        "key_info(store).to_dict()",
    ),
    "run": _store_command(
        "from deploytool.core.runs import RunSummary, submit_run\nfrom deploytool.core.when import scheduled_time",
        "submitted = submit_run(store, 'bench/bench', {}, {}, scheduled_time(None, None), None, parameter_text={})\n"
        "RunSummary.of(submitted.run).to_dict()",
    ),
    "schema": {
        "models": _MODELS,
        "core": "from deploytool.config.schema_check import schema_text",
        "work": "schema_text()",
    },
    "validate examples/prefect.yaml": _validate(str(REPO_ROOT / "examples" / "prefect.yaml")),
    "validate examples/deploy.yaml": _validate(str(REPO_ROOT / "examples" / "deploy.yaml")),
}

# Runs in the measured process: each step's code, then `process_time()`; the figures go to stdout as JSON.
_RUNNER = """
import time
_marks = [time.process_time()]
from pathlib import Path
_marks = [time.process_time()]
_base = set(__import__("sys").modules)
_new = {}
for _name, _code in STEPS:
    exec(_code)
    _marks.append(time.process_time())
    _now = set(__import__("sys").modules)
    _new[_name] = sorted(_now - _base)
    _base = _now
print(__import__("json").dumps({"cpu": [b - a for a, b in zip(_marks, _marks[1:])], "modules": _new}))
"""

_FLOW = "from deploytool import flow\n\n\n@flow\ndef bench() -> None:\n    pass\n"
_PROJECT = (
    "deployments:\n  - name: bench\n    entrypoint: flow.py:bench\n    work_pool: {name: bench}\n"
    "    schedules:\n      - cron: '0 2 * * *'\n"
)


@dataclass
class Case:
    label: str
    steps: dict[str, str]
    cpu: dict[str, list[float]] = field(default_factory=dict)
    process: list[float] = field(default_factory=list)
    modules: dict[str, list[str]] = field(default_factory=dict)

    def median(self, step: str) -> float | None:
        values = self.cpu.get(step)
        return statistics.median(values) if values else None


def prepare(python: Path, deploytool: Path, home: Path, env: dict[str, str]) -> None:
    """A store with a pool, a deployment (with a schedule), a variable and a block, made through the CLI."""
    project = home / "project"
    project.mkdir(parents=True)
    (project / "flow.py").write_text(_FLOW, encoding="utf-8")
    (project / "deploy.yaml").write_text(_PROJECT, encoding="utf-8")
    for argv in (
        ["work-pool", "create", "bench", "--type", "process"],
        ["deploy", "--all", "--file", str(project / "deploy.yaml")],
        ["variable", "set", "bench", "1"],
        ["block", "set", "secret/bench", "value=x"],
    ):
        done = run_timed([str(deploytool), *argv], cwd=project, env=env)
        if done.returncode != 0:
            raise BenchError(describe_failure([str(deploytool), *argv], done))


def measure_once(case: Case, python: Path, env: dict[str, str], cwd: Path) -> None:
    steps = [(name, case.steps[name]) for name in STEPS if name in case.steps]
    code = f"STEPS = {steps!r}\n{_RUNNER}"
    argv = [str(python), "-c", code]
    done = run_timed(argv, cwd=cwd, env=env)  # not in the checkout: `-c` puts the cwd first on sys.path
    if done.returncode != 0:
        raise BenchError(f"{case.label}: " + describe_failure([*argv[:2], "..."], done))
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for (name, _), seconds in zip(steps, figures["cpu"], strict=True):
        case.cpu.setdefault(name, []).append(seconds)
    case.process.append(done.cpu_seconds)
    case.modules = figures["modules"]


def measure(cases: list[Case], baseline: Case, python: Path, env: dict[str, str], runs: int, cwd: Path) -> None:
    for round_ in range(runs + 1):  # round 0 is the warm-up
        for case in [baseline, *cases]:
            if case is baseline:
                done = run_timed([str(python), "-c", "pass"], cwd=cwd, env=env)
                if round_:
                    case.process.append(done.cpu_seconds)
                continue
            measure_once(case, python, env, cwd)
            if not round_:
                case.cpu.clear()
                case.process.clear()


def cell(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.1f}"


def within(case: Case, base: float, budget: float | None) -> bool:
    return budget is None or statistics.median(case.process) <= budget * base


def report_text(
    cases: list[Case], baseline: Case, info: dict[str, str], runs: int, show_modules: bool, budget: float | None
) -> None:
    base = statistics.median(baseline.process)
    print(f"{info['python']} on {info['cpus']} CPUs, load {info.get('loadavg', '?')}; median of {runs} runs, CPU in ms")
    limit = f"budget {budget:g}x = {budget * base * 1000:.1f} ms" if budget is not None else "no budget (--budget X)"
    print(f"python -c pass: {base * 1000:.1f} ms CPU; {limit}\n")
    rows = []
    for case in cases:
        total = statistics.median(case.process)
        row = [case.label, *(cell(case.median(s)) for s in STEPS), cell(total), f"{total / base:.1f}x"]
        if budget is not None:
            row.append("PASS" if within(case, base, budget) else "FAIL")
        rows.append(row)
    headers = ["command", *STEPS, "process", "vs pass"]
    print_table(headers if budget is None else [*headers, f"<= {budget:g}x"], rows)
    if show_modules:
        for case in cases:
            print(f"\n{case.label}:")
            for step in STEPS:
                names = case.modules.get(step)
                if names:
                    print(f"  {step} ({len(names)}): {' '.join(names)}")


def report_json(cases: list[Case], baseline: Case, info: dict[str, str], runs: int, budget: float | None) -> None:
    base = statistics.median(baseline.process)
    data = {
        "machine": info,
        "runs": runs,
        "budget_factor": budget,
        "baseline_cpu_ms": base * 1000,
        "commands": {
            case.label: {
                "steps_cpu_ms": {s: case.median(s) * 1000 for s in STEPS if case.median(s) is not None},  # type: ignore[operator]
                "process_cpu_ms": statistics.median(case.process) * 1000,
                "passed": within(case, base, budget),
                "modules": case.modules,
            }
            for case in cases
        },
    }
    print(json.dumps(data, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--editable", action="store_true", help="use this interpreter's install, not a wheel")
    parser.add_argument("--modules", action="store_true", help="list the modules each step imports")
    parser.add_argument("--only", action="append", default=[], help="only this command (repeatable)")
    parser.add_argument("--budget", type=float, help="fail when a command's CPU is above this many python -c pass")
    args = parser.parse_args(argv)
    cases = [Case(label, steps) for label, steps in COMMANDS.items() if not args.only or label in args.only]
    baseline = Case("python -c pass", {})
    try:
        with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
            if args.editable:
                python = Path(sys.executable)
                deploytool = python.parent / "deploytool"
            else:
                install = make_install(Path(tmp))
                python, deploytool = install.python, install.deploytool
            home = Path(tmp) / "home"
            env = {**os.environ, "DEPLOYTOOL_HOME": str(home)}
            env.pop("DEPLOYTOOL_STORE_URL", None)
            prepare(python, deploytool, home, env)
            measure(cases, baseline, python, env, args.runs, home)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info = machine()
    if args.json:
        report_json(cases, baseline, info, args.runs, args.budget)
    else:
        report_text(cases, baseline, info, args.runs, args.modules, args.budget)
    base = statistics.median(baseline.process)
    return 0 if all(within(c, base, args.budget) for c in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
