"""A run's job process, measured against the floor (issue 17, items 1, 6 and 7).

    .venv/bin/python benchmarks/bench_engine.py [--runs N] [--json] [--editable]

In a fresh venv with deploytool installed from a wheel (not editable: an editable install's import hook costs
every start), N times each, interleaved so that load on the machine hits every case alike:

- `python -I -S -c pass` and `python -c pass` (the floor: the interpreter, and the interpreter with its site);
- `python -m deploytool.engine` running a trivial flow, without pull steps: from the moment before the process
  is spawned to the moment the flow function is called (the flow's first line reads CLOCK_MONOTONIC, which is
  system-wide on Linux, so both ends use one clock), and to the process's exit;
- the same with the pull step users have: `set_working_directory` (what `prefect init` writes);
- the same with a Prefect flow file (`from prefect import flow, task`, the compatibility layer);
- where a cold job's CPU goes, as processes that stop after each step: what `-m` loads (runpy, importlib.util),
  plus the standard-library modules the engine imports, plus the engine's own modules; the whole job is the
  "engine, no pull step" case.

Then one `-X importtime` run of the engine with the pull step, listing the modules that cost most (what the
remaining time is spent on; benchmarks/README.md discusses it).

Then warm start (issue 17, item 2): a driver in the same install starts N runs through the process
infrastructure (`ProcessInfrastructure.start`, as the worker does) with `warm_start` on, then N with it off,
one at a time, after one warm-up run each (which starts the zygote). Per run: start requested -> flow called,
-> job ended, and CPU: for warm runs the zygote's own CPU and that of the children it reaped (/proc/ZYGOTE/stat:
utime, stime, cutime, cstime), for cold runs the children's CPU of the driver (os.times); and the driver's own
CPU per run (the worker's side of starting, reading and ending a job).

Target: spawn -> flow called, median, under 60 ms (without pull steps). Exit status: 0 when met, 1 when missed,
2 when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import BenchError, Stats, machine, make_install, ms, print_table, run_timed

TARGET_MS = 60.0

FLOW = """import time


def main():
    print("CALLED", time.monotonic_ns(), flush=True)
"""

PREFECT_FLOW = """import time

from prefect import flow, task


@task
def noop():
    return 1


@flow
def main():
    print("CALLED", time.monotonic_ns(), flush=True)
