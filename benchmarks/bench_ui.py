"""The dashboard at scale: every page and API list with 100,000 runs in the store, and the idle process's CPU.

    .venv/bin/python benchmarks/bench_ui.py [--runs 100000] [--repeat 30] [--idle-seconds 10] [--json]

A fresh store in a temporary DEPLOYTOOL_HOME gets one process pool, 20 deployments, a worker record and, through
the store's bulk path, `--runs` runs created over the last 28 hours (one every ~1 s): most COMPLETED, some
FAILED, CRASHED and CANCELLED, 1,000 SCHEDULED of which half are overdue (LATE), and one run with 2,000 log
lines. Then `python -m deploytool.ui` (what `deploytool ui` becomes) is started on a free port and each URL is
fetched `--repeat` times over one keep-alive connection (after one warm-up fetch), as a browser would.

Then the dashboard is left alone for `--idle-seconds` and its CPU time (user + system, /proc/PID/stat) is read
before and after: idle CPU = CPU seconds / wall seconds.

Target (issue 14, item 7): every median under 100 ms; idle CPU under 1% of a core.
Exit status: 0 when every target is met, 1 when one is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchlib import Stats, machine, print_table

from deploytool.models import Deployment, FlowRun, LogLine, RunState, WorkPool, new_id
from deploytool.store import Store

TARGET_MS = 100.0
TARGET_IDLE = 0.01
POOL = "bench"
DEPLOYMENTS = 20
NOW = datetime.now(UTC).replace(microsecond=0)
SPAN = timedelta(hours=28)
FINISHED = [RunState.COMPLETED] * 6 + [RunState.FAILED, RunState.CRASHED, RunState.CANCELLED]


def _runs(deployments: list[Deployment], total: int, scheduled: int) -> Iterator[FlowRun]:
    step = SPAN / total
    for i in range(total):
        d = deployments[i % len(deployments)]
        created = NOW - SPAN + step * i
        waiting = i >= total - scheduled
        due = NOW - timedelta(minutes=5) if waiting and i % 2 else NOW + timedelta(hours=1)
        yield FlowRun(
            flow_name=d.flow_name,
            deployment_name=d.name,
            pool_name=POOL,
            deployment_id=d.id,
            name=f"{d.name}-{i:07d}",
            state=RunState.SCHEDULED if waiting else FINISHED[i % len(FINISHED)],
            state_message=None if waiting else "done",
            scheduled_time=due if waiting else created,
            start_time=None if waiting else created,
            end_time=None if waiting else created + timedelta(seconds=2),
            id=new_id(),
            created=created,
        )


def fill(home: Path, total: int) -> str:
    """Make the store; return the id of the run with logs."""
    with Store.open(home / "deploytool.db") as store:
        store.pools.create(WorkPool(POOL, "process"))
        deployments = [
            store.deployments.upsert(Deployment("bench", f"d{i:02d}", "flows.py:bench", POOL))[0]
            for i in range(DEPLOYMENTS)
        ]
        store.workers.heartbeat("bench-worker", POOL, "bench-host", os.getpid(), NOW)
        store.runs.insert_many(_runs(deployments, total, 1_000))
        logged = store.runs.list(state=RunState.COMPLETED, limit=1)[0]
        lines = [LogLine(logged.id, NOW, "INFO", "stdout", f"line {n} of the flow's output") for n in range(2000)]
        store.logs.append(logged.id, lines)
        return logged.id


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deploytool-bench-ui-") as tmp:
        home = Path(tmp)
        began = time.perf_counter()
        run_id = fill(home, args.runs)
        filled = time.perf_counter() - began
        env = {**os.environ, "DEPLOYTOOL_HOME": str(home), "DEPLOYTOOL_UI_PORT": "0"}
        log = (home / "ui.log").open("w+")
        server = subprocess.Popen([sys.executable, "-m", "deploytool.ui"], env=env, stdout=log, stderr=log)
        try:
            port = _port(home / "ui.log", server)
            urls = _urls(run_id)
            results = {url: _time(port, url, args.repeat) for url in urls}
            before = cpu_seconds(server.pid)
            time.sleep(args.idle_seconds)
            idle = (cpu_seconds(server.pid) - before) / args.idle_seconds
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    failed = [url for url, stats in results.items() if stats.median * 1000 >= TARGET_MS]
    ok = not failed and idle < TARGET_IDLE
    if args.json:
        report = {
            "machine": machine(),
            "runs": args.runs,
            "fill_seconds": round(filled, 1),
            "target_ms": TARGET_MS,
            "results": {url: stats.to_json() for url, stats in results.items()},
            "idle_cpu_percent": round(idle * 100, 2),
            "load_average": round(os.getloadavg()[0], 1),
            "ok": ok,
        }
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{args.runs:,} runs (filled in {filled:.1f} s); {args.repeat} fetches of each URL; target median < 100 ms"
        )
        rows = [
            [url, f"{s.median * 1000:.1f}", f"{s.p90 * 1000:.1f}", "ok" if s.median * 1000 < TARGET_MS else "SLOW"]
            for url, s in results.items()
        ]
        print_table(["url", "median ms", "p90 ms", ""], rows)
        print(f"idle CPU over {args.idle_seconds:.0f} s: {idle * 100:.2f}% of a core (target < 1%)")
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes share the machine's cores)")
    return 0 if ok else 1


def _port(log: Path, server: subprocess.Popen[bytes]) -> int:
    while True:
        match = re.search(r"on http://127\.0\.0\.1:(\d+)/", log.read_text())
        if match:
            return int(match[1])
        if server.poll() is not None:
            raise SystemExit(f"the dashboard exited ({server.returncode}):\n{log.read_text()}")
        time.sleep(0.05)


def _urls(run_id: str) -> list[str]:
    late = "/flow-runs?state=LATE"
    return [
        "/",
        "/work-pools",
        f"/work-pools/{POOL}",
        f"/work-pools/{POOL}/workers",
        "/deployments",
        "/deployments/bench/d07",
        "/deployments/bench/d07/run",
        "/flow-runs",
        "/flow-runs?state=FAILED",
        late,
        "/flow-runs?deployment=bench%2Fd07",
        f"/flow-runs?since={(NOW - timedelta(hours=2)).isoformat()[:19]}",
        f"/flow-runs/{run_id}",
        "/api/v1/overview",
        "/api/v1/work-pools",
        "/api/v1/deployments",
        "/api/v1/flow-runs",
        "/api/v1/flow-runs?state=FAILED&state=CRASHED",
        "/api/v1" + late,
        "/api/v1/flow-runs?pool=bench&limit=500",
        f"/api/v1/flow-runs/{run_id}/logs",
    ]


def _time(port: int, url: str, repeat: int) -> Stats:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    stats = Stats()
    for i in range(repeat + 1):
        began = time.perf_counter()
        conn.request("GET", url)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {url}: {response.status}")
        if i:  # the first fetch warms caches (templates, the store's pages)
            stats.samples.append(time.perf_counter() - began)
    conn.close()
    return stats


if __name__ == "__main__":
    sys.exit(main())
