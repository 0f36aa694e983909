"""What runs around a flow or task call: the flow run in progress (its task runner), the listener told about
task runs (the engine's), the run logger, and print() routed to it for `log_prints`.

Imported inside every job (through deploytool.flows), so it imports the standard library only.
"""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import sys
import threading
from collections.abc import Callable, Iterator

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a job does not import typing (issue 17)
if TYPE_CHECKING:
    import logging
    from typing import Any, Protocol

    class TaskRunner(Protocol):
        """What `@flow(task_runner=...)` takes: deploytool.tasks.ThreadPoolTaskRunner (each flow run gets a
        `duplicate()`, shut down when the run ends)."""

        def duplicate(self) -> TaskRunner: ...

        def shutdown(self, wait: bool = True) -> None: ...


RUN_LOGGER_NAME = "deploytool.flow_run"
"""The name of the logger `get_run_logger()` returns. The engine sends its records to the run's logs."""


def get_run_logger() -> logging.Logger:
    """The logger for messages of a flow run.

    Inside a job its records go to the run's logs, with their level. Called elsewhere it is an ordinary
    logger, which a local flow call shows on standard error when logging is not configured.
    """
    import logging  # imported when a flow logs: a job whose flow never does is spared it (issue 17)

    return logging.getLogger(RUN_LOGGER_NAME)


class FlowRunContext:
    """The flow call in progress in this thread (and in the threads of its task runs): the flow's `task_runner`
    option, and the runner made from it once a task was submitted."""

    def __init__(self, task_runner: TaskRunner | None) -> None:
        self.configured = task_runner
        self._runner: TaskRunner | None = None
        self._lock = threading.Lock()

    def task_runner(self, default: Callable[[], TaskRunner]) -> TaskRunner:
        """This run's task runner: the flow's `task_runner` (a duplicate), else `default()`; made on first use."""
        with self._lock:
            if self._runner is None:
                configured = self.configured
                self._runner = configured.duplicate() if configured is not None else default()
            return self._runner

    def close(self, wait: bool) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.shutdown(wait=wait)


_flow_run: contextvars.ContextVar[FlowRunContext | None] = contextvars.ContextVar("deploytool_flow_run", default=None)


@contextlib.contextmanager
def flow_run_scope(task_runner: TaskRunner | None) -> Iterator[FlowRunContext]:
    """A flow call: the block is its run (tasks submitted inside use its runner). When the block ends normally
    the task runs still going are waited for; when it raises, the ones not started yet are dropped."""
    context = FlowRunContext(task_runner)
    token = _flow_run.set(context)
    finished = False
    try:
        yield context
        finished = True
    finally:
        _flow_run.reset(token)
        context.close(wait=finished)


def current_flow_run() -> FlowRunContext | None:
    """The flow call in progress here, or None outside any flow."""
    return _flow_run.get()


class TaskRunInfo:
    """What a TaskListener learns about a task run."""

    __slots__ = ("attempts", "id", "max_attempts", "name", "tags", "task_name")

    def __init__(
        self, id: str, name: str, task_name: str, max_attempts: int, tags: tuple[str, ...], attempts: list[int]
    ) -> None:
        self.id = id
        self.name = name  # the task run's name: the task's name and a number (extract-0, extract-1, ...)
        self.task_name = task_name
        self.max_attempts = max_attempts
        self.tags = tags
        self.attempts = attempts  # one item: the current attempt number (updated in place)

    def __repr__(self) -> str:
        return f"TaskRunInfo(id={self.id!r}, name={self.name!r}, task_name={self.task_name!r})"


class TaskListener:
    """Callbacks for task runs (deploytool.tasks); the engine subclasses it to report events. No-ops here.

    They are called from the thread that runs the task, so an implementation must be thread-safe.
    """

    def task_started(self, run: TaskRunInfo) -> None:
        """A task run begins its first attempt."""

    def task_retrying(self, run: TaskRunInfo, attempt: int, error: BaseException, retry_in: float) -> None:
        """Attempt `attempt` raised `error`; the next attempt follows in `retry_in` seconds."""

    def task_finished(self, run: TaskRunInfo, state: str, duration: float, error: BaseException | None) -> None:
        """The task run ended: COMPLETED, or FAILED with the error of its last attempt."""


_task_listener = TaskListener()


def set_task_listener(listener: TaskListener | None) -> None:
    """Install the listener told about every task run (None: none). The engine calls this before the flow."""
    global _task_listener
    _task_listener = listener or TaskListener()


def task_listener() -> TaskListener:
    return _task_listener


# print() routing for log_prints. One replacement of builtins.print is installed while any flow or task with
# log_prints is running; it decides per call: a task's own setting (a context variable, so it follows the task
# into its thread) wins, else whether a flow with log_prints=True is running anywhere in the process (so prints
# from threads the flow started are logged too).
_print_override: contextvars.ContextVar[bool | None] = contextvars.ContextVar("deploytool_log_prints", default=None)
_print_lock = threading.Lock()
_print_users = 0
_flows_logging_prints = 0
_original_print = builtins.print


def _routed_print(*values: object, sep: str | None = " ", end: str | None = "\n", **kw: Any) -> None:
    enabled = _print_override.get()
    if enabled is None:
        enabled = _flows_logging_prints > 0
    file = kw.get("file")
    if not enabled or (file is not None and file is not sys.stdout):
        _original_print(*values, sep=sep, end=end, **kw)
        return
    get_run_logger().info((sep if sep is not None else " ").join(str(v) for v in values))


def _use_router(delta: int, flow_level: bool) -> None:
    global _print_users, _flows_logging_prints, _original_print
    with _print_lock:
        if _print_users == 0 and delta > 0 and builtins.print is not _routed_print:
            _original_print = builtins.print
            builtins.print = _routed_print
        _print_users += delta
        if flow_level:
            _flows_logging_prints += delta
        if _print_users == 0 and builtins.print is _routed_print:
            builtins.print = _original_print


@contextlib.contextmanager
def log_prints_scope(enabled: bool | None) -> Iterator[None]:
    """Inside the block, print() to standard output is (True) or is not (False) a run log record, in this
    context only; None keeps whatever applies already. Tasks use it for their `log_prints`."""
    if enabled is None:
        yield
        return
    token = _print_override.set(enabled)
    _use_router(1, flow_level=False)
    try:
        yield
    finally:
        _use_router(-1, flow_level=False)
        _print_override.reset(token)


@contextlib.contextmanager
def prints_to_log(enabled: bool) -> Iterator[None]:
    # Like Prefect's log_prints: print() to stdout becomes a log record; print(file=...) elsewhere is untouched.
    # It covers the whole process while the flow runs, so prints from nested calls and threads are logged too.
    if not enabled:
        yield
        return
    _use_router(1, flow_level=True)
    try:
        yield
    finally:
        _use_router(-1, flow_level=True)