"""


# The standard-library modules a cold job imports for the engine itself (tests/engine/test_lean_start.py holds
# that logging, typing, datetime and traceback are not among them unless the flow imports them).
ENGINE_STDLIB = "threading, signal, json, contextvars, ctypes"
RUNPY = "import runpy, importlib.util"  # what `python -m` loads before the module it runs


def _spec(entrypoint: str, pull: list[dict[str, object]] | None = None) -> str:
    return json.dumps(
        {
            "run_id": "bench",
            "flow_name": "bench",
            "deployment_name": "bench",
            "entrypoint": entrypoint,
            "pull_steps": pull or [],
        }
    )


def _called_ms(stdout: str, started_ns: int) -> float:
    for line in stdout.splitlines():
        if line.startswith("CALLED "):
            return (int(line.split()[1]) - started_ns) / 1e6
    raise BenchError(f"the flow was not called: {stdout[-500:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--editable", action="store_true", help="use this venv's (editable) install instead")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
            root = Path(tmp)
            python = sys.executable if args.editable else str(make_install(root).python)
            return _measure(root, python, args.runs, args.json)
    except BenchError as exc:
        print(f"bench_engine: {exc}", file=sys.stderr)
        return 2


def _measure(root: Path, python: str, runs: int, as_json: bool) -> int:
    project = root / "project"
    project.mkdir()
    (project / "flows.py").write_text(FLOW)
    (project / "prefect_flows.py").write_text(PREFECT_FLOW)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOYTOOL_", "PYTHON"))}
    pull = [{"name": "set_working_directory", "id": None, "inputs": {"directory": str(project)}}]
    cases: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "python -I -S -c pass": ([python, "-I", "-S", "-c", "pass"], None),
        "python -c pass": ([python, "-c", "pass"], None),
        # Where a cold job's CPU goes, step by step (each a process of its own; benchmarks/README.md).
        "step: + what -m loads": ([python, "-c", RUNPY], None),
        "step: + the engine's stdlib": ([python, "-c", f"{RUNPY}, {ENGINE_STDLIB}"], None),
        "step: + the engine's modules": ([python, "-c", f"{RUNPY}, {ENGINE_STDLIB}, deploytool.engine.runner"], None),
        "engine, no pull step": ([python, "-m", "deploytool.engine"], {"DEPLOYTOOL_RUN_SPEC": _spec("flows.py:main")}),
        "engine, set_working_directory": (
            [python, "-m", "deploytool.engine"],
            {"DEPLOYTOOL_RUN_SPEC": _spec("flows.py:main", pull)},
        ),
        "engine, Prefect flow file": (
            [python, "-m", "deploytool.engine"],
            {"DEPLOYTOOL_RUN_SPEC": _spec("prefect_flows.py:main")},
        ),
    }
    exits = {name: Stats() for name in cases}
    called = {name: Stats() for name, (_, extra) in cases.items() if extra is not None}
    cpu = {name: Stats() for name in cases}
    for _ in range(runs):
        for name, (argv, extra) in cases.items():
            env = {**base, **(extra or {})}
            started_ns = _now_ns()
            done = run_timed(argv, cwd=project, env=env)
            if done.returncode != 0:
                raise BenchError(f"{name} exited {done.returncode}: {(done.stdout + done.stderr)[-800:]}")
            exits[name].samples.append(done.seconds)
            cpu[name].samples.append(done.cpu_seconds)
            if name in called:
                called[name].samples.append(_called_ms(done.stdout, started_ns) / 1000)
    importtime = _importtime(python, project, {**base, **dict(cases["engine, set_working_directory"][1] or {})})
    warm = _warm_cases(python, root, project, runs, base)
    figures = {
        "machine": machine(),
        "exit": {k: v.to_json() for k, v in exits.items()},
        "spawn_to_flow_called": {k: v.to_json() for k, v in called.items()},
        "cpu_median_ms": {k: round(v.median * 1000, 1) for k, v in cpu.items()},
        "importtime_top_ms": importtime,
        "through_the_process_infrastructure": {
            mode: {
                "start_to_flow_called": v["called"].to_json(),
                "start_to_job_ended": v["ended"].to_json(),
                "job_cpu_ms": round(v["job_cpu"] * 1000, 1),
                "worker_side_cpu_ms": round(v["driver_cpu"] * 1000, 1),
            }
            for mode, v in warm.items()
        },
        "target_ms": TARGET_MS,
        "load_average": round(os.getloadavg()[0], 1),
    }
    met = called["engine, no pull step"].median * 1000 < TARGET_MS
    if as_json:
        print(json.dumps(figures, indent=2))
    else:
        rows = []
        for name in cases:
            flow = called[name].median if name in called else None
            low = called[name].min if name in called else None
            rows.append(
                [
                    name,
                    ms(exits[name].median),
                    ms(flow) if flow is not None else "-",
                    ms(low) if low is not None else "-",
                    ms(cpu[name].median),
                ]
            )
        print_table(["case (median)", "spawn -> exit", "spawn -> flow called", "(min)", "CPU"], rows)
        print(f"load average: {os.getloadavg()[0]:.1f} (wall times grow with it; CPU much less)")
        print("\nthrough the process infrastructure, one run at a time (ms; CPU per run):")
        print_table(
            ["start", "-> flow called (median)", "(min)", "-> job ended", "job CPU", "worker side CPU"],
            [
                [
                    f"{mode}{' (zygote child + zygote)' if mode == 'warm' else ''}",
                    ms(v["called"].median),
                    ms(v["called"].min),
                    ms(v["ended"].median),
                    f"{v['job_cpu'] * 1000:.0f}",
                    f"{v['driver_cpu'] * 1000:.0f}",
                ]
                for mode, v in warm.items()
            ],
        )
        print("\nimport time of the engine with set_working_directory (self, ms; largest first):")
        for module, value in importtime.items():
            print(f"  {value:6.1f}  {module}")
        verdict = "met" if met else "MISSED"
        print(f"\ntarget spawn -> flow called < {TARGET_MS:g} ms (no pull step): {verdict}")
    return 0 if met else 1


WARM_DRIVER = """
import json, os, sys, time
from deploytool.engine.spec import RunSpec
from deploytool.infra.base import Job
from deploytool.infra.process import ProcessInfrastructure

