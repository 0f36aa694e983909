"""The systemd unit of a worker, as `deploytool worker service --pool P` prints it (docs/worker-service.md).

What the unit must get right is what the worker does on SIGTERM (worker/signals.py): it stops claiming, lets its
runs finish for the shutdown grace, stops what is left (SIGTERM, stop grace, SIGKILL) and records every outcome.
So systemd sends SIGTERM to the worker alone (`KillMode=mixed`: the runs of a process pool are its children) and
waits longer than both graces before it kills anything. Plain text: no systemd needed to make it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deploytool.worker import options

DEFAULT_ENV_FILE = "/etc/deploytool/worker.env"
DEFAULT_USER = "deploytool"
STOP_MARGIN_SECONDS = 10  # on top of shutdown grace + stop grace: time to record the outcomes and exit
RESTART_SECONDS = 5


@dataclass(frozen=True)
class ServiceSpec:
    """What goes into one worker's unit. `name` None: `<host>-<pool>` (systemd's %H), fixed across restarts."""

    executable: str  # the absolute path of the deploytool command
    pool: str
    name: str | None = None
    user: str = DEFAULT_USER
    env_file: str = DEFAULT_ENV_FILE
    queues: tuple[str, ...] = ()
    limit: int | None = None
    heartbeat_seconds: float = options.DEFAULT_HEARTBEAT_SECONDS
    shutdown_grace_seconds: float = options.DEFAULT_SHUTDOWN_GRACE_SECONDS
    stop_grace_seconds: float = options.DEFAULT_STOP_GRACE_SECONDS
    metrics_port: int | None = None

    @property
    def timeout_stop_seconds(self) -> int:
        """systemd's TimeoutStopSec: longer than the worker's whole drain, so it never kills a draining worker."""
        return math.ceil(self.shutdown_grace_seconds + self.stop_grace_seconds) + STOP_MARGIN_SECONDS

    def problems(self) -> list[str]:
        """What makes this unit unusable (empty when it is fine)."""
        found = []
        if not self.executable.startswith("/"):
            found.append(f"the deploytool executable must be an absolute path, not {self.executable!r}")
        worker = options.WorkerOptions(
            pool=self.pool,
            name=self.name or "host",
            queues=self.queues or None,
            limit=self.limit or 1,
            heartbeat_seconds=self.heartbeat_seconds,
            shutdown_grace_seconds=self.shutdown_grace_seconds,
            stop_grace_seconds=self.stop_grace_seconds,
        )
        found += worker.problems()
        for label, value in (("--pool", self.pool), ("--user", self.user), ("--env-file", self.env_file)):
            if not value or any(not c.isprintable() for c in value):
                found.append(f"{label} {value!r} must be non-empty and printable")
        if self.env_file and not self.env_file.startswith("/"):
            found.append(f"--env-file must be an absolute path, not {self.env_file!r}")
        return found


def _escape(value: str) -> str:
    """Literal text in ExecStart: systemd's specifiers (%) and variables ($) doubled."""
    return value.replace("%", "%%").replace("$", "$$")


def _quote(escaped: str) -> str:
    """One ExecStart argument, in double quotes when it holds spaces, quotes, backslashes or a semicolon."""
    if escaped and not any(c in escaped for c in " \t\"'\\;"):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _arg(value: str) -> str:
    return _quote(_escape(value))


def _seconds(value: float) -> str:
    return f"{value:g}"


def exec_start(spec: ServiceSpec) -> str:
    """The ExecStart line's command: `worker start` with the unit's settings."""
    name = _arg(spec.name) if spec.name else _quote(f"%H-{_escape(spec.pool)}")
    parts = [_arg(spec.executable), "worker", "start", "--pool", _arg(spec.pool), "--name", name]
    for queue in spec.queues:
        parts += ["--work-queue", _arg(queue)]
    if spec.limit is not None:
        parts += ["--limit", str(spec.limit)]
    if spec.heartbeat_seconds != options.DEFAULT_HEARTBEAT_SECONDS:
        parts += ["--heartbeat-seconds", _seconds(spec.heartbeat_seconds)]
    parts += ["--shutdown-grace", _seconds(spec.shutdown_grace_seconds)]
    parts += ["--stop-grace", _seconds(spec.stop_grace_seconds)]
    if spec.metrics_port is not None:
        parts += ["--metrics-port", str(spec.metrics_port)]
    return " ".join(parts)


def unit_file_name(spec: ServiceSpec) -> str:
    """Where the unit goes: `deploytool-worker-<pool>.service` (characters systemd would refuse become '-')."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in spec.pool)
    return f"deploytool-worker-{safe}.service"


def render(spec: ServiceSpec) -> str:
    """The unit's text, with a header that says how to install it and what its environment file holds."""
    unit = unit_file_name(spec)
    shutdown, stop = _seconds(spec.shutdown_grace_seconds), _seconds(spec.stop_grace_seconds)
    drain = _seconds(spec.shutdown_grace_seconds + spec.stop_grace_seconds)
    return f"""\
# {unit}: a deploytool worker for pool {spec.pool!r} (made by `deploytool worker service`).
# Install it: save this text as /etc/systemd/system/{unit}, then
#   systemctl daemon-reload && systemctl enable --now {unit}
# {spec.env_file} (owned by root, chmod 600: systemd reads it before it drops to User=) holds:
#   DEPLOYTOOL_STORE_URL=postgresql://USER:PASSWORD@DB-HOST:5432/DATABASE   (the shared store)
#   DEPLOYTOOL_SECRET_KEY=...   (the key that decrypts block secrets at launch; or DEPLOYTOOL_SECRET_KEY_FILE=PATH)
# and, for a docker pool on another daemon, DOCKER_HOST (docs/docker.md).
[Unit]
Description=deploytool worker for pool {spec.pool.replace("%", "%%")}
Wants=network-online.target
After=network-online.target docker.service

[Service]
Type=simple
User={spec.user}
EnvironmentFile={spec.env_file}
ExecStart={exec_start(spec)}
# Stop = drain: SIGTERM to the worker only (a process pool's runs are its children); it stops claiming, lets
# its runs finish ({shutdown} s), stops what is left ({stop} s) and records every outcome ({drain} s in all).
# systemd waits longer than that before it kills what is left.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec={spec.timeout_stop_seconds}
Restart=on-failure
RestartSec={RESTART_SECONDS}
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
"""
