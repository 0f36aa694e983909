"""`deploytool worker start --metrics-port N`: Prometheus metrics, /healthz and /readyz over HTTP.

`WorkerMetrics` is the worker's observer (deploytool.worker.observer) that counts into a prometheus_client
registry of its own; `MetricsServer` serves it in a daemon thread. prometheus_client is imported only here, and
this module only when the option is given. docs/observability.md lists the metrics, a scrape config and alerts.

- `/metrics`: the Prometheus text format.
- `/healthz`: 200 while the worker's loop is alive (its last pass is younger than its lease), else 503; a store
  outage does not make it unhealthy (the loop goes on, and restarting would cut the runs in flight).
- `/readyz`: 200 when the store answers and the pool's infrastructure is reachable (the Docker daemon answers a
  ping for a docker pool), else 503 with the reason; checked on each request, from the server's own thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from deploytool.errors import DeploytoolError
from deploytool.models import FlowRun, RunState
from deploytool.store import Store
from deploytool.worker.loop import Worker

# Seconds from a run being due to being claimed: a healthy worker claims within a poll interval.
CLAIM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
DURATION_BUCKETS = (0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 12 * 3600.0)
FINISHED = {RunState.COMPLETED, RunState.FAILED, RunState.CRASHED, RunState.CANCELLED}


def _deployment(run: FlowRun) -> str:
    return f"{run.flow_name}/{run.deployment_name}"


class WorkerMetrics:
    """A WorkerObserver that counts into `registry`; see docs/observability.md for every metric."""

    def __init__(self, pool: str, worker: str, lease_seconds: float, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry()
        self.pool = pool
        self.lease_seconds = lease_seconds
        self._last_heartbeat: float | None = None  # time.monotonic() of the last beat
        self._last_tick: float | None = None  # time.monotonic() of the loop's last pass
        self._in_flight = 0
        self.claimed_total = Counter(
            "deploytool_worker_runs_claimed",
            "Runs this worker claimed.",
            ["pool", "deployment"],
            registry=self.registry,
        )
        self.finished_total = Counter(
            "deploytool_worker_runs_finished",
            "Runs this worker recorded as finished, by final state (completed, failed, crashed, cancelled).",
            ["pool", "deployment", "state"],
            registry=self.registry,
        )
        self.infrastructure_errors = Counter(
            "deploytool_worker_infrastructure_errors",
            "Runs that crashed before their job started (image missing, daemon unreachable, ...).",
            ["pool"],
            registry=self.registry,
        )
        self.claim_latency = Histogram(
            "deploytool_worker_claim_latency_seconds",
            "Seconds from a run's scheduled time to its claim by this worker.",
            ["pool"],
            buckets=CLAIM_BUCKETS,
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "deploytool_worker_run_duration_seconds",
            "Seconds from a run's start to its end, by final state.",
            ["pool", "deployment", "state"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        in_flight = Gauge(
            "deploytool_worker_runs_in_flight", "Runs this worker watches now.", ["pool"], registry=self.registry
        )
        in_flight.labels(pool).set_function(lambda: self._in_flight)
        age = Gauge(
            "deploytool_worker_last_heartbeat_age_seconds",
            "Seconds since this worker's last heartbeat (its leases are renewed with each).",
            ["pool"],
            registry=self.registry,
        )
        age.labels(pool).set_function(self.heartbeat_age)
        info = Gauge(
            "deploytool_worker_info", "The worker's name and pool.", ["pool", "worker"], registry=self.registry
        )
        info.labels(pool, worker).set(1)
        self.infrastructure_errors.labels(pool)  # present from the start, at 0

    # --- WorkerObserver ---------------------------------------------------------------------------------

    def ticked(self) -> None:
        self._last_tick = time.monotonic()

    def heartbeat(self, now: datetime) -> None:
        self._last_heartbeat = time.monotonic()

    def claimed(self, run: FlowRun, now: datetime) -> None:
        self.claimed_total.labels(self.pool, _deployment(run)).inc()
        self.claim_latency.labels(self.pool).observe(max(0.0, (now - run.scheduled_time).total_seconds()))

    def recorded(self, run: FlowRun) -> None:
        if run.state not in FINISHED:
            return
        state = run.state.value.lower()
        self.finished_total.labels(self.pool, _deployment(run), state).inc()
        if run.start_time is not None and run.end_time is not None:
            seconds = max(0.0, (run.end_time - run.start_time).total_seconds())
            self.run_duration.labels(self.pool, _deployment(run), state).observe(seconds)
        elif run.state is RunState.CRASHED:
            self.infrastructure_errors.labels(self.pool).inc()

    def active(self, count: int) -> None:
        self._in_flight = count

    # --- health -----------------------------------------------------------------------------------------

    def heartbeat_age(self) -> float:
        """Seconds since the last heartbeat (0 before the first: the worker is starting)."""
        return 0.0 if self._last_heartbeat is None else time.monotonic() - self._last_heartbeat

    def tick_age(self) -> float:
        """Seconds since the loop's last pass (0 before the first)."""
        return 0.0 if self._last_tick is None else time.monotonic() - self._last_tick

    def alive(self) -> bool:
        """The loop passes at least every second or so; a lease's length without one means it is stuck."""
        return self.tick_age() < self.lease_seconds


Check = Callable[[], str | None]  # None when ready, else why not


class MetricsServer:
    """/metrics, /healthz and /readyz on `address:port` in a daemon thread. `ready` runs for each /readyz."""

    def __init__(self, metrics: WorkerMetrics, address: str, port: int, ready: Check) -> None:
        self.metrics = metrics
        self.ready = ready
        handler = _handler(self)
        self.httpd = ThreadingHTTPServer((address, port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(server.metrics.registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                tick, beat = server.metrics.tick_age(), server.metrics.heartbeat_age()
                text = f"loop's last pass {tick:.1f}s ago, last heartbeat {beat:.1f}s ago\n"
                if server.metrics.alive():
                    self._send(200, f"ok: {text}".encode())
                else:
                    self._send(503, f"stuck: {text}".encode())
            elif path == "/readyz":
                try:
                    problem = server.ready()
                except Exception as exc:  # a check that breaks is a "not ready", never a dead server
                    problem = f"{type(exc).__name__}: {exc}"
                self._send(503 if problem else 200, f"{problem or 'ready'}\n".encode())
            else:
                self._send(404, b"not found: /metrics, /healthz, /readyz\n")

        def _send(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds would drown the worker's own log

    return Handler


def serve_worker_metrics(worker: Worker, address: str, port: int, open_store: Callable[[], Store]) -> MetricsServer:
    """Observe `worker` and serve its metrics on `address:port`; readiness opens its own store connection."""
    metrics = WorkerMetrics(worker.pool.name, worker.name, worker.options.lease)
    worker.observer = metrics
    pool_name, pool_type = worker.pool.name, worker.pool.type

    def ready() -> str | None:
        try:
            with open_store() as store:
                store.pools.get(pool_name)
        except DeploytoolError as exc:
            return f"store: {exc.message}"
        if pool_type == "docker":
            from deploytool.infra.docker_api import connect

            try:
                client = connect()
                try:
                    client.ping()
                finally:
                    client.close()
            except Exception as exc:  # docker raises several kinds: all mean "not reachable"
                return f"infrastructure: the Docker daemon did not answer: {exc}"
        return None

    try:
        server = MetricsServer(metrics, address, port, ready)
    except OSError as exc:
        raise DeploytoolError(
            f"--metrics-port {port}: cannot listen on {address}:{port}: {exc.strerror or exc}",
            hint="pick a free port, or another --metrics-address",
        ) from None
    return server.start()