runs, project, warm = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "warm"
infra = ProcessInfrastructure()
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK  # utime, stime, cutime, cstime


def one(i):
    spec = RunSpec(f"bench-{i}", "bench", "bench", "flows.py:main", working_dir=project)
    lines = []
    started = time.monotonic_ns()
    job = Job(spec.run_id, {"warm_start": warm, "working_dir": project}, env=spec.to_env())
    handle = infra.start(job, lines.append)
    parent = int(open(f"/proc/{handle.pid}/stat").read().rsplit(")", 1)[1].split()[1])
    outcome = infra.wait(handle, 60)
    ended = time.monotonic_ns()
    if outcome is None or outcome.exit_code != 0:
        raise SystemExit(f"run {i} failed: {outcome} {lines[-5:]}")
    called = next(int(line.split()[1]) for line in lines if line.startswith("CALLED "))
    return (called - started) / 1e9, (ended - started) / 1e9, parent


_, _, zygote = one(0)
if warm and zygote == os.getpid():
    raise SystemExit("the run did not start warm")
before, mine = (cpu(zygote) if warm else sum(os.times()[2:4])), sum(os.times()[:2])
samples = [one(i + 1) for i in range(runs)]
after, mine_after = (cpu(zygote) if warm else sum(os.times()[2:4])), sum(os.times()[:2])
print(json.dumps({
    "called": [s[0] for s in samples], "ended": [s[1] for s in samples],
    "job_cpu": (after - before) / runs, "driver_cpu": (mine_after - mine) / runs,
}))
"""


def _warm_cases(python: str, root: Path, project: Path, runs: int, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    driver = root / "warm_driver.py"
    driver.write_text(WARM_DRIVER)
    found: dict[str, dict[str, Any]] = {}
    for mode in ("warm", "cold"):
        done = run_timed([python, str(driver), str(runs), str(project), mode], cwd=project, env=env, timeout=600)
        if done.returncode != 0:
            raise BenchError(f"the warm-start driver ({mode}) exited {done.returncode}: {done.stderr[-800:]}")
        data = json.loads(done.stdout.strip().splitlines()[-1])
        found[mode] = {
            "called": Stats(data["called"]),
            "ended": Stats(data["ended"]),
            "job_cpu": data["job_cpu"],
            "driver_cpu": data["driver_cpu"],
        }
    return found


def _now_ns() -> int:
    import time

    return time.monotonic_ns()


def _importtime(python: str, cwd: Path, env: dict[str, str]) -> dict[str, float]:
    done = run_timed([python, "-X", "importtime", "-m", "deploytool.engine"], cwd=cwd, env=env)
    costs: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line[len("import time:") :].split("|") if line.startswith("import time:") else []
        if len(parts) == 3 and parts[0].strip().isdigit():
            costs[parts[2].strip()] = int(parts[0].strip()) / 1000
    top = sorted(costs.items(), key=lambda item: item[1], reverse=True)[:25]
    return {name: round(value, 2) for name, value in top}


if __name__ == "__main__":
    raise SystemExit(main())
