"""The contract between a worker and the engine it starts: the run spec and the engine's exit codes.

The worker builds a `RunSpec` and puts `RunSpec.to_env()` into the job's environment; the engine, inside the
job, reads it back with `RunSpec.from_env()`. See docs/engine.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a job does not import typing (issue 17)
if TYPE_CHECKING:
    from typing import Any

SPEC_ENV = "DEPLOYTOOL_RUN_SPEC"
"""The environment variable holding the run spec as JSON."""
RUN_ID_ENV = "DEPLOYTOOL_RUN_ID"
"""Also set, for the flow's own use: the id of the run."""
SPEC_VERSION = 1
ZYGOTE_FD_ENV = "DEPLOYTOOL_ZYGOTE_FD"
"""Warm start: the file descriptor of the zygote's end of its socket with the worker (deploytool.engine.zygote)."""
ZYGOTE_ROOM_ENV = "DEPLOYTOOL_ZYGOTE_ENV_ROOM"
"""Warm start: padding in the zygote's environment, room for each child to write its own into /proc/PID/environ."""
ZYGOTE_ROOM_BYTES = 4096
MAX_SPEC_BYTES = 120 * 1024  # Linux refuses a single environment string over 128 KiB (MAX_ARG_STRLEN)

# Exit codes of `python -m deploytool.engine`.
EXIT_COMPLETED = 0
EXIT_FAILED = 1  # the flow was called and raised (after its retries)
EXIT_NOT_STARTED = 2  # bad run spec, a pull step failed, the entrypoint could not be loaded, bad parameters
EXIT_TIMED_OUT = 3  # an attempt ran past timeout_seconds
EXIT_INTERRUPTED = 130  # SIGINT
EXIT_TERMINATED = 143  # SIGTERM


