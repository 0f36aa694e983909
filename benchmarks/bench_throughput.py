"""Throughput of process workers, side by side with the floor: starting that many bare interpreters (issue 17, item 3).

    .venv/bin/python benchmarks/bench_throughput.py [--runs 50] [--big 500] [--workers 3] [--limit 8] [--json]
                                                    [--editable] [--warm] [--profile FILE]

deploytool is installed from a wheel into a fresh virtual environment (benchlib.make_install; `--editable`: the
console script beside this interpreter), in a throw-away DEPLOYTOOL_HOME, with a project as users have one: a
trivial flow and a `set_working_directory` pull step. Measured:

- `--runs` trivial runs through ONE process worker (`--limit` at once): queued in one transaction, the time
  from that commit to the last run's end (the store's own end times: no polling grid), runs/s, and the CPU of
  the worker and its jobs together per run (/proc: the worker's user+system time plus its reaped children's and
  its live children's, such as a warm-start zygote, over the burst), and the worker's own share;
- `--big` runs across `--workers` workers: the same figures, and runs/s per core;
- the peak resident memory of the workers and their jobs together (sampled every 50 ms);
- the floor: the same number of `python -c pass` in the same environment, `--limit` x workers at once (exact:
  os.wait4), with their CPU.

Targets (issue 17): 50 runs at >= 20 runs/s and <= 60 ms CPU per run; 500 runs across 3 workers at the same rate
per core. Exit status: 0 when every target is met, 1 when one is missed, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from benchlib import REPO_ROOT, BenchError, find_console_script, machine, make_install, print_table

RATE_TARGET = 20.0  # runs/s, 50 runs through one worker
CPU_TARGET_MS = 60.0  # per run, worker and job together

FLOW = """from deploytool import flow


@flow
def noop() -> None:
    pass
"""

# `python -c PROFILED OUT worker start ...`: the worker under cProfile with a per-thread CPU clock in every thread
# (the loop, each job's watcher and output reader), all merged into one stats file OUT at the worker's exit.
PROFILED = """
import cProfile, pstats, sys, threading, time
out, sys.argv = sys.argv[1], ["deploytool", *sys.argv[2:]]
finished, run = [], threading.Thread.run
def profiled(self):
    profile = cProfile.Profile(time.thread_time)
    profile.runcall(run, self)
    finished.append(profile)  # only a thread's finished profile is merged: one still running is left out
threading.Thread.run = profiled
from deploytool.cli.entry import main
profile = cProfile.Profile(time.thread_time)
try:
    code = profile.runcall(main)
except SystemExit as exc:
    code = exc.code
stats = pstats.Stats(profile)
for other in list(finished):
    stats.add(other)
stats.dump_stats(out)
sys.exit(code)
"""

PROJECT = """pull:
  - set_working_directory:
      directory: {root}
deployments:
  - name: noop
    entrypoint: flow.py:noop
    work_pool: {{name: bench, job_variables: {{warm_start: {warm}}}}}
"""


@dataclass
class Burst:
    runs: int
    workers: int
    seconds: float  # queue commit -> last run's end
    cpu_seconds: float  # workers + their jobs over the burst
    peak_rss_mib: float  # workers + jobs, summed, at the peak
    worker_cpu_seconds: float = 0.0  # the workers' own share of cpu_seconds (the rest: their jobs)

    @property
    def rate(self) -> float:
        return self.runs / self.seconds

    @property
    def cpu_ms_per_run(self) -> float:
        return 1000 * self.cpu_seconds / self.runs

    @property
    def worker_ms_per_run(self) -> float:
        return 1000 * self.worker_cpu_seconds / self.runs


def _proc_cpu(pid: int, *, children: bool = True) -> float:
    """User + system CPU of a process and (`children`) of the children it has waited for, in seconds; with
    `children`, also all of the CPU of its live children (a warm-start zygote: the runs it forked and reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(x) for x in fields[11 : 15 if children else 13]) / os.sysconf("SC_CLK_TCK")
    if children:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    total += _proc_cpu(int(child))
    return total


