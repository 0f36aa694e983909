"""The `docker` pool type: each run is a container on the Docker daemon `docker.from_env()` finds (`DOCKER_HOST`).

`start` makes sure the image is there (image_pull_policy), creates the container from the job configuration
(deploytool.infra.docker_config), starts it, then follows it with two threads: one blocks in the daemon's
`wait` for the exit code, one streams the container's stdout and stderr to `on_output` line by line. Docker's own
AutoRemove is never used: it would race reading the exit code, the OOM flag and the last output. `wait`/`stop`
remove nothing: with `auto_remove: true` the worker calls `release` once the run's outcome and logs are
recorded, which removes the container then, or keeps a FAILED/CRASHED run's for `keep_failed_hours` (the worker's
sweep and `worker prune` remove it later). A container whose worker died meanwhile keeps its labels, so a
restarted worker finds it (`find_containers`), `attach`es to it and finishes the job. The exit code is the
container's (137 SIGKILL, 143 SIGTERM); an out-of-memory kill is reported by `DockerOutcome.oom_killed`.
The handle and its threads are in deploytool.infra.docker_follow. See docs/docker.md.

The Docker SDK is imported inside functions only: a process worker and the CLI never load it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from deploytool.errors import InfraError
from deploytool.infra.base import FoundJob, Job, JobInfo, JobOwner, LineSink
from deploytool.infra.docker_api import connect, create_container, daemon_problem, docker_errors, ensure_image
from deploytool.infra.docker_config import (
    AUTO_REMOVE_LABEL,
    KEEP_FAILED_LABEL,
    POOL_LABEL,
    RUN_ID_LABEL,
    WORKER_LABEL,
    plan_container,
)
from deploytool.infra.docker_follow import (
    OUTPUT_DRAIN_SECONDS,
    DockerHandle,
    DockerOutcome,
    oom_killed,
    read_logs,
    read_state,
    wait_exit,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContainerInfo:
    """A run's container as found by its labels: for a restarted worker to reconcile its runs."""

    run_id: str
    container_id: str
    name: str
    status: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int | None  # None while it runs
    oom_killed: bool
    labels: dict[str, str]

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused", "restarting", "created")


