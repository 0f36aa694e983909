"""The user-facing flow API: `@flow`, `Flow`, `get_run_logger()`, `DockerImage`, and `Flow.deploy`/`Flow.serve`
(implemented in deploytool.pyapi, imported only when called).

This module is imported inside every job by the engine, so it imports the standard library only.

Calling a flow runs it here and now, honouring its options:

- `retries` / `retry_delay_seconds`: an attempt that raises an exception is tried again, up to `retries` more
  times, after the delay (a number, or a list giving the delay before each retry; the last one repeats).
- `timeout_seconds`: each attempt is limited. When the limit passes, `FlowTimeoutError` is raised inside the
  flow (through SIGALRM when called from the main thread). A timed-out attempt is not retried.
- `log_prints`: `print()` to standard output becomes an INFO record of the run logger while the flow runs.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence

from deploytool.runcontext import RUN_LOGGER_NAME, flow_run_scope, get_run_logger, prints_to_log

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: every job imports this module, and not typing (issue 17)
if TYPE_CHECKING:
    import logging
    from datetime import timedelta
    from typing import Any, Generic, ParamSpec, TypeVar, overload

    from deploytool.runcontext import TaskRunner

    P = ParamSpec("P")
    R = TypeVar("R")

    class _Generic(Generic[P, R]):
        """Flow's base for type checkers: a flow is generic in its function's parameters and return type."""

else:
    P = R = None

    class _Generic:
        """At run time `Flow[...]` is a plain alias (types.GenericAlias), as for builtin generics."""

        __class_getitem__ = classmethod(types.GenericAlias)


__all__ = ["RUN_LOGGER_NAME", "DockerImage", "Flow", "FlowTimeoutError", "flow", "get_run_logger"]

RetryDelay = float | Sequence[float]


class FlowTimeoutError(TimeoutError):
    """An attempt of a flow ran longer than its `timeout_seconds`."""


class AttemptListener:
    """Callbacks around each attempt of a flow call. The engine subclasses it to report events; all no-ops here."""

    def attempt_started(self, attempt: int, max_attempts: int) -> None:
        """Attempt number `attempt` (1-based) of at most `max_attempts` is about to call the function."""

    def attempt_failed(self, attempt: int, max_attempts: int, error: BaseException, retry_in: float | None) -> None:
        """The attempt raised `error`; `retry_in` is the delay before the next attempt, None when none follows."""


class Flow(_Generic[P, R]):
    """A function made into a flow by `@flow`. Calling it runs the function locally with the flow's options."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        log_prints: bool = False,
        retries: int = 0,
        retry_delay_seconds: RetryDelay = 0,
        timeout_seconds: float | None = None,
        description: str | None = None,
        version: str | None = None,
        task_runner: TaskRunner | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@flow needs a function, not {type(fn).__name__}")
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, not {retries}")
        if timeout_seconds is not None and timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, not {timeout_seconds}")
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        self.log_prints = log_prints
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.timeout_seconds = timeout_seconds
        self._description = description
        self.version = version
        self.task_runner = task_runner
        functools.update_wrapper(self, fn)  # __wrapped__, __name__, __doc__, __module__, __qualname__

    @property
    def description(self) -> str | None:
        """`description`, or the function's docstring (read when asked: inspect is not imported at start-up)."""
        if self._description is None:
            import inspect

            return inspect.getdoc(self.fn)
        return self._description

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r}, fn={getattr(self.fn, '__qualname__', self.fn)!r})"

    def with_options(self, **options: Any) -> Flow[P, R]:
        """A copy of this flow with some options replaced (the same keywords as `@flow`)."""
        current: dict[str, Any] = {
            "name": self.name,
            "log_prints": self.log_prints,
            "retries": self.retries,
            "retry_delay_seconds": self.retry_delay_seconds,
            "timeout_seconds": self.timeout_seconds,
            "description": self._description,
            "version": self.version,
            "task_runner": self.task_runner,
        }
        unknown = sorted(set(options) - set(current))
        if unknown:
            raise TypeError(f"unknown flow option(s): {', '.join(unknown)}")
        return Flow(self.fn, **{**current, **options})

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        _ensure_console_logging()
        return run_attempts(self, args, kwargs)

    def deploy(
        self,
        name: str,
        work_pool_name: str,
        image: str | DockerImage | None = None,
        build: bool = True,
        push: bool = True,
        job_variables: dict[str, Any] | None = None,
        parameters: dict[str, Any] | None = None,
        cron: str | Sequence[str] | None = None,
        interval: float | timedelta | Sequence[float | timedelta] | None = None,
        rrule: str | Sequence[str] | None = None,
        schedules: Sequence[dict[str, Any]] | None = None,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        version: str | None = None,
        work_queue_name: str | None = None,
    ) -> str:
        """Register a deployment of this flow, as `deploytool deploy` does with a deploy.yaml; returns its id.

        The entrypoint is this function's file, relative to the current directory when the file is below it,
        else to the file's directory (the project directory: the image's build context). With `image`, the
        image is built (`dockerfile="auto"` unless a DockerImage says otherwise) when `build` is true, pushed
        when `push` is true, and becomes the `image` job variable. Running the script again updates the
        deployment. An error is printed as the CLI prints it and the script exits with status 1 (SystemExit,
        whose `__cause__` is the DeploytoolError). docs/tutorial.md walks through it.
        """
        from deploytool.pyapi.deploy import deploy_or_exit

        return deploy_or_exit(
            self.fn,
            name=name,
            work_pool_name=work_pool_name,
            image=image,
            build=build,
            push=push,
            job_variables=job_variables,
            parameters=parameters,
            cron=cron,
            interval=interval,
            rrule=rrule,
            schedules=schedules,
            tags=tags,
            description=description if description is not None else self.description,
            version=version if version is not None else self.version,
            work_queue_name=work_queue_name,
        )

    def serve(
        self,
        name: str | None = None,
        cron: str | Sequence[str] | None = None,
        interval: float | timedelta | Sequence[float | timedelta] | None = None,
        rrule: str | Sequence[str] | None = None,
        parameters: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> None:
        """Register a deployment of this flow and run its scheduled and queued runs here, in local processes,
        until Ctrl-C. The deployment's pool is the process pool `serve:<flow>:<name>` (created when missing);
        `name` defaults to the flow's name; `limit` caps the runs at once. Ctrl-C stops like a worker's
        SIGINT: no new runs, running ones may finish (a second Ctrl-C stops them), every outcome recorded.
        """
        from deploytool.pyapi.serve import serve_or_exit

        serve_or_exit(
            self.fn,
            flow_name=self.name,
            name=name or self.name,
            cron=cron,
            interval=interval,
            rrule=rrule,
            parameters=parameters,
            limit=limit,
        )


if TYPE_CHECKING:  # typing.overload is for type checkers only

    @overload
    def flow(fn: Callable[P, R], /) -> Flow[P, R]: ...

    @overload
    def flow(
        *,
        name: str | None = None,
        log_prints: bool = False,
        retries: int = 0,
        retry_delay_seconds: RetryDelay = 0,
        timeout_seconds: float | None = None,
        description: str | None = None,
        version: str | None = None,
        task_runner: TaskRunner | None = None,
    ) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    log_prints: bool = False,
    retries: int = 0,
    retry_delay_seconds: RetryDelay = 0,
    timeout_seconds: float | None = None,
    description: str | None = None,
    version: str | None = None,
    task_runner: TaskRunner | None = None,
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Make a function a flow: `@flow` or `@flow(name=..., retries=..., ...)`.

    The flow's name is `name`, or the function's name with `_` replaced by `-`; its description is
    `description`, or the function's docstring.
    """

    def decorate(f: Callable[P, R]) -> Flow[P, R]:
        return Flow(
            f,
            name=name,
            log_prints=log_prints,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            timeout_seconds=timeout_seconds,
            description=description,
            version=version,
            task_runner=task_runner,
        )

    return decorate(fn) if fn is not None else decorate


class DockerImage:
    """The image of `Flow.deploy(image=...)`: `name` (a `:tag` in it is split off), `tag` (default: the build
    context's content hash), `dockerfile` (`"auto"` generates one; else a path relative to the project
    directory), and any other keyword as an input of the `build_docker_image` step (`buildargs`, `platform`,
    `base_image`, ...)."""

    def __init__(self, name: str, tag: str | None = None, dockerfile: str = "auto", **build_options: Any) -> None:
        self.name = name
        self.tag = tag
        self.dockerfile = dockerfile
        self.build_options: dict[str, Any] = dict(build_options)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.build_options.items())
        return f"DockerImage({self.name!r}, tag={self.tag!r}, dockerfile={self.dockerfile!r}{extra})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DockerImage):
            return NotImplemented
        mine = (self.name, self.tag, self.dockerfile, self.build_options)
        return mine == (other.name, other.tag, other.dockerfile, other.build_options)

    __hash__ = None  # type: ignore[assignment]


def retry_delay(delays: RetryDelay, retry_number: int) -> float:
    """The delay before retry `retry_number` (1-based): a number, or the list's entry (its last one repeats)."""
    if isinstance(delays, int | float):
        return float(delays)
    if not delays:
        return 0.0
    return float(delays[min(retry_number, len(delays)) - 1])


def run_attempts(
    flow: Flow[P, R],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    listener: AttemptListener | None = None,
) -> R:
    """Call the flow's function with retries, the delay between them, the timeout and log_prints.

    Raises the last attempt's exception, or `FlowTimeoutError` as soon as an attempt times out.
    """
    with flow_run_scope(flow.task_runner):  # the task runs still going end with the flow
        return _attempts(flow, args, kwargs, listener or AttemptListener())


def _attempts(flow: Flow[P, R], args: Sequence[Any], kwargs: dict[str, Any], listener: AttemptListener) -> R:
    max_attempts = flow.retries + 1
    attempt = 1
    while True:
        listener.attempt_started(attempt, max_attempts)
        try:
            with prints_to_log(flow.log_prints), _time_limit(flow.timeout_seconds):
                result: Any = flow.fn(*args, **kwargs)
                if isinstance(result, types.CoroutineType):
                    import asyncio  # only async flows pay for asyncio

                    result = asyncio.run(result)
            return result  # type: ignore[no-any-return]
        except Exception as error:
            retry_in = None
            if attempt < max_attempts and not isinstance(error, FlowTimeoutError):
                retry_in = retry_delay(flow.retry_delay_seconds, attempt)
            listener.attempt_failed(attempt, max_attempts, error, retry_in)
            if retry_in is None:
                raise
            get_run_logger().warning(
                "Attempt %d of %d failed (%s: %s); retrying in %gs",
                attempt,
                max_attempts,
                type(error).__name__,
                error,
                retry_in,
            )
            time.sleep(retry_in)
            attempt += 1


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    if seconds is None:
        yield
        return
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        # Signals can only interrupt the main thread: elsewhere the limit is checked when the call returns.
        started = time.monotonic()
        yield
        if time.monotonic() - started > seconds:
            raise FlowTimeoutError(f"the flow ran longer than its timeout of {seconds:g}s")
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise FlowTimeoutError(f"the flow ran longer than its timeout of {seconds:g}s")

    # Keep an enclosing limit (a flow called from a flow) working: restore its handler and remaining time.
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_remaining, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    started = time.monotonic()
    limit = seconds if not previous_remaining else min(seconds, previous_remaining)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_remaining:
            left = previous_remaining - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


_console_handler: logging.Handler | None = None


def _ensure_console_logging() -> None:
    # A flow called from a script should show its run logger's INFO records (and log_prints output) even when
    # the script never configured logging; inside the engine, or once logging is configured, do nothing.
    global _console_handler
    import logging

    logger = get_run_logger()
    if _console_handler is not None or logger.handlers or logging.getLogger().handlers:
        return
    _console_handler = logging.StreamHandler(sys.stderr)
    _console_handler.setFormatter(logging.Formatter("%(asctime)s | %(levelname)-7s | %(name)s - %(message)s"))
    logger.addHandler(_console_handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
