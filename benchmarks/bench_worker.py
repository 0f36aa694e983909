"""A process worker, measured through the real CLI (issue 4, item 9).

    .venv/bin/python benchmarks/bench_worker.py [--runs N] [--idle-seconds S] [--json]

In a fresh temporary DEPLOYTOOL_HOME: a project with one flow that writes `time.time()` to a file as its first
line and a `set_working_directory` pull step, `deploytool work-pool create bench --type process`,
`deploytool deploy`, then `deploytool worker start --pool bench --limit 8` in the background. Measured:

- pickup latency: for each of N runs, from the moment `deploytool run bench/latency` RETURNS (the command has
  exited; its own start-up is not counted) to the flow's first line; median and p90. An idle worker woken by
  the run's commit can start the flow before the command has finished exiting: that latency is negative. So
  the time from the run's commit (its scheduled time, which `run` sets to now) to the flow's first line is
  given too;
- idle CPU: the worker's user+system CPU time over S seconds with nothing queued, as % of one core, and its
  write transactions per second over the same window (the worker runs under a small wrapper that counts the
  `BEGIN` statements of its SQLite connections and writes the count to a file on SIGUSR1);
- the worker's resident memory (VmRSS) when idle and after the runs;
- throughput: 50 trivial runs queued at once (through the store's API, in one go), until all are COMPLETED,
  with `--limit 8`.

Targets: median latency < 300 ms; idle CPU < 0.2 % of a core; idle write transactions < 0.5/s (a heartbeat
every 5 s; the scheduler passes every 10 s write only when they have a run to make); 50 runs < 10 s.
Exit status: 0 when every target is met, 1 when one is missed, 2 when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchlib import BenchError, find_console_script, machine, print_table

LATENCY_TARGET_MS = 300.0
IDLE_CPU_TARGET = 0.2
IDLE_WRITES_TARGET = 0.5

# Runs the deploytool CLI with a count of the write transactions (BEGIN ...) of every SQLite connection it
# opens; SIGUSR1 writes the count to the file named by argv[1].
COUNTING = """
import signal, sqlite3, sys
count = [0]
_connect = sqlite3.connect
def _trace(sql):
    if sql.lstrip()[:5].upper() == "BEGIN":
        count[0] += 1
