"""The engine's main sequence: read the spec, run the pull steps, load the flow, call it, report, exit.

Every outcome ends with exactly one final event (completed, failed, timed_out or terminated) and the matching
exit code from deploytool.engine.spec, unless the process is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from deploytool.engine import compat, events, logsetup, orphan
from deploytool.engine.load import LoadError, check_parameters, load_flow
from deploytool.engine.pull import PullStepError, run_pull_steps
from deploytool.engine.spec import (
    EXIT_COMPLETED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_STARTED,
    EXIT_TERMINATED,
    EXIT_TIMED_OUT,
    RunSpec,
    RunSpecError,
)
from deploytool.flows import AttemptListener, Flow, FlowTimeoutError, run_attempts
from deploytool.runcontext import TaskListener, TaskRunInfo, set_task_listener

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a job does not import typing (issue 17)
if TYPE_CHECKING:
    from typing import Any

SIGNAL_EXIT_GRACE_SECONDS = 2.0
"""After SIGTERM/SIGINT, how long the flow may take to unwind before the engine exits regardless."""
TIMEOUT_EXIT_GRACE_SECONDS = 2.0
"""After an attempt's timeout, how long the interrupted flow may take to unwind before the engine exits."""
EXIT_LINGER_SECONDS = 5.0
"""After the final event, how long threads the flow left running may keep the process alive."""

FINAL_LISTENERS: list[Callable[[int], None]] = []
"""Called with the exit code once the final event is written (the warm-start zygote's child reports it)."""

_SIGNAL_EXIT_CODES: dict[int, int] = {signal.SIGTERM: EXIT_TERMINATED, signal.SIGINT: EXIT_INTERRUPTED}


class _Terminated(BaseException):
    # A BaseException, so that `except Exception` in a flow does not swallow the request to stop.
    def __init__(self, signum: int) -> None:
        super().__init__(f"the run was stopped by {signal.Signals(signum).name}")
        self.signum = signum


class _EventReporter:
    """Emits events; makes sure only one final event is ever written, whichever thread gets there first."""

    def __init__(self, writer: events.EventWriter) -> None:
        self.writer = writer
        self._lock = threading.Lock()
        self._finished = False
        self.exit_code: int | None = None

    def emit(self, kind: str, **fields: Any) -> None:
        self.writer.emit(kind, **fields)

    def finish(self, kind: str, exit_code: int, **fields: Any) -> bool:
        with self._lock:
            if self._finished:
                return False
            self._finished = True
            self.exit_code = exit_code
        self.emit(kind, exit_code=exit_code, **fields)
        for listener in FINAL_LISTENERS:
            listener(exit_code)
        return True

    def hard_exit(self, kind: str, exit_code: int, **fields: Any) -> None:
        # Called from a watchdog thread when the flow does not unwind: report, then end the process at once.
        if self.finish(kind, exit_code, **fields):
            os._exit(exit_code)


