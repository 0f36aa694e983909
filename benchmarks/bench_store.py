"""The store at scale: claiming the next run and listing the latest 50 with 100,000 finished runs stored.

    .venv/bin/python benchmarks/bench_store.py [--finished 100000] [--scheduled 1000] [--repeat 200] [--json]

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
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchlib import Stats, machine, ms, print_table

from deploytool.core.why import explain
from deploytool.models import Deployment, FlowRun, RunState, WorkPool, new_id
from deploytool.store import Store

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finished", type=int, default=100_000)
    parser.add_argument("--scheduled", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="deploytool-bench-store-") as home,
        Store.open(Path(home) / "deploytool.db") as store,
    ):
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
    failed = [name for name, (stats, target) in checks.items() if target and stats.median * 1000 >= TARGET_MS]
    if args.json:
        report = {
            "machine": machine(),
            "finished_runs": args.finished,
            "scheduled_runs": args.scheduled,
            "fill_seconds": round(fill, 2),
            "target_ms": TARGET_MS,
            "results": {name: {**stats.to_json(), "target": target} for name, (stats, target) in checks.items()},
            "ok": not failed,
        }
        print(json.dumps(report, indent=2))
    else:
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