def connect(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    conn.set_trace_callback(_trace)
    return conn
sqlite3.connect = connect
out = sys.argv[1]
def report(signum, frame):
    with open(out, "w") as fh:
        fh.write(str(count[0]))
signal.signal(signal.SIGUSR1, report)
from deploytool.cli.entry import main
sys.argv = ["deploytool", *sys.argv[2:]]
sys.exit(main())
"""
THROUGHPUT_TARGET_S = 10.0

FLOW = """import os, time
from deploytool import flow


@flow
def latency(out: str) -> None:
    stamp = time.time()
    with open(os.path.join(out, os.environ["DEPLOYTOOL_RUN_ID"]), "w") as fh:
        fh.write(repr(stamp))
"""

# With the pull step users have (`prefect init` writes it), as bench_throughput.py (issue 17, item 6).
PROJECT = """pull:
  - set_working_directory:
      directory: {root}
deployments:
  - name: latency
    entrypoint: flow.py:latency
    parameters: {{out: "{out}"}}
    work_pool: {{name: bench}}
"""


def _cli(exe: Path, *args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"deploytool {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_for(path: Path, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = ""
        if text:
            return float(text)
        time.sleep(0.002)
    raise BenchError(f"the flow did not write {path} within {timeout:g}s")


def _writes(worker: subprocess.Popen[bytes], counts: Path) -> int:
    """The worker's write transactions so far (it writes the count to `counts` on SIGUSR1)."""
    counts.unlink(missing_ok=True)
    worker.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not counts.exists() or not counts.read_text():
        if time.monotonic() > deadline:
            raise BenchError("the worker did not report its write transactions")
        time.sleep(0.01)
    return int(counts.read_text())


def bench(runs: int, idle_seconds: float) -> dict[str, float]:
    exe = find_console_script()
    with tempfile.TemporaryDirectory(prefix="deploytool-bench-worker-") as tmp:
        root = Path(tmp)
        out = root / "out"
        out.mkdir()
        (root / "flow.py").write_text(FLOW)
        (root / "deploy.yaml").write_text(PROJECT.format(out=out, root=root))
        env = {**os.environ, "DEPLOYTOOL_HOME": str(root / "home")}
        _cli(exe, "work-pool", "create", "bench", "--type", "process", env=env, cwd=root)
        _cli(exe, "deploy", env=env, cwd=root)
        counts = root / "writes"
        python = exe.parent / "python"
        worker = subprocess.Popen(
            [str(python), "-c", COUNTING, str(counts), "worker", "start", "--pool", "bench", "--limit", "8"],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(2.0)  # start-up and the first heartbeat
            writes0 = _writes(worker, counts)
            cpu0, t0 = _cpu_seconds(worker.pid), time.monotonic()
            time.sleep(idle_seconds)
            idle_cpu = 100 * (_cpu_seconds(worker.pid) - cpu0) / (time.monotonic() - t0)
            idle_writes = (_writes(worker, counts) - writes0) / (time.monotonic() - t0)
            rss_idle = _rss_mib(worker.pid)

            latencies, from_queued = [], []
            for i in range(runs):
                done = _cli(exe, "run", "latency/latency", "--output", "json", env=env, cwd=root)
                returned = time.time()
                data = json.loads(done)["data"]
                first_line = _wait_for(out / data["id"], 30)
                latencies.append(first_line - returned)
                from_queued.append(first_line - datetime.fromisoformat(data["scheduled_time"]).timestamp())
                time.sleep(0.3 + (i % 4) * 0.1)  # let the worker go idle again between runs

            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from deploytool.models import FlowRun, RunState
            from deploytool.store import Store

            with Store.open(root / "home" / "deploytool.db") as store:
                deployment = store.deployments.get_by_name("latency", "latency")
                start = time.monotonic()
                with store.transaction():
                    queued = [
                        store.runs.create(
                            FlowRun(
                                flow_name=deployment.flow_name,
                                deployment_name=deployment.name,
                                pool_name="bench",
                                deployment_id=deployment.id,
                                parameters={"out": str(out)},
                            )
                        )
                        for _ in range(50)
                    ]
                ids = {r.id for r in queued}
                while True:
                    states = {r.id: r.state for r in store.runs.list(limit=200) if r.id in ids}
                    if all(s == RunState.COMPLETED for s in states.values()) and len(states) == 50:
                        break
                    if any(s in (RunState.FAILED, RunState.CRASHED) for s in states.values()):
                        raise BenchError("a throughput run did not complete")
                    if time.monotonic() - start > 120:
                        raise BenchError("50 runs did not complete within 120 s")
                    time.sleep(0.02)
                throughput = time.monotonic() - start
            rss_busy = _rss_mib(worker.pid)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
    ordered = sorted(latencies)
    return {
        "latency_median_ms": 1000 * statistics.median(ordered),
        "latency_p90_ms": 1000 * ordered[max(0, int(0.9 * len(ordered) + 0.5) - 1)],
        "latency_min_ms": 1000 * ordered[0],
        "queued_to_flow_median_ms": 1000 * statistics.median(from_queued),
        "idle_cpu_percent": idle_cpu,
        "idle_write_transactions_per_s": idle_writes,
        "rss_idle_mib": rss_idle,
        "rss_after_runs_mib": rss_busy,
        "throughput_50_runs_s": throughput,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="latency samples (default 20)")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle CPU window (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    try:
        figures = bench(args.runs, args.idle_seconds)
    except BenchError as exc:
        print(f"bench_worker: {exc}", file=sys.stderr)
        return 2
    checks = {
        "latency": figures["latency_median_ms"] < LATENCY_TARGET_MS,
        "idle_cpu": figures["idle_cpu_percent"] < IDLE_CPU_TARGET,
        "idle_writes": figures["idle_write_transactions_per_s"] < IDLE_WRITES_TARGET,
        "throughput": figures["throughput_50_runs_s"] < THROUGHPUT_TARGET_S,
    }
    if args.json:
        print(json.dumps({"machine": machine(), "figures": figures, "passed": checks}, indent=2))
    else:
        print(f"deploytool process worker: {args.runs} latency samples, {args.idle_seconds:g} s idle window")
        print(", ".join(f"{k}: {v}" for k, v in machine().items()))
        print()
        verdict = {True: "PASS", False: "FAIL"}
        print_table(
            ["measure", "value", "target", "result"],
            [
                [
                    "run returned -> flow's first line (median)",
                    f"{figures['latency_median_ms']:.0f} ms",
                    "< 300 ms",
                    verdict[checks["latency"]],
                ],
                ["  p90 / min", f"{figures['latency_p90_ms']:.0f} / {figures['latency_min_ms']:.0f} ms", "", ""],
                [
                    "run queued -> flow's first line (median)",
                    f"{figures['queued_to_flow_median_ms']:.0f} ms",
                    "",
                    "",
                ],
                [
                    "idle worker CPU",
                    f"{figures['idle_cpu_percent']:.3f} % of a core",
                    f"< {IDLE_CPU_TARGET:g} %",
                    verdict[checks["idle_cpu"]],
                ],
                [
                    "idle worker write transactions",
                    f"{figures['idle_write_transactions_per_s']:.2f} /s",
                    f"< {IDLE_WRITES_TARGET:g} /s",
                    verdict[checks["idle_writes"]],
                ],
                [
                    "50 trivial runs, --limit 8",
                    f"{figures['throughput_50_runs_s']:.2f} s",
                    "< 10 s",
                    verdict[checks["throughput"]],
                ],
                [
                    "worker RSS idle / after runs",
                    f"{figures['rss_idle_mib']:.0f} / {figures['rss_after_runs_mib']:.0f} MiB",
                    "",
                    "",
                ],
            ],
        )
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