def _tree_rss_mib(roots: list[int]) -> float:
    """The resident memory of the processes `roots` and all their descendants, summed, in MiB.

    From every /proc/PID/stat (parent and RSS fields), never /proc/PID/task/*/children: reading those takes the
    kernel's process-list lock, which the workers' own forks and reaps then wait for spinning, and a sampler
    reading them every 10 ms added 6-10 ms of CPU per run to the workers it measured (in their waitpid)."""
    parents: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):  # noqa: PTH208
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:  # noqa: PTH123
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(name))
        rss[int(name)] = int(fields[21])
    total, pending = 0, list(roots)
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(parents.get(pid, []))
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler(threading.Thread):
    def __init__(self, roots: list[int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak = max(self.peak, _tree_rss_mib(self.roots))


def _cli(exe: Path, *args: str, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"deploytool {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-500:]}")


def burst(
    exe: Path,
    root: Path,
    env: dict[str, str],
    runs: int,
    workers: int,
    limit: int,
    profile: tuple[Path, Path] | None = None,
) -> Burst:
    """Queue `runs` runs at once, with `workers` workers already polling; wait until every run has ended.
    `profile`: (the install's python, the stats file): the workers run under cProfile (PROFILED)."""
    sys.path.insert(0, str(REPO_ROOT))
    from deploytool.models import FlowRun, RunState
    from deploytool.store import Store

    start = [str(exe)] if profile is None else [str(profile[0]), "-c", PROFILED, str(profile[1])]
    procs = [
        subprocess.Popen(
            [*start, "worker", "start", "--pool", "bench", "--limit", str(limit), "--name", f"bench-{i}"],
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(workers)
    ]
    try:
        with Store.open(root / "home" / "deploytool.db") as store:
            deadline = time.monotonic() + 60
            while len(store.workers.list()) < workers:  # each has registered (and so polls)
                if time.monotonic() > deadline:
                    raise BenchError(f"{workers} workers did not register within 60 s")
                time.sleep(0.05)
            time.sleep(1.0)  # past start-up: the burst measures runs, not workers starting
            deployment = store.deployments.get_by_name("noop", "noop")
            cpu0 = sum(_proc_cpu(p.pid) for p in procs)
            own0 = sum(_proc_cpu(p.pid, children=False) for p in procs)
            sampler = RssSampler([p.pid for p in procs])
            sampler.start()
            with store.transaction():
                queued = [
                    store.runs.create(
                        FlowRun(
                            flow_name=deployment.flow_name,
                            deployment_name=deployment.name,
                            pool_name="bench",
                            deployment_id=deployment.id,
                        )
                    )
                    for _ in range(runs)
                ]
                committed_at: datetime = max(r.created for r in queued)
            ids = {r.id for r in queued}
            deadline = time.monotonic() + 600
            while True:
                done = [store.runs.get(run_id) for run_id in ids]
                if all(r.state is RunState.COMPLETED for r in done):
                    break
                bad = [r for r in done if r.state in (RunState.FAILED, RunState.CRASHED, RunState.CANCELLED)]
                if bad:
                    raise BenchError(f"run {bad[0].id} ended {bad[0].state.value}: {bad[0].state_message}")
                if time.monotonic() > deadline:
                    raise BenchError(f"{runs} runs did not complete within 600 s")
                time.sleep(0.05)
            cpu = sum(_proc_cpu(p.pid) for p in procs) - cpu0
            own = sum(_proc_cpu(p.pid, children=False) for p in procs) - own0
            sampler.stop.set()
            sampler.join()
            ends = [r.end_time for r in done if r.end_time is not None]
            seconds = (max(ends) - committed_at).total_seconds()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return Burst(runs, workers, seconds, cpu, sampler.peak, own)


def floor(python: Path, runs: int, at_once: int) -> Burst:
    """`runs` x `python -c pass`, `at_once` at a time: the exact time to the last exit, and their CPU."""
    start = time.perf_counter()
    running: dict[int, subprocess.Popen[bytes]] = {}
    started = finished = 0
    cpu = 0.0
    peak = 0
    while finished < runs:
        while started < runs and len(running) < at_once:
            proc = subprocess.Popen([str(python), "-c", "pass"], stdin=subprocess.DEVNULL)
            running[proc.pid] = proc
            started += 1
        pid, status, usage = os.wait4(-1, 0)
        proc = running.pop(pid)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise BenchError(f"python -c pass exited {proc.returncode}")
        cpu += usage.ru_utime + usage.ru_stime
        peak = max(peak, usage.ru_maxrss)
        finished += 1
    return Burst(runs, 1, time.perf_counter() - start, cpu, peak * at_once / 1024)


def _print_profile(path: Path, profiled: Burst) -> int:
    """The profiled worker's busiest deploytool functions (cumulative thread CPU), per run."""
    import pstats

    stats = pstats.Stats(str(path))
    runs = profiled.runs
    print(f"{runs} runs through one profiled worker: {profiled.worker_ms_per_run:.1f} ms of worker CPU per run")
    print(f"(its jobs {profiled.cpu_ms_per_run - profiled.worker_ms_per_run:.1f} ms); profile: {path}")
    rows = []
    for (file, line, name), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/deploytool/" in file and cumulative / runs >= 0.0002:
            where = file[file.rindex("/deploytool/") + 1 :]
            rows.append((cumulative, [f"{where}:{line} {name}", str(calls), f"{1000 * cumulative / runs:.2f}"]))
    rows.sort(key=lambda row: -row[0])
    print_table(["function", "calls", "cumulative ms per run"], [row for _, row in rows[:60]])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="runs through one worker (default 50)")
    parser.add_argument("--big", type=int, default=500, help="runs across --workers workers (default 500; 0: skip)")
    parser.add_argument("--workers", type=int, default=3, help="workers for --big (default 3)")
    parser.add_argument("--limit", type=int, default=8, help="each worker's --limit (default 8)")
    parser.add_argument("--editable", action="store_true", help="the console script beside this interpreter")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--warm", action="store_true", help="runs start warm (job variable warm_start: true)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="instead: one burst of --runs through one worker under cProfile (thread CPU), stats into FILE",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    try:
        with tempfile.TemporaryDirectory(prefix="deploytool-bench-throughput-") as tmp:
            root = Path(tmp)
            if args.editable:
                exe, python = find_console_script(), Path(sys.executable)
            else:
                install = make_install(root)
                exe, python = install.deploytool, install.python
            (root / "flow.py").write_text(FLOW)
            (root / "deploy.yaml").write_text(PROJECT.format(root=root, warm="true" if args.warm else "false"))
            env = {**os.environ, "DEPLOYTOOL_HOME": str(root / "home")}
            env.pop("DEPLOYTOOL_DEBUG", None)
            _cli(exe, "work-pool", "create", "bench", "--type", "process", env=env, cwd=root)
            _cli(exe, "deploy", "--all", env=env, cwd=root)
            burst(exe, root, env, 4, 1, args.limit)  # warm-up: page cache, bytecode
            if args.profile is not None:
                profiled = burst(exe, root, env, args.runs, 1, args.limit, (python, args.profile.absolute()))
                return _print_profile(args.profile, profiled)
            one = burst(exe, root, env, args.runs, 1, args.limit)
            one_floor = floor(python, args.runs, args.limit)
            big = burst(exe, root, env, args.big, args.workers, args.limit) if args.big else None
            big_floor = floor(python, args.big, args.limit * args.workers) if args.big else None
    except BenchError as exc:
        print(f"bench_throughput: {exc}", file=sys.stderr)
        return 2
    checks = {
        "rate": one.rate >= RATE_TARGET,
        "cpu_per_run": one.cpu_ms_per_run <= CPU_TARGET_MS,
    }
    if big is not None:
        checks["rate_per_core_big"] = big.rate / cores >= RATE_TARGET / cores
    figures = {
        "one_worker": vars(one)
        | {"rate": one.rate, "cpu_ms_per_run": one.cpu_ms_per_run, "worker_ms_per_run": one.worker_ms_per_run},
        "one_worker_floor": vars(one_floor) | {"rate": one_floor.rate, "cpu_ms_per_run": one_floor.cpu_ms_per_run},
    }
    if big is not None and big_floor is not None:
        figures["workers"] = vars(big) | {
            "rate": big.rate,
            "cpu_ms_per_run": big.cpu_ms_per_run,
            "worker_ms_per_run": big.worker_ms_per_run,
        }
        figures["workers_floor"] = vars(big_floor) | {
            "rate": big_floor.rate,
            "cpu_ms_per_run": big_floor.cpu_ms_per_run,
        }
    if args.json:
        print(json.dumps({"machine": machine(), "figures": figures, "passed": checks}, indent=2))
    else:
        start = "warm (warm_start: true)" if args.warm else "cold"
        print(f"deploytool process workers, trivial runs with a set_working_directory pull step, {start}; {cores} CPUs")
        print(", ".join(f"{k}: {v}" for k, v in machine().items()))
        print()
        verdict = {True: "PASS", False: "FAIL"}
        rows = [
            [
                f"{one.runs} runs, 1 worker, --limit {args.limit}",
                f"{one.seconds:.2f}",
                f"{one.rate:.1f}",
                f"{one.cpu_ms_per_run:.0f}",
                f"{one.worker_ms_per_run:.0f}",
                f"{one.peak_rss_mib:.0f}",
                f">= {RATE_TARGET:g}/s, <= {CPU_TARGET_MS:g} ms",
                verdict[checks["rate"] and checks["cpu_per_run"]],
            ],
            [
                f"  floor: {one.runs} x python -c pass, {args.limit} at once",
                f"{one_floor.seconds:.2f}",
                f"{one_floor.rate:.1f}",
                f"{one_floor.cpu_ms_per_run:.0f}",
                "",
                "",
                "",
                "",
            ],
        ]
        if big is not None and big_floor is not None:
            rows += [
                [
                    f"{big.runs} runs, {big.workers} workers, --limit {args.limit}",
                    f"{big.seconds:.2f}",
                    f"{big.rate:.1f} ({big.rate / cores:.1f}/core)",
                    f"{big.cpu_ms_per_run:.0f}",
                    f"{big.worker_ms_per_run:.0f}",
                    f"{big.peak_rss_mib:.0f}",
                    f">= {RATE_TARGET / cores:g}/s per core",
                    verdict[checks["rate_per_core_big"]],
                ],
                [
                    f"  floor: {big.runs} x python -c pass, {args.limit * args.workers} at once",
                    f"{big_floor.seconds:.2f}",
                    f"{big_floor.rate:.1f}",
                    f"{big_floor.cpu_ms_per_run:.0f}",
                    "",
                    "",
                    "",
                    "",
                ],
            ]
        print_table(
            ["measure", "seconds", "runs/s", "CPU ms/run", "(worker)", "peak RSS MiB", "target", "result"], rows
        )
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
