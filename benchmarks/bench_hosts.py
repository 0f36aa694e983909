"""Several hosts sharing one PostgreSQL server: pickup and follow latency across hosts (issue 13 item 1).

    .venv/bin/python benchmarks/bench_hosts.py [--runs N] [--idle-seconds S] [--loopback] [--json]

Starts a PostgreSQL server of its own (tests/store/pg_cluster.py: initdb into a temporary folder, as the system
user `deploytool-pg` when run as root) and three "hosts" that share nothing but that server: each is a network
namespace with an address of its own on a private /24 (tests/hosts/helpers.py; needs root and `ip`), with its
own DEPLOYTOOL_HOME and its own processes. `--loopback` (or a machine where namespaces cannot be made) uses
separate processes and homes on 127.0.0.1 instead, and says so.

- host `ci` creates the pool, deploys one flow and queues each run with `deploytool run latency/latency`;
- host `worker` runs `deploytool worker start --pool bench` (default options: 0.1 s poll, 1 s idle pause);
- host `laptop` follows each run with `deploytool flow-run watch RUN`, started when `run` has returned.

Measured, per run (all hosts read the same clock: they are namespaces of one machine):

- pickup: from the moment `deploytool run` RETURNS on `ci` to the flow's first statement on `worker` (the flow
  writes `time.time()` to a file first thing); target median < 0.3 s. Negative when the flow started before the
  command had exited (its exit, and the namespace's teardown, take longer than the pickup); so the time from
  the run's creation (its `created` stamp, taken before the commit) to that first line is shown too;
- follow: the flow then prints stamped lines 0.25 s apart; for each, the time from the flow's print to the line
  arriving on `laptop`'s terminal (the watch's stdout); and from the run's recorded end to the final state line
  on `laptop`; target median < 0.5 s for both;
- idle worker: its CPU (user+system) over S seconds with nothing queued, as % of one core; target < 0.2 %.

Exit status: 0 when every target is met, 1 when one is missed, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from benchlib import REPO_ROOT, BenchError, machine, ms, print_table

sys.path.insert(0, str(REPO_ROOT))  # the tests' PostgreSQL cluster and namespace helpers, written once

PICKUP_TARGET_S = 0.3
FOLLOW_TARGET_S = 0.5
IDLE_CPU_TARGET = 0.2
LINES = 5  # stamped lines per run
PRINT_DELAY_S = 2.0  # the flow waits this long before its stamped lines: the watch is running by then

FLOW = f"""import os, sys, time
from deploytool import flow


@flow
def latency(out: str) -> None:
    stamp = time.time()
    with open(os.path.join(out, os.environ["DEPLOYTOOL_RUN_ID"]), "w") as fh:
        fh.write(repr(stamp))
    time.sleep({PRINT_DELAY_S})
    for n in range({LINES}):
        print(f"stamp {{time.time()!r}}", flush=True)
        time.sleep(0.25)
"""

PROJECT = """deployments:
  - name: latency
    entrypoint: flow.py:latency
    parameters: {{out: "{out}"}}
    work_pool: {{name: bench}}
