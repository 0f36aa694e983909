"""The store at scale: claiming the next run and listing the latest 50 with 100,000 finished runs stored.

    .venv/bin/python benchmarks/bench_store.py [--store URL] [--finished 100000] [--scheduled 1000] [--repeat 200]
                                               [--throughput 300] [--json]

`--store URL` measures that store (an empty one: `postgresql://user@host/db` gets the schema first, with
`store migrate`); without it, an SQLite file in a temporary directory. `--throughput N`: afterwards, in a second
empty store of the same kind (`--throughput-store URL`, or a temporary SQLite file), 3 worker processes
(`deploytool worker start --limit 4`) execute N trivial runs; each run appends its id to a ledger, which must
hold every run exactly once; reports runs/s from the first claim to the last run finished.

A fresh store in a temporary directory gets one process pool with two queues (`default`, and `low` with a
lower priority), 20 deployments (every fifth with a deployment concurrency limit of 5) and, through the store's
bulk path (`FlowRunRepo.insert_many`, executemany in batches), `--finished` runs in finished states (COMPLETED,
FAILED, CRASHED, CANCELLED, one creation second apart) plus `--scheduled` SCHEDULED runs that are all due. Then,
in this process, against the store file (what a worker and `flow-run ls` do, without process start-up):

- claim: `claim_next` of the pool (all queues), then the claimed run is put back (PENDING -> SCHEDULED, not
  timed), `--repeat` times, so every claim sees the same 1,000 due runs;
- the latest 50 runs: all, by state (FAILED; SCHEDULED), by deployment;
- `flow-run why` of a scheduled run (deploytool.core.why.explain), for information.

Target (issue 7, item 7): the median of the claim and of each listing under 10 ms.
Exit status: 0 when every target is met, 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchlib import Stats, machine, ms, print_table

from deploytool import jobvars
from deploytool.core.why import explain
from deploytool.models import Deployment, FlowRun, RunState, WorkPool, new_id
from deploytool.store import Store, backend_of, migrate_store, redact_url

TARGET_MS = 10.0
POOL = "bench"
DEPLOYMENTS = 20
NOW = datetime.now(UTC).replace(microsecond=0)
FINISHED = (RunState.COMPLETED, RunState.FAILED, RunState.CRASHED, RunState.CANCELLED)


def _deployments(store: Store) -> list[Deployment]:
    made = []
    for i in range(DEPLOYMENTS):
        limit = {"limit": 5, "collision_strategy": "ENQUEUE"} if i % 5 == 0 else None
        queue = "low" if i % 3 == 0 else "default"
        deployment = Deployment("bench", f"d{i:02d}", "flows.py:bench", POOL, queue_name=queue, concurrency_limit=limit)
        made.append(store.deployments.upsert(deployment)[0])
    return made


def _runs(deployments: list[Deployment], finished: int, scheduled: int) -> Iterator[FlowRun]:
    start = NOW - timedelta(seconds=finished + scheduled + 10)
    for i in range(finished + scheduled):
        d = deployments[i % len(deployments)]
        created = start + timedelta(seconds=i)
        done = i < finished
        yield FlowRun(
            flow_name=d.flow_name,
            deployment_name=d.name,
            pool_name=POOL,
            deployment_id=d.id,
            name=f"{d.name}-{i:07d}",
            queue_name=d.queue_name,
            state=FINISHED[i % len(FINISHED)] if done else RunState.SCHEDULED,
            state_message="done" if done else None,
            scheduled_time=created,
            start_time=created if done else None,
            end_time=created + timedelta(seconds=1) if done else None,
            id=new_id(),
            created=created,
        )


def _time(repeat: int, action: Callable[[], object], after: Callable[[object], object] | None = None) -> Stats:
    stats = Stats()
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        stats.samples.append(time.perf_counter() - began)
        if after is not None:
            after(result)
    return stats


def _open_empty(url: str) -> Store:
    if backend_of(url) == "postgresql":
        migrate_store(url)
    store = Store.open(url)
    if any(store.table_counts().values()):
        store.close()
        raise SystemExit(f"bench_store: {redact_url(url)} is not empty; give it an empty database")
    return store


def throughput(url: str, runs: int, workers: int = 3) -> dict[str, object]:
    """`workers` worker processes execute `runs` trivial runs from the store at `url`; runs/s, exactly once."""
    with tempfile.TemporaryDirectory(prefix="deploytool-bench-tp-") as tmp, _open_empty(url) as store:
        project, ledger = Path(tmp), Path(tmp) / "ledger"
        (project / "flow.py").write_text(
            "import os\nfrom deploytool import flow\n\n\n@flow\ndef main():\n"
            f"    fd = os.open({str(ledger)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
            "    os.write(fd, (os.environ['DEPLOYTOOL_RUN_ID'] + '\\n').encode())\n    os.close(fd)\n"
        )
        store.pools.create(WorkPool("tp", "process", base_job_template=jobvars.default_base_job_template("process")))
        d, _ = store.deployments.upsert(
            Deployment("tp", "d", "flow.py:main", "tp", source_file=str(project / "deploy.yaml"))
        )
        store.runs.insert_many(
            FlowRun("tp", "d", "tp", d.id, id=new_id(), name=f"tp-{i}", scheduled_time=NOW) for i in range(runs)
        )
        env = {**os.environ, "DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": tmp}
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "deploytool",
                    "worker",
                    "start",
                    "--pool",
                    "tp",
                    "--name",
                    f"w{i}",
                    "--limit",
                    "4",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(workers)
        ]
        try:
            while store.runs.list(state=[RunState.SCHEDULED, RunState.PENDING, RunState.RUNNING], limit=1):
                time.sleep(0.2)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(60)
        done = store.runs.list(limit=runs + 10)
        starts = [r.start_time for r in done if r.start_time]
        ends = [r.end_time for r in done if r.end_time]
        seconds = (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")
        executed = ledger.read_text().split() if ledger.exists() else []
        return {
            "backend": store.backend,
            "runs": runs,
            "workers": workers,
            "completed": sum(1 for r in done if r.state is RunState.COMPLETED),
            "executed_once": len(executed) == runs and sorted(executed) == sorted(r.id for r in done),
            "seconds": round(seconds, 1),
            "runs_per_second": round(runs / seconds, 2) if seconds else None,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="an empty store to measure (default: a temporary SQLite file)")
    parser.add_argument("--finished", type=int, default=100_000)
    parser.add_argument("--scheduled", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--throughput", type=int, default=0, help="runs for the 3-worker throughput check (0: none)")
    parser.add_argument("--throughput-store", help="an empty store for it (default: a temporary SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deploytool-bench-store-") as home:
        url = args.store or f"sqlite:///{Path(home) / 'deploytool.db'}"
        tp_url = args.throughput_store or f"sqlite:///{Path(home) / 'throughput.db'}"
        with _open_empty(url) as store:
            measured = _measure(store, args)
        tp = throughput(tp_url, args.throughput) if args.throughput else None
    return _report(args, url, measured, tp)


def _measure(store: Store, args: argparse.Namespace) -> tuple[int, float, dict[str, tuple[Stats, bool]]]:
    store.pools.create(WorkPool(POOL, "process"))
    store.queues.create(POOL, "low")  # priority 2: served after default
    deployments = _deployments(store)
    began = time.perf_counter()
    inserted = store.runs.insert_many(_runs(deployments, args.finished, args.scheduled))
    fill = time.perf_counter() - began
    waiting = store.runs.list(state=RunState.SCHEDULED, limit=1)[0]

    def put_back(run: object) -> None:
        assert isinstance(run, FlowRun), "nothing was claimed"
        store.runs.set_state(run.id, RunState.SCHEDULED, "put back by the benchmark")

    d = deployments[7]
    checks: dict[str, tuple[Stats, bool]] = {
        "claim_next (then put back)": (
            _time(args.repeat, lambda: store.runs.claim_next(POOL, None, "bench-worker", 30, NOW), put_back),
            True,
        ),
        "latest 50": (_time(args.repeat, lambda: store.runs.list(limit=50)), True),
        "latest 50 FAILED": (_time(args.repeat, lambda: store.runs.list(state=RunState.FAILED, limit=50)), True),
        "latest 50 SCHEDULED": (
            _time(args.repeat, lambda: store.runs.list(state=RunState.SCHEDULED, limit=50)),
            True,
        ),
        "latest 50 of a deployment": (
            _time(args.repeat, lambda: store.runs.list(deployment_id=d.id, limit=50)),
            True,
        ),
        "flow-run why (info)": (_time(args.repeat, lambda: explain(store, waiting.id, NOW)), False),
    }
    return inserted, fill, checks


def _report(
    args: argparse.Namespace,
    url: str,
    measured: tuple[int, float, dict[str, tuple[Stats, bool]]],
    tp: dict[str, object] | None,
) -> int:
    inserted, fill, checks = measured
    failed = [name for name, (stats, target) in checks.items() if target and stats.median * 1000 >= TARGET_MS]
    if tp is not None and not tp["executed_once"]:
        failed.append("throughput: every run executed exactly once")
    if args.json:
        report = {
            "machine": machine(),
            "store": redact_url(url),
            "finished_runs": args.finished,
            "scheduled_runs": args.scheduled,
            "fill_seconds": round(fill, 2),
            "target_ms": TARGET_MS,
            "results": {name: {**stats.to_json(), "target": target} for name, (stats, target) in checks.items()},
            "throughput": tp,
            "ok": not failed,
        }
        print(json.dumps(report, indent=2))
    else:
        print(f"store: {redact_url(url)}")
        print(f"{inserted:,} runs ({args.finished:,} finished, {args.scheduled:,} scheduled) inserted in {fill:.1f}s")
        rows = [
            [
                name,
                f"{stats.min * 1000:.2f}",
                f"{stats.median * 1000:.2f}",
                f"{stats.p90 * 1000:.2f}",
                f"< {ms(TARGET_MS / 1000)}" if target else "-",
                ("PASS" if stats.median * 1000 < TARGET_MS else "FAIL") if target else "",
            ]
            for name, (stats, target) in checks.items()
        ]
        print_table(["operation", "min ms", "median ms", "p90 ms", "target", "result"], rows)
        if tp is not None:
            print(
                f"throughput ({tp['backend']}): {tp['workers']} workers, {tp['runs']} runs,"
                f" {tp['completed']} completed,"
                f" exactly once: {tp['executed_once']}, {tp['seconds']} s, {tp['runs_per_second']} runs/s"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