class DockerInfrastructure:
    """Runs jobs as Docker containers. Implements deploytool.infra.base.Infrastructure[DockerHandle] and, since
    containers outlive their worker, OutlivingJobs[DockerHandle] (its `outliving` is itself).

    The owner's worker and pool names (or `worker_name` and `pool_name`) become the containers'
    `org.deploytool.worker` / `.pool` labels, which `find`/`find_containers` search. `client` is for tests; by
    default `docker.from_env()` is called on first use.
    """

    def __init__(
        self,
        owner: JobOwner | None = None,
        *,
        worker_name: str | None = None,
        pool_name: str | None = None,
        client: Any = None,
    ) -> None:
        self.worker_name = owner.worker_name if owner is not None else worker_name
        self.pool_name = owner.pool_name if owner is not None else pool_name
        self._client = client
        self._client_lock = threading.Lock()

    @property
    def outliving(self) -> DockerInfrastructure:
        return self

    def problem(self) -> str | None:
        """None when the Docker daemon answers a ping; else what it said (or that it did not answer)."""
        return daemon_problem(lambda: self.client)

    def describe(self, handle: DockerHandle) -> JobInfo:
        """The container's id, and `container NAME (SHORT ID)`."""
        return JobInfo(handle.container_id, f"container {handle.name} ({handle.container_id[:12]})")

    def find(self, pool_name: str) -> list[FoundJob]:
        """The pool's run containers (running or exited), as FoundJob."""
        return [
            FoundJob(
                run_id=c.run_id,
                job_id=c.container_id,
                name=c.name,
                owner=c.labels.get(WORKER_LABEL),
                status=c.status,
                running=c.running,
                exit_code=c.exit_code,
                auto_remove=c.labels.get(AUTO_REMOVE_LABEL) == "true",
                started=c.status != "created",
                keep_failed_hours=_hours(c.labels.get(KEEP_FAILED_LABEL)),
            )
            for c in self.find_containers(pool_name=pool_name)
        ]

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = connect()
            return self._client

    def start(self, job: Job, on_output: LineSink) -> DockerHandle:
        """Pull the image if the policy says so, create and start the container, follow its exit and output."""
        plan = plan_container(
            job.run_id, job.configuration, job.env, worker_name=self.worker_name, pool_name=self.pool_name
        )
        client = self.client
        ensure_image(client, plan)
        container = create_container(client, plan)
        try:
            with docker_errors(f"starting container {container.name} of run {job.run_id}"):
                for network in plan.networks[1:]:
                    client.networks.get(network).connect(container)
                container.start()
        except BaseException:
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
            raise
        log.info(
            "run %s: started container %s (%s) from %s", job.run_id, container.name, container.short_id, plan.image
        )
        return self._follow(container.id, container.name, job.run_id, plan.auto_remove, on_output, since=None)

    def poll(self, handle: DockerHandle) -> int | None:
        """The container's exit code once it has exited, else None. Never blocks (the waiter thread asks Docker)."""
        return handle.exit_code if handle.ended.is_set() else None

    def wait(self, handle: DockerHandle, timeout: float | None = None) -> DockerOutcome | None:
        """Wait up to `timeout` seconds for the container to exit; then collect its output and outcome.

        The container stays: the worker `release`s it once the outcome is recorded.
        """
        if handle.outcome is not None:
            return handle.outcome
        if not handle.ended.wait(timeout):
            return None
        return self._finish(handle)

    def stop(self, handle: DockerHandle, grace_seconds: float) -> DockerOutcome:
        """`docker stop`: SIGTERM (the image's stop signal), `grace_seconds`, then SIGKILL. Blocks until it exited."""
        if handle.outcome is not None:
            return handle.outcome
        if not handle.ended.is_set():
            handle.stopped = True
            import docker.errors

            grace = max(0, math.ceil(grace_seconds))
            try:
                with docker_errors(f"stopping container {handle.name} of run {handle.run_id}"):
                    handle.client.api.stop(handle.container_id, timeout=grace)
            except InfraError as exc:
                if not isinstance(exc.__cause__, docker.errors.NotFound):
                    raise
            if not handle.ended.wait(grace + 30):
                read_state(handle)
        return self._finish(handle)

    def remove(self, job_id: str, grace_seconds: float = 0.0, *, stop_only: bool = False) -> None:
        """Stop a container that is no handle's (a leftover found by `find_containers`), then remove it.

        `docker stop` with `grace_seconds`, then `docker rm` unless `stop_only`. A container already gone is fine.
        """
        import docker.errors

        try:
            with docker_errors(f"stopping container {job_id[:12]}"):
                self.client.api.stop(job_id, timeout=max(0, math.ceil(grace_seconds)))
                if not stop_only:
                    self.client.api.remove_container(job_id, v=True, force=True)
        except InfraError as exc:
            if not isinstance(exc.__cause__, docker.errors.NotFound):
                raise

    def release(self, job_id: str, *, failed: bool) -> bool:
        """Remove the ended container of a run whose outcome and logs are recorded, as its labels say: under
        auto_remove, at once; a failed run's only when its keep_failed_hours is 0 (else later: the worker's sweep,
        `worker prune`). Returns whether it was removed. A container already gone is fine."""
        import docker.errors

        try:
            with docker_errors(f"removing container {job_id[:12]}"):
                attrs = self.client.api.inspect_container(job_id)
                labels = (attrs.get("Config") or {}).get("Labels") or {}
                if labels.get(AUTO_REMOVE_LABEL) != "true":
                    return False
                if failed and _hours(labels.get(KEEP_FAILED_LABEL)) > 0:
                    return False
                self.client.api.remove_container(job_id, v=True, force=True)
                log.info("removed container %s (%s)", str(attrs.get("Name") or "").lstrip("/"), job_id[:12])
                return True
        except InfraError as exc:
            if isinstance(exc.__cause__, docker.errors.NotFound):
                return False
            raise

    def find_containers(self, worker_name: str | None = None, pool_name: str | None = None) -> list[ContainerInfo]:
        """Every container of a deploytool run (running or exited) carrying these worker and pool labels."""
        filters = [RUN_ID_LABEL]
        if worker_name:
            filters.append(f"{WORKER_LABEL}={worker_name}")
        if pool_name:
            filters.append(f"{POOL_LABEL}={pool_name}")
        import docker.errors

        found = []
        with docker_errors("listing the runs' containers"):
            summaries = self.client.api.containers(all=True, filters={"label": filters})
            for summary in summaries:
                try:
                    attrs = self.client.api.inspect_container(summary["Id"])
                except docker.errors.NotFound:  # removed since it was listed
                    continue
                state = attrs.get("State") or {}
                status = str(state.get("Status") or "")
                labels = dict((attrs.get("Config") or {}).get("Labels") or {})
                found.append(
                    ContainerInfo(
                        run_id=labels.get(RUN_ID_LABEL, ""),
                        container_id=str(attrs["Id"]),
                        name=str(attrs.get("Name") or "").lstrip("/"),
                        status=status,
                        exit_code=int(state.get("ExitCode", -1)) if status in ("exited", "dead") else None,
                        oom_killed=bool(state.get("OOMKilled")),
                        labels=labels,
                    )
                )
        return found

    def attach(self, job_id: str, on_output: LineSink | None = None, *, since: float | None = None) -> DockerHandle:
        """A handle on an existing run container (running or exited), as `start` would have returned.

        Output is streamed from `since` (epoch seconds; None: from now on, so lines already stored are not
        repeated). `wait`/`stop` then work as for a started container.
        """
        with docker_errors(f"finding container {job_id}"):
            container = self.client.containers.get(job_id)
        labels = dict(container.labels or {})
        if RUN_ID_LABEL not in labels:
            raise InfraError(f"container {container.name} is not a deploytool run's container (no {RUN_ID_LABEL})")
        return self._follow(
            container.id,
            container.name,
            labels[RUN_ID_LABEL],
            labels.get(AUTO_REMOVE_LABEL) == "true",
            on_output or (lambda line: None),
            since=time.time() if since is None else since,
        )

    def _follow(
        self, container_id: str, name: str, run_id: str, auto_remove: bool, on_output: LineSink, since: float | None
    ) -> DockerHandle:
        handle = DockerHandle(
            run_id=run_id,
            container_id=container_id,
            name=name,
            auto_remove=auto_remove,
            client=connect(version=self.client.api.api_version),
        )
        threading.Thread(target=wait_exit, args=(handle,), name=f"wait-{run_id[:8]}", daemon=True).start()
        handle.reader = threading.Thread(
            target=read_logs, args=(handle, on_output, since), name=f"output-{run_id[:8]}", daemon=True
        )
        handle.reader.start()
        return handle

    def _finish(self, handle: DockerHandle) -> DockerOutcome:
        with handle.lock:
            if handle.outcome is not None:
                return handle.outcome
            if handle.reader is not None:
                handle.reader.join(OUTPUT_DRAIN_SECONDS)
                if handle.reader.is_alive():
                    log.warning("run %s: output still open after the container exited; not waiting", handle.run_id)
                    with contextlib.suppress(Exception):
                        handle.stream.close()
            code = -1 if handle.exit_code is None else handle.exit_code
            oom = oom_killed(handle, patient=code == 137 and not handle.stopped)
            handle.killed = handle.stopped and code == 137 and not oom
            with contextlib.suppress(Exception):
                handle.client.close()
            handle.outcome = DockerOutcome(
                exit_code=code,
                stopped=handle.stopped,
                killed=handle.killed,
                oom_killed=oom,
                container_id=handle.container_id,
                detail=handle.detail,
            )
            return handle.outcome


def _hours(label: str | None) -> float:
    """The keep_failed_hours label (absent, from an older deploytool, or unreadable: 0, removed at once)."""
    try:
        return max(0.0, float(label)) if label else 0.0
    except ValueError:
        return 0.0