"""


@dataclass
class LoopHost:
    """A "host" on loopback: its own DEPLOYTOOL_HOME and processes, nothing else of its own."""

    name: str
    folder: Path
    env: dict[str, str]

    def command(self, argv: Sequence[str]) -> list[str]:
        return list(argv)


class Host(Protocol):
    """What the benchmark needs of a host (tests.hosts.helpers.Host, or LoopHost)."""

    name: str
    folder: Path
    env: dict[str, str]

    def command(self, argv: Sequence[str]) -> list[str]: ...


@dataclass
class Hosts:
    url: str
    kind: str  # "network namespaces" or "loopback"
    ci: Host
    worker: Host
    laptop: Host
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _deploytool(host: Host, *args: str, cwd: Path | None = None) -> str:
    argv = host.command([sys.executable, "-m", "deploytool", *args])
    done = subprocess.run(argv, env=host.env, cwd=cwd or host.folder, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{host.name}: deploytool {' '.join(args)} exited {done.returncode}: {done.stderr[-500:]}")
    return done.stdout


def _database(cluster: object, host_address: str) -> str:
    from deploytool.store.postgres import migrate_postgres

    cluster.sql("CREATE DATABASE bench")  # type: ignore[attr-defined]
    local = cluster.url("bench")  # type: ignore[attr-defined]
    migrate_postgres(local)
    return local.replace("127.0.0.1", host_address)


@contextlib.contextmanager
def hosts(loopback: bool, root: Path) -> Iterator[Hosts]:
    from tests.hosts.helpers import network, why_no_namespaces
    from tests.store import pg_cluster

    why = "--loopback given" if loopback else why_no_namespaces()
    base = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYTOOL_")}
    if why is None:
        with network(root / "net") as net:
            cluster = pg_cluster.start(listen=(net.gateway,), trusted=(net.cidr,))
            try:
                url = _database(cluster, net.gateway)
                env = {**base, "DEPLOYTOOL_STORE_URL": url, "NO_COLOR": "1"}
                made = [net.add_host(name, env) for name in ("ci", "worker", "laptop")]
                yield Hosts(url, "network namespaces (one veth each, a bridge to the server)", *made)
            finally:
                cluster.stop()
        return
    print(f"note: hosts are processes on loopback ({why})", file=sys.stderr)
    cluster = pg_cluster.start()
    try:
        url = _database(cluster, "127.0.0.1")
        made = []
        for name in ("ci", "worker", "laptop"):
            folder = root / name
            folder.mkdir(parents=True)
            env = {**base, "DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(folder / ".deploytool")}
            made.append(LoopHost(name, folder, {**env, "HOME": str(folder), "NO_COLOR": "1"}))
        yield Hosts(url, f"processes on loopback ({why})", *made)
    finally:
        cluster.stop()


def _child_pid(pid: int) -> int:
    """The process that `pid` started (a namespace's `unshare` runs the command as its child), else `pid`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                return int(stat.parent.name)
    return pid


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_file(path: Path, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return float(path.read_text())
        time.sleep(0.002)
    raise BenchError(f"the flow did not write {path} within {timeout:g}s")


class Watch:
    """`deploytool flow-run watch RUN` on a host; every line of its stdout and stderr with its arrival time."""

    def __init__(self, host: Host, run_id: str) -> None:
        argv = host.command([sys.executable, "-m", "deploytool", "flow-run", "watch", run_id])
        self.proc = subprocess.Popen(
            argv, env=host.env, cwd=host.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.lines: list[tuple[float, str]] = []
        self._readers = [threading.Thread(target=self._read, args=(s,), daemon=True) for s in self._streams()]
        for reader in self._readers:
            reader.start()

    def _streams(self) -> list[object]:
        return [self.proc.stdout, self.proc.stderr]

    def _read(self, stream: object) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            self.lines.append((time.time(), raw.decode(errors="replace").rstrip()))

    def finish(self, timeout: float = 120) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.proc.kill()
            raise BenchError(f"flow-run watch did not end: {self.lines[-5:]}") from exc
        for reader in self._readers:
            reader.join(10)


STAMP = re.compile(r"stamp (\d+\.\d+)")


def _one_run(h: Hosts, store: object, out: Path, project: Path) -> tuple[float, float, list[float], float]:
    """(pickup, from creation to first line, follow latencies of the stamped lines, end state latency)."""
    created = _deploytool(h.ci, "run", "latency/latency", cwd=project)
    returned = time.time()
    found = re.search(r"\(([0-9a-f]{32})\)", created)
    if found is None:
        raise BenchError(f"no run id in: {created}")
    run_id = found.group(1)
    watch = Watch(h.laptop, run_id)
    first_line = _wait_file(out / run_id, 60)
    watch.finish()
    follow = [arrived - float(m.group(1)) for arrived, text in watch.lines if (m := STAMP.search(text))]
    if len(follow) != LINES:
        raise BenchError(f"the watch showed {len(follow)} of {LINES} stamped lines: {watch.lines}")
    run = store.runs.get(run_id)  # type: ignore[attr-defined]
    assert isinstance(run.end_time, datetime)
    final = [arrived for arrived, text in watch.lines if text.startswith("Flow run ") and "COMPLETED" in text]
    if not final:
        raise BenchError(f"the watch did not show the run COMPLETED: {watch.lines[-5:]}")
    created_to_first = first_line - run.created.timestamp()
    return first_line - returned, created_to_first, follow, final[0] - run.end_time.timestamp()


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def measure(args: argparse.Namespace) -> dict[str, object]:
    from deploytool.store import Store

    with tempfile.TemporaryDirectory(prefix="bench-hosts-") as tmp, hosts(args.loopback, Path(tmp)) as h:
        out = Path(tmp) / "stamps"
        out.mkdir(mode=0o777)
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "flow.py").write_text(FLOW)
        (project / "deploy.yaml").write_text(PROJECT.format(out=out))
        _say(f"hosts ready ({h.kind}); deploying from ci")
        _deploytool(h.ci, "work-pool", "create", "bench", "--type", "process")
        _deploytool(h.ci, "deploy", cwd=project)
        worker_argv = h.worker.command([sys.executable, "-m", "deploytool", "worker", "start", "--pool", "bench"])
        log = (h.worker.folder / "worker.log").open("wb")
        worker = subprocess.Popen(worker_argv, env=h.worker.env, cwd=h.worker.folder, stdout=log, stderr=log)
        try:
            with Store.open(h.url) as store:  # this machine reaches the server on the hosts' network too
                deadline = time.monotonic() + 60
                while not store.workers.list():
                    if time.monotonic() > deadline or worker.poll() is not None:
                        raise BenchError("the worker did not start: " + (h.worker.folder / "worker.log").read_text())
                    time.sleep(0.05)
                time.sleep(1.0)  # it idles now: its pause has grown, it waits for a notification
                _say(f"worker up; idle CPU over {args.idle_seconds:g} s")
                pid = _child_pid(worker.pid)
                before = _cpu_seconds(pid)
                time.sleep(args.idle_seconds)
                idle_cpu = (_cpu_seconds(pid) - before) / args.idle_seconds * 100
                pickups: list[float] = []
                queued: list[float] = []
                follows: list[float] = []
                finals: list[float] = []
                _say(f"{args.runs} runs")
                for _ in range(args.runs):
                    time.sleep(1.5)  # the worker is idle again (its pause back at its longest)
                    pickup, from_created, follow, final = _one_run(h, store, out, project)
                    pickups.append(pickup)
                    queued.append(from_created)
                    follows += follow
                    finals.append(final)
        finally:
            worker.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(60)
            if worker.poll() is None:
                worker.kill()
            log.close()
        return {
            "hosts": h.kind,
            "runs": args.runs,
            "pickup": pickups,
            "created_to_first_line": queued,
            "follow": follows,
            "final_state": finals,
            "idle_cpu_percent": idle_cpu,
            "idle_seconds": args.idle_seconds,
        }


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


_FIGURES = (statistics.median, _p90, min, max)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--loopback", action="store_true", help="hosts as processes on 127.0.0.1, no namespaces")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        result = measure(args)
    except (BenchError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"bench_hosts: cannot run: {exc}", file=sys.stderr)
        return 2
    pickup, queued, follow, final = (result[k] for k in ("pickup", "created_to_first_line", "follow", "final_state"))
    assert isinstance(pickup, list) and isinstance(queued, list) and isinstance(follow, list)
    assert isinstance(final, list)
    idle = float(result["idle_cpu_percent"])  # type: ignore[arg-type]
    checks = [
        ("pickup: `run` returned on ci -> flow's first line on worker", pickup, PICKUP_TARGET_S),
        ("follow: line printed on worker -> shown on laptop", follow, FOLLOW_TARGET_S),
        ("state: run ended (recorded) -> shown on laptop", final, FOLLOW_TARGET_S),
    ]
    missed = [name for name, values, target in checks if statistics.median(values) >= target]
    if idle >= IDLE_CPU_TARGET:
        missed.append("idle worker CPU")
    if args.json:
        print(json.dumps({**result, "machine": machine(), "missed": missed}, indent=2))
    else:
        print(f"hosts: {result['hosts']}; {result['runs']} runs; machine: {machine()}")
        rows = [
            [name, ms(statistics.median(v)), ms(_p90(v)), ms(min(v)), ms(max(v)), f"< {ms(t)}"] for name, v, t in checks
        ]
        rows.insert(1, ["(run created on ci -> flow's first line)", *[ms(f(queued)) for f in _FIGURES], ""])
        print_table(["measure (ms)", "median", "p90", "min", "max", "target"], rows)
        print(f"idle worker ({args.idle_seconds:g} s): {idle:.3f} % of a core (target < {IDLE_CPU_TARGET} %)")
        if missed:
            print(f"MISSED: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
