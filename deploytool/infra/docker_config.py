"""The `docker` job configuration turned into arguments for the Docker SDK's `containers.create()`.

Pure functions, no Docker SDK: they check the configuration and raise InfraError for what cannot work, so a bad
configuration fails its run with a message before anything is created. See docs/docker.md.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploytool.engine.spec import SPEC_ENV
from deploytool.errors import InfraError
from deploytool.infra.base import layer_env

DEFAULT_COMMAND = ["python", "-m", "deploytool.engine"]
PULL_POLICIES = ("Always", "IfNotPresent", "Never")

LABEL_PREFIX = "org.deploytool."
RUN_ID_LABEL = "org.deploytool.run-id"
DEPLOYMENT_LABEL = "org.deploytool.deployment"
FLOW_LABEL = "org.deploytool.flow"
WORKER_LABEL = "org.deploytool.worker"
POOL_LABEL = "org.deploytool.pool"
AUTO_REMOVE_LABEL = "org.deploytool.auto-remove"
KEEP_FAILED_LABEL = "org.deploytool.keep-failed-hours"
DEFAULT_KEEP_FAILED_HOURS = 24.0
"""How long a FAILED or CRASHED run's container is kept under auto_remove when its configuration does not say
(a pool created before `keep_failed_hours` existed)."""

# container_create_kwargs keys that would take the container out of the worker's hands, or that have a field.
REFUSED_KWARGS = {
    "detach": "the worker always starts the container in the background and follows it",
    "auto_remove": "use the `auto_remove` field: the worker removes the container after reading its exit code",
    "remove": "use the `auto_remove` field",
    "tty": "a TTY merges and rewrites the output the worker reads the engine's events from",
    "stdin_open": "the job has no input",
    "name": "use the `name` field",
    "image": "use the `image` field",
}
_MERGED_KWARGS = ("labels", "environment")  # merged with the worker's (the worker's keys win), not replaced
_FIELD_KWARGS = {  # configuration field -> create() keyword it becomes
    "command": "command",
    "network_mode": "network_mode",
    "volumes": "volumes",
    "mem_limit": "mem_limit",
    "memswap_limit": "memswap_limit",
    "privileged": "privileged",
}
_NAME_OK = re.compile(r"[^a-zA-Z0-9_.-]+")
_VOLUME_MODES = re.compile(r"^(ro|rw|z|Z|nocopy|[rs]?(shared|slave|private)|delegated|cached|consistent)(,.*)?$")


@dataclass(frozen=True)
class Credentials:
    """Registry credentials from the job configuration. `repr` never shows the password."""

    username: str
    password: str
    registry_url: str
    reauth: bool = True

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, registry_url={self.registry_url!r}, password=***)"


@dataclass(frozen=True)
class ContainerPlan:
    """Everything needed to create one run's container."""

    image: str
    pull_policy: str
    credentials: Credentials | None
    name: str
    networks: list[str]
    auto_remove: bool
    create_kwargs: dict[str, Any]

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.create_kwargs["labels"])


def keep_failed_hours(value: Any) -> float:
    """The `keep_failed_hours` job variable: a number of hours >= 0 (None: the default)."""
    if value is None:
        return DEFAULT_KEEP_FAILED_HOURS
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InfraError(
            f"keep_failed_hours must be a number of hours, 0 or more, not {value!r}",
            hint="e.g. keep_failed_hours: 24 (0 removes a failed run's container at once, like the others)",
        )
    return float(value)


def plan_container(
    run_id: str,
    config: Mapping[str, Any],
    job_env: Mapping[str, str],
    *,
    worker_name: str | None = None,
    pool_name: str | None = None,
    cwd: Path | None = None,
) -> ContainerPlan:
    """Check the job configuration and build the container's create() arguments. InfraError when it is wrong."""
    image = config.get("image")
    if not isinstance(image, str) or not image.strip():
        raise InfraError(
            "the job configuration has no image",
            hint="set job_variables.image to an image with Python and deploytool installed",
        )
    policy = config.get("image_pull_policy") or "IfNotPresent"
    if policy not in PULL_POLICIES:
        raise InfraError(f"image_pull_policy must be one of {', '.join(PULL_POLICIES)}, not {policy!r}")
    networks = _strings(config.get("networks"), "networks")
    names = _run_names(job_env)
    labels = build_labels(
        run_id, config.get("labels"), flow=names[0], deployment=names[1], worker=worker_name, pool=pool_name
    )
    auto_remove = config.get("auto_remove") is True
    labels[AUTO_REMOVE_LABEL] = "true" if auto_remove else "false"
    labels[KEEP_FAILED_LABEL] = f"{keep_failed_hours(config.get('keep_failed_hours')):g}"
    kwargs: dict[str, Any] = {
        "command": build_command(config.get("command")),
        "environment": build_env(config.get("env"), job_env),
        "labels": labels,
        "volumes": build_volumes(config.get("volumes"), cwd or Path.cwd()),
        "privileged": config.get("privileged") is True,
        "stdin_open": False,
        "tty": False,
    }
    for field in ("network_mode", "mem_limit", "memswap_limit"):
        value = config.get(field)
        if value not in (None, ""):
            kwargs[_FIELD_KWARGS[field]] = value if isinstance(value, (str, int)) else str(value)
    if networks:
        kwargs["network"] = networks[0]
    extra = config.get("container_create_kwargs") or {}
    if not isinstance(extra, Mapping):
        raise InfraError(f"container_create_kwargs must be a mapping, not {type(extra).__name__}")
    for key, value in extra.items():
        if key in REFUSED_KWARGS:
            raise InfraError(f"container_create_kwargs may not set {key!r}", hint=REFUSED_KWARGS[key])
        if key in _MERGED_KWARGS:
            if not isinstance(value, Mapping):
                raise InfraError(f"container_create_kwargs.{key} must be a mapping")
            kwargs[key] = {**{str(k): str(v) for k, v in value.items()}, **kwargs[key]}
        else:
            kwargs[str(key)] = value
    return ContainerPlan(
        image=image.strip(),
        pull_policy=policy,
        credentials=parse_credentials(config.get("registry_credentials")),
        name=container_name(config.get("name"), run_id, names[0]),
        networks=networks,
        auto_remove=auto_remove,
        create_kwargs=kwargs,
    )