class RunSpecError(Exception):
    """The run spec is missing, malformed, or too large for the environment (a bug in whatever started the
    engine, or parameters too large). Like DeploytoolError it carries `message` and `hint`; it is not one, so
    that the engine does not import deploytool.errors (and dataclasses, inspect, ast) at every run's start."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


def check_parameters_size(parameters: Mapping[str, Any], deployment: str) -> None:
    """Refuse, before a run is stored, parameters too large for any run spec (the spec also carries the
    entrypoint and pull steps: 8 KiB are left for them); the worker checks the whole spec at launch."""
    size = len(json.dumps(parameters, separators=(",", ":")).encode())
    if size > MAX_SPEC_BYTES - 8 * 1024:
        from deploytool.errors import DeploytoolError

        raise DeploytoolError(
            f"the parameters of this run of {deployment} are {size} bytes as JSON; a run can carry at most"
            f" {MAX_SPEC_BYTES - 8 * 1024} (they reach the job through an environment variable)",
            hint="pass large inputs by reference (a path or URL) instead of as parameters",
        )


class _Record:
    """A small frozen record (what a frozen dataclass gives, without importing dataclasses in every job)."""

    __slots__: tuple[str, ...] = ()
    _hidden: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={'...' if k in self._hidden else repr(v)}" for k, v in self.as_dict().items())
        return f"{type(self).__name__}({shown})"

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)


class FlowOptions(_Record):
    """Overrides of the flow's own `@flow` options for this run; None keeps the flow's value."""

    __slots__ = ("log_prints", "retries", "retry_delay_seconds", "timeout_seconds")
    retries: int | None
    retry_delay_seconds: float | list[float] | None
    timeout_seconds: float | None
    log_prints: bool | None

    def __init__(
        self,
        retries: int | None = None,
        retry_delay_seconds: float | list[float] | None = None,
        timeout_seconds: float | None = None,
        log_prints: bool | None = None,
    ) -> None:
        self._set(
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            timeout_seconds=timeout_seconds,
            log_prints=log_prints,
        )

    def overrides(self) -> dict[str, Any]:
        """The options that are set, as keywords for `Flow.with_options`."""
        return {k: v for k, v in self.as_dict().items() if v is not None}


class RunSpec(_Record):
    """Everything the engine needs to execute one flow run, and nothing that needs the store.

    `entrypoint` is `path/to/file.py:function` (relative to the directory the engine is in after the pull
    steps) or `package.module:function`. `working_dir`, when set, is where the engine starts, before the pull
    steps. `pull_steps` are the deployment's pull steps as stored (`{"name", "id", "inputs"}`, the shape
    `deploytool.steps.pull.run_pull_steps` takes), templated by the worker except `{{ step_id.key }}`
    references to earlier pull steps' outputs, which only exist inside the job. `run_name`, `variables` and
    `secrets` are what Prefect flow code may read (docs/prefect-compat.md); `secrets` is never shown by repr().
    """

    __slots__ = (
        "deployment_name",
        "entrypoint",
        "flow_name",
        "flow_options",
        "parameters",
        "pull_steps",
        "run_id",
        "run_name",
        "secrets",
        "variables",
        "working_dir",
    )  # fmt: skip
    _hidden = frozenset({"secrets"})
    run_id: str
    flow_name: str
    deployment_name: str
    entrypoint: str
    parameters: dict[str, Any]
    working_dir: str | None
    pull_steps: list[dict[str, Any]]
    flow_options: FlowOptions
    run_name: str | None
    variables: dict[str, Any]
    secrets: dict[str, Any]

    def __init__(
        self,
        run_id: str,
        flow_name: str,
        deployment_name: str,
        entrypoint: str,
        parameters: dict[str, Any] | None = None,
        working_dir: str | None = None,
        pull_steps: list[dict[str, Any]] | None = None,
        flow_options: FlowOptions | None = None,
        run_name: str | None = None,
        variables: dict[str, Any] | None = None,
        secrets: dict[str, Any] | None = None,
    ) -> None:
        self._set(
            run_id=run_id,
            flow_name=flow_name,
            deployment_name=deployment_name,
            entrypoint=entrypoint,
            parameters=parameters if parameters is not None else {},
            working_dir=working_dir,
            pull_steps=pull_steps if pull_steps is not None else [],
            flow_options=flow_options if flow_options is not None else FlowOptions(),
            run_name=run_name,
            variables=variables if variables is not None else {},
            secrets=secrets if secrets is not None else {},
        )

    def to_json(self) -> str:
        data = {**self.as_dict(), "flow_options": self.flow_options.as_dict()}
        return json.dumps({"version": SPEC_VERSION, **data}, separators=(",", ":"))

    def to_env(self) -> dict[str, str]:
        """The environment variables that carry this spec into a job.

        Raises RunSpecError when the parameters are too large for an environment variable.
        """
        encoded = self.to_json()
        if len(encoded.encode()) > MAX_SPEC_BYTES:
            raise RunSpecError(
                f"the run spec of run {self.run_id} is {len(encoded.encode())} bytes, over the limit of "
                f"{MAX_SPEC_BYTES} bytes for an environment variable",
                hint="pass large inputs by reference (a path or URL) instead of as parameters",
            )
        return {SPEC_ENV: encoded, RUN_ID_ENV: self.run_id}

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RunSpecError(f"{SPEC_ENV} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RunSpecError(f"{SPEC_ENV} must be a JSON object, not {type(data).__name__}")
        version = data.pop("version", SPEC_VERSION)
        if version != SPEC_VERSION:
            raise RunSpecError(
                f"{SPEC_ENV} has version {version!r}; this engine reads version {SPEC_VERSION}",
                hint="use the same deploytool version for the worker and inside the job",
            )
        _check(data, "run_id", str)
        _check(data, "flow_name", str)
        _check(data, "deployment_name", str)
        _check(data, "entrypoint", str)
        _check(data, "parameters", dict, required=False)
        _check(data, "working_dir", str, required=False)
        _check(data, "pull_steps", list, required=False)
        _check(data, "flow_options", dict, required=False)
        _check(data, "run_name", str, required=False)
        _check(data, "variables", dict, required=False)
        _check(data, "secrets", dict, required=False)
        options = data.pop("flow_options", None) or {}
        known = {"retries", "retry_delay_seconds", "timeout_seconds", "log_prints"}
        unknown = sorted(set(options) - known) + sorted(set(data) - _FIELDS)
        if unknown:
            raise RunSpecError(f"{SPEC_ENV} has unknown keys: {', '.join(unknown)}")
        fields = {k: v for k, v in data.items() if v is not None}  # null means "the default"
        return cls(**fields, flow_options=FlowOptions(**options))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunSpec:
        """Read the spec from `environ` (default: os.environ). Raises RunSpecError when missing or malformed."""
        env = os.environ if environ is None else environ
        text = env.get(SPEC_ENV)
        if not text:
            raise RunSpecError(
                f"{SPEC_ENV} is not set",
                hint="the engine runs inside a job started by `deploytool worker`; call the flow directly instead",
            )
        return cls.from_json(text)


_FIELDS = {
    "run_id",
    "flow_name",
    "deployment_name",
    "entrypoint",
    "parameters",
    "working_dir",
    "pull_steps",
    "run_name",
    "variables",
    "secrets",
}


def _check(data: dict[str, Any], key: str, kind: type, *, required: bool = True) -> None:
    value = data.get(key)
    if value is None:
        if required:
            raise RunSpecError(f"{SPEC_ENV} has no {key!r}")
        return
    if not isinstance(value, kind):
        raise RunSpecError(f"{SPEC_ENV}: {key!r} must be a {kind.__name__}, not {type(value).__name__}")