class _Attempts(AttemptListener):
    """Reports attempts and arms the hard timeout of each one."""

    def __init__(self, reporter: _EventReporter, timeout: float | None) -> None:
        self.reporter = reporter
        self.timeout = timeout
        self.attempts = 0
        self._watchdog: threading.Timer | None = None

    def attempt_started(self, attempt: int, max_attempts: int) -> None:
        self.attempts = attempt
        self.reporter.emit(
            events.ATTEMPT_STARTED, attempt=attempt, max_attempts=max_attempts, timeout_seconds=self.timeout
        )
        if self.timeout is not None:
            # The flow is interrupted at the timeout (SIGALRM); this is for a flow that ignores the interruption.
            self._watchdog = threading.Timer(
                self.timeout + TIMEOUT_EXIT_GRACE_SECONDS,
                self.reporter.hard_exit,
                args=(events.TIMED_OUT, EXIT_TIMED_OUT),
                kwargs={"timeout_seconds": self.timeout, "attempt": attempt, "hard": True},
            )
            self._watchdog.daemon = True
            self._watchdog.start()

    def attempt_failed(self, attempt: int, max_attempts: int, error: BaseException, retry_in: float | None) -> None:
        self.disarm()
        self.reporter.emit(
            events.ATTEMPT_FAILED,
            attempt=attempt,
            max_attempts=max_attempts,
            retry_in_seconds=retry_in,
            will_retry=retry_in is not None,
            **events.exception_fields(error),
        )

    def disarm(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None


class _TaskEvents(TaskListener):
    """Reports each task run's start, retries and end as events (the worker logs and records them)."""

    def __init__(self, reporter: _EventReporter) -> None:
        self.reporter = reporter

    def task_started(self, run: TaskRunInfo) -> None:
        self.reporter.emit(
            events.TASK_STARTED, task_run_id=run.id, task_run_name=run.name, task_name=run.task_name,
            max_attempts=run.max_attempts, tags=list(run.tags),
        )  # fmt: skip

    def task_retrying(self, run: TaskRunInfo, attempt: int, error: BaseException, retry_in: float) -> None:
        fields = events.exception_fields(error)
        fields.pop("traceback")  # the flow's own failure, if it comes to that, carries the traceback once
        self.reporter.emit(
            events.TASK_RETRYING, task_run_id=run.id, task_run_name=run.name, attempt=attempt,
            max_attempts=run.max_attempts, retry_in_seconds=retry_in, **fields,
        )  # fmt: skip

    def task_finished(self, run: TaskRunInfo, state: str, duration: float, error: BaseException | None) -> None:
        fields: dict[str, Any] = {}
        if error is not None:
            fields = events.exception_fields(error)
            fields.pop("traceback")
        self.reporter.emit(
            events.TASK_FINISHED, task_run_id=run.id, task_run_name=run.name, task_name=run.task_name,
            state=state, attempts=run.attempts[0], duration_seconds=round(duration, 3), **fields,
        )  # fmt: skip


def main() -> int:
    """Run the flow described by DEPLOYTOOL_RUN_SPEC; return the exit code (see docs/engine.md)."""
    reporter = _EventReporter(events.EventWriter())
    try:
        spec: RunSpec | None = RunSpec.from_env()
    except RunSpecError as exc:
        spec, spec_error = None, exc
    if spec is not None:
        reporter.writer.common["run_id"] = spec.run_id
    reporter.emit(events.STARTED, pid=os.getpid(), python=sys.version.split()[0], cwd=os.getcwd())
    if spec is None:
        reporter.finish(
            events.FAILED, EXIT_NOT_STARTED, stage="spec", error_type="RunSpecError",
            message=spec_error.message, hint=spec_error.hint, traceback=None,
        )  # fmt: skip
        return EXIT_NOT_STARTED

    _install_signal_handlers(reporter)
    orphan.die_with_parent()
    # Records of the run logger and the flow's own loggers at DEPLOYTOOL_LOG_LEVEL (INFO), of libraries at
    # DEPLOYTOOL_LIBRARY_LOG_LEVEL (WARNING), become `log` events, from the job's first `import logging` on.
    logsetup.route(reporter.writer, os.environ)
    set_task_listener(_TaskEvents(reporter))
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # keep the flow's prints in order with the events
    try:
        code = _execute(spec, reporter)
    except _Terminated as stop:
        code = _SIGNAL_EXIT_CODES[stop.signum]
        reporter.finish(events.TERMINATED, code, signal=signal.Signals(stop.signum).name)
    # A signal can arrive after the final event was written: the code must match what was reported.
    code = reporter.exit_code if reporter.exit_code is not None else code
    _limit_linger(code)
    return code


def _execute(spec: RunSpec, reporter: _EventReporter) -> int:
    cwd = os.getcwd()
    if spec.working_dir:
        try:
            os.chdir(spec.working_dir)
        except OSError as exc:
            return _not_started(reporter, "setup", exc, f"cannot enter working directory {spec.working_dir}")
        cwd = os.getcwd()

    if spec.pull_steps:
        try:
            cwd = run_pull_steps(spec.pull_steps, cwd, reporter.emit)
            os.chdir(cwd)
        except PullStepError as exc:
            return _not_started(reporter, "pull", exc, exc.message, exc.hint)
        except OSError as exc:
            return _not_started(reporter, "pull", exc, f"cannot enter {cwd}, the directory of the pull steps")

    compat.install()  # `import prefect` in flow code: the compatibility layer when prefect is not installed
    try:
        flow = load_flow(spec.entrypoint, cwd)
    except LoadError as exc:
        return _not_started(reporter, "load", exc, exc.message, exc.hint)
    except (Exception, SystemExit) as exc:  # the user's module raised while being imported
        return _not_started(reporter, "load", exc, f"importing {spec.entrypoint} raised {type(exc).__name__}: {exc}")
    try:
        flow = flow.with_options(**spec.flow_options.overrides())
    except (TypeError, ValueError) as exc:
        return _not_started(reporter, "spec", exc, f"bad flow options in the run spec: {exc}")
    try:
        check_parameters(flow, spec.parameters)
    except LoadError as exc:
        return _not_started(reporter, "parameters", exc, exc.message, exc.hint)
    reporter.emit(events.FLOW_LOADED, flow_name=flow.name, entrypoint=spec.entrypoint, cwd=cwd)
    return _call(flow, spec, reporter)


def _call(flow: Flow[..., Any], spec: RunSpec, reporter: _EventReporter) -> int:
    listener = _Attempts(reporter, flow.timeout_seconds)
    started = time.monotonic()
    try:
        result = run_attempts(flow, (), dict(spec.parameters), listener)
    except FlowTimeoutError as exc:
        listener.disarm()
        reporter.finish(
            events.TIMED_OUT, EXIT_TIMED_OUT, timeout_seconds=flow.timeout_seconds, attempt=listener.attempts,
            hard=False, **events.exception_fields(exc),
        )  # fmt: skip
        return EXIT_TIMED_OUT
    except (Exception, SystemExit) as exc:
        listener.disarm()
        if not isinstance(exc, SystemExit) or exc.code not in (None, 0):
            fields = events.exception_fields(exc)
            if isinstance(exc, SystemExit):  # not retried: the flow chose to end the process
                fields["message"] = f"the flow called sys.exit({exc.code!r})"
            reporter.finish(
                events.FAILED, EXIT_FAILED, stage="flow", attempts=listener.attempts,
                duration_seconds=round(time.monotonic() - started, 3), **fields,
            )  # fmt: skip
            return EXIT_FAILED
        result = None  # sys.exit(0) or sys.exit(): the flow ended itself successfully
    listener.disarm()
    reporter.finish(
        events.COMPLETED, EXIT_COMPLETED, attempts=listener.attempts, result_type=type(result).__name__,
        result_repr=events.short_repr(result), duration_seconds=round(time.monotonic() - started, 3),
    )  # fmt: skip
    return EXIT_COMPLETED


def _not_started(
    reporter: _EventReporter, stage: str, exc: BaseException, message: str, hint: str | None = None
) -> int:
    fields = events.exception_fields(exc)
    fields["message"] = message
    if isinstance(exc, LoadError | PullStepError | OSError | TypeError | ValueError):
        fields["traceback"] = None  # our own diagnosis says it all; a traceback of the engine would only confuse
    if isinstance(exc, PullStepError) and exc.__cause__ is not None:
        cause = events.exception_fields(exc.__cause__)
        own = getattr(exc.__cause__, "message", None)  # a step's own error (StepError) needs no traceback
        fields.update(error_type=cause["error_type"], traceback=None if own else cause["traceback"])
    reporter.finish(events.FAILED, EXIT_NOT_STARTED, stage=stage, hint=hint, **fields)
    return EXIT_NOT_STARTED


def _install_signal_handlers(reporter: _EventReporter) -> None:
    def on_signal(signum: int, frame: FrameType | None) -> None:
        if getattr(on_signal, "stopping", False):
            return  # already unwinding: a second signal must not interrupt the clean-up
        on_signal.stopping = True  # type: ignore[attr-defined]
        code = _SIGNAL_EXIT_CODES[signum]
        watchdog = threading.Timer(
            SIGNAL_EXIT_GRACE_SECONDS,
            reporter.hard_exit,
            args=(events.TERMINATED, code),
            kwargs={"signal": signal.Signals(signum).name, "hard": True},
        )
        watchdog.daemon = True
        watchdog.start()
        raise _Terminated(signum)

    for signum in _SIGNAL_EXIT_CODES:
        signal.signal(signum, on_signal)


def _limit_linger(code: int) -> None:
    # Non-daemon threads the flow started would keep the interpreter alive after the final event: give them a
    # moment, then exit anyway so that a finished run never looks like a hung one.
    def exit_now() -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)

    timer = threading.Timer(EXIT_LINGER_SECONDS, exit_now)
    timer.daemon = True
    timer.start()