def build_command(command: Any) -> list[str]:
    """The container's command: the configured one (a string is split like a shell would), or the engine."""
    if command in (None, "", []):
        return list(DEFAULT_COMMAND)
    if isinstance(command, str):
        return shlex.split(command)
    if isinstance(command, list) and all(isinstance(part, str) for part in command):
        return list(command)
    raise InfraError(f"the job configuration's command must be a string or a list of strings, not {command!r}")


def build_env(config_env: Any, job_env: Mapping[str, str]) -> dict[str, str]:
    """PYTHONUNBUFFERED=1, then the configuration's env (a null value drops a key), then the job's env.

    The worker's own environment is not passed: the container gets only what the job configuration says.
    """
    env = {"PYTHONUNBUFFERED": "1"}
    return layer_env(env, config_env, job_env)


def build_labels(
    run_id: str,
    config_labels: Any,
    *,
    flow: str | None,
    deployment: str | None,
    worker: str | None,
    pool: str | None,
) -> dict[str, str]:
    """The configuration's labels, then deploytool's own (which win: reconciliation relies on them)."""
    if config_labels is None:
        config_labels = {}
    if not isinstance(config_labels, Mapping):
        raise InfraError(f"the job configuration's labels must be a mapping, not {type(config_labels).__name__}")
    labels = {str(k): str(v) for k, v in config_labels.items()}
    ours = {
        RUN_ID_LABEL: run_id,
        FLOW_LABEL: flow,
        DEPLOYMENT_LABEL: deployment,
        WORKER_LABEL: worker,
        POOL_LABEL: pool,
    }
    labels.update({key: value for key, value in ours.items() if value})
    return labels


def build_volumes(volumes: Any, cwd: Path) -> list[str]:
    """`host:container[:mode]` strings; a relative host path (`./data`) is resolved against the worker's cwd."""
    result = []
    for spec in _strings(volumes, "volumes"):
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/"):
            raise InfraError(
                f"volume {spec!r} is not host_path:container_path[:mode]",
                hint="e.g. /data:/data:ro, ./cache:/cache, or a named volume: cache:/cache",
            )
        if len(parts) == 3 and not _VOLUME_MODES.match(parts[2]):
            raise InfraError(f"volume {spec!r} has an unknown mode {parts[2]!r}", hint="use ro or rw")
        if parts[0].startswith((".", "~")):
            parts[0] = str((cwd / Path(parts[0]).expanduser()).resolve())
        result.append(":".join(parts))
    return result


def container_name(configured: Any, run_id: str, flow: str | None) -> str:
    """A valid Docker name, unique per run: the configured name (or deploytool-<flow>) and the run id's start."""
    short = _NAME_OK.sub("", run_id)[:8] or "run"
    base = str(configured) if configured not in (None, "") else f"deploytool-{flow or 'run'}"
    base = _NAME_OK.sub("-", base).lstrip("-_.")[:60].rstrip("-_.")
    if not base:
        base = "deploytool"
    return base if short in base else f"{base}-{short}"


def parse_credentials(value: Any) -> Credentials | None:
    """registry_credentials as a Credentials; InfraError (never showing the password) when malformed."""
    if value in (None, {}):
        return None
    if not isinstance(value, Mapping):
        raise InfraError("registry_credentials must be a mapping with username, password and registry_url")
    missing = [key for key in ("username", "password", "registry_url") if not value.get(key)]
    if missing:
        raise InfraError(f"registry_credentials has no {', '.join(missing)}")
    return Credentials(
        username=str(value["username"]),
        password=str(value["password"]),
        registry_url=str(value["registry_url"]),
        reauth=value.get("reauth") is not False,
    )


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag or digest): `repo` -> latest; `host:5000/repo` keeps its port; `repo@sha256:...`."""
    if "@" in image:
        repository, digest = image.rsplit("@", 1)
        return repository, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = image.rsplit(":", 1)
        return repository, tag
    return image, "latest"


def _run_names(job_env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(flow name, deployment name) from the run spec the job carries, when it has one."""
    try:
        data = json.loads(job_env.get(SPEC_ENV, ""))
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    flow, deployment = data.get("flow_name"), data.get("deployment_name")
    return (flow if isinstance(flow, str) else None, deployment if isinstance(deployment, str) else None)


def _strings(value: Any, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InfraError(f"the job configuration's {field} must be a list of strings, not {value!r}")
    return [item for item in value if item]
