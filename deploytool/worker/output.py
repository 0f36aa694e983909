"""A job's output on its way into the run's logs: event lines parsed, secrets redacted, lines batched.

The infrastructure's reader thread calls `RunOutput.__call__` for each line; it only parses and queues. The
worker's loop takes the queue (`take()`) once per tick and writes every run's new lines in one transaction,
so a chatty flow costs one write per tick, not one per line. Lines and task runs leave the queue only once
their write committed (`stored()`); the queue is bounded (deploytool.worker.logbuffer).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from deploytool.engine import events
from deploytool.models import LogLine, TaskRun
from deploytool.redaction import Redactor
from deploytool.store import Store
from deploytool.worker.logbuffer import Batch, LineBuffer

WORKER, ENGINE, STDOUT = "worker", "engine", "stdout"
LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


@dataclass
class Attempt:
    """The engine's current attempt: when it started and the timeout it runs under (None: none known)."""

    number: int
    started: datetime
    timeout_seconds: float | None


@dataclass
class RunOutput:
    """Collects one run's output. Thread-safe: the reader thread feeds it, the worker's loop drains it."""

    run_id: str
    redact: Redactor = field(default_factory=lambda: Redactor(()))
    final: dict[str, Any] | None = None
    started: dict[str, Any] | None = None
    attempt: Attempt | None = None
    echo: bool = False
    _lines: LineBuffer = field(default_factory=LineBuffer)
    _task_runs: dict[str, TaskRun] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, line: str) -> None:
        """One line of the job's output (called from the infrastructure's reader thread)."""
        text, event = events.parse_line(line)
        now = datetime.now(UTC)
        with self._lock:
            if text is not None:
                self._lines.add(LogLine(self.run_id, now, "INFO", STDOUT, text))
            if event is not None:
                self._keep(self._on_event(event, now))

    def note(self, message: str, level: str = "INFO", source: str = WORKER) -> None:
        """A line written by the worker itself (claimed, started, stopped, ...)."""
        with self._lock:
            self._lines.add(LogLine(self.run_id, datetime.now(UTC), level, source, message))

    @property
    def buffered(self) -> int:
        """How many lines wait to be stored."""
        with self._lock:
            return len(self._lines)

    def _keep(self, lines: list[LogLine]) -> None:
        for line in lines:
            self._lines.add(line)

    def take(self) -> Written | None:
        """The lines and task runs not stored yet (redacted), or None when there are none. They stay here until
        `stored()`: a write that fails is sent again by the next pass."""
        with self._lock:
            batch = self._lines.take()
            task_runs = dict(self._task_runs)
        if not batch.lines and not task_runs:
            return None
        if self.redact:
            lines = [LogLine(x.run_id, x.time, x.level, x.source, self.redact(x.message)) for x in batch.lines]
            batch = replace(batch, lines=lines)
        return Written(batch, task_runs)

    def write(self, store: Store, written: Written) -> None:
        """Append the lines to the run's log (keyed: a line sent twice is stored once) and record the task runs
        reported with them (a task run's event always comes with its log line)."""
        store.logs.append(self.run_id, written.batch.lines, keys=written.batch.keys)
        runs = list(written.task_runs.values())
        store.task_runs.record([_redacted_task_run(t, self.redact) for t in runs] if self.redact.secrets else runs)

    def stored(self, written: Written) -> None:
        """The write of `written` committed: forget what it held (a task run reported again since stays)."""
        with self._lock:
            self._lines.stored(written.batch)
            for task_run_id, sent in written.task_runs.items():
                if self._task_runs.get(task_run_id) is sent:
                    del self._task_runs[task_run_id]

    def _on_event(self, event: dict[str, Any], now: datetime) -> list[LogLine]:
        kind = event["event"]
        if kind in (events.TASK_STARTED, events.TASK_RETRYING, events.TASK_FINISHED):
            self._on_task_event(event, _time(event, now))
        if kind in events.FINAL_EVENTS:
            self.final = event
        if kind == events.STARTED:
            self.started = event
        elif kind == events.ATTEMPT_STARTED:
            timeout = event.get("timeout_seconds")
            self.attempt = Attempt(
                int(event.get("attempt") or 1),
                now,
                float(timeout) if isinstance(timeout, int | float) and timeout > 0 else None,
            )
        return [LogLine(self.run_id, _time(event, now), level, source, text) for level, source, text in describe(event)]

    def _on_task_event(self, event: dict[str, Any], when: datetime) -> None:
        task_run_id = str(event.get("task_run_id") or "")
        if not task_run_id:
            return
        known = self._task_runs.get(task_run_id)
        duration = event.get("duration_seconds")
        seconds = float(duration) if isinstance(duration, int | float) else None
        if known is None:
            start = when - timedelta(seconds=seconds) if seconds is not None else when
            name = str(event.get("task_run_name") or task_run_id)
            tags = event.get("tags")
            known = TaskRun(
                id=task_run_id, flow_run_id=self.run_id, name=name,
                task_name=str(event.get("task_name") or name.rpartition("-")[0] or name), state="RUNNING",
                start_time=start, tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
            )  # fmt: skip
        attempt = event.get("attempt")
        if event["event"] == events.TASK_RETRYING and isinstance(attempt, int):
            known = replace(known, attempts=attempt + 1)
        elif event["event"] == events.TASK_FINISHED:
            state = str(event.get("state") or "FAILED")
            attempts = event.get("attempts")
            known = replace(
                known, state=state, end_time=when, duration_seconds=seconds,
                attempts=attempts if isinstance(attempts, int) else known.attempts,
                message=error_text(event) if state != "COMPLETED" else None,
            )  # fmt: skip
        self._task_runs[task_run_id] = known


def write_outputs(store: Store, outputs: Sequence[RunOutput], *, also: Callable[[], None] | None = None) -> None:
    """Write the runs' unstored lines and task runs in one transaction, with `also` (other writes of the same
    pass: they commit together, or none does); only once it committed are the lines forgotten (and echoed, for a
    run that streams its output): a failed write leaves them for the next pass."""
    batches = [(o, written) for o in outputs if (written := o.take()) is not None]
    if not batches and also is None:
        return
    with store.transaction():
        for o, written in batches:
            o.write(store, written)
        if also is not None:
            also()
    for o, written in batches:
        o.stored(written)
        if o.echo:
            for line in written.lines:
                sys.stdout.write(f"{o.run_id[:8]} | {line.message}\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Written:
    """What one write of a run's output carries: log lines (with their keys) and task runs."""

    batch: Batch
    task_runs: dict[str, TaskRun]

    @property
    def lines(self) -> list[LogLine]:
        return self.batch.lines


def _redacted_task_run(run: TaskRun, redact: Redactor) -> TaskRun:
    return replace(run, name=redact(run.name), message=redact(run.message) if run.message else None)


def _time(event: dict[str, Any], default: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        return default
    return when if when.tzinfo is not None else default


def describe(event: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The log lines (level, source, message) an engine event stands for; [] for events worth no line."""
    kind = event["event"]
    if kind == events.LOG:
        level = str(event.get("level", "INFO")).upper()
        return [(level if level in LEVELS else "INFO", log_source(event.get("logger")), str(event.get("message", "")))]
    if kind == events.STARTED:
        return [("DEBUG", ENGINE, f"engine started: pid {event.get('pid')}, Python {event.get('python')}")]
    if kind == events.PULL_FINISHED:
        return [("INFO", ENGINE, f"pull steps finished ({event.get('steps')}); running in {event.get('directory')}")]
    if kind == events.FLOW_LOADED:
        return [("DEBUG", ENGINE, f"loaded flow {event.get('flow_name')!r} from {event.get('entrypoint')}")]
    if kind == events.ATTEMPT_FAILED:
        # The last attempt's traceback is in the final `flow run failed` line: said once, not twice.
        retry = event.get("retry_in_seconds")
        head = f"attempt {event.get('attempt')}/{event.get('max_attempts')} failed: {error_text(event)}"
        if event.get("will_retry") and isinstance(retry, int | float):
            return [("ERROR", ENGINE, _with_traceback(f"{head}; retrying in {retry:g}s", event))]
        max_attempts = event.get("max_attempts")
        return [("ERROR", ENGINE, head)] if isinstance(max_attempts, int) and max_attempts > 1 else []
    if kind == events.COMPLETED:
        took = event.get("duration_seconds")
        took_text = f" in {took:.2f}s" if isinstance(took, int | float) else ""
        return [("INFO", ENGINE, f"flow completed{took_text}; result: {event.get('result_repr')}")]
    if kind in (events.TASK_STARTED, events.TASK_RETRYING, events.TASK_FINISHED):
        return [task_line(event)]
    if kind == events.PULL_FAILED:
        return []  # the `failed` event that follows (stage "pull") says it, with the hint
    if kind == events.FAILED:
        where = f" ({event.get('stage')})" if event.get("stage") not in (None, "flow") else ""
        head = f"flow run failed{where}: {error_text(event)}"
        if event.get("hint"):
            head += f" (hint: {event.get('hint')})"
        return [("ERROR", ENGINE, _with_traceback(head, event))]
    if kind == events.TIMED_OUT:
        return [("ERROR", ENGINE, _with_traceback(timed_out_text(event), event))]
    if kind == events.TERMINATED:
        return [("WARNING", ENGINE, f"the engine was terminated by {event.get('signal')}")]
    return []


def log_source(logger: object) -> str:
    """Who a `log` event's record is from: `flow` (the run logger, print() under log_prints), `engine`
    (deploytool's own), else the logger's name (the flow's own loggers, libraries)."""
    name = str(logger or "")
    if name == "deploytool.flow_run":  # deploytool.runcontext.RUN_LOGGER_NAME (a layer above the worker)
        return "flow"
    if not name or name == "root" or name.startswith("deploytool."):
        return "flow" if name in ("", "root") else ENGINE
    return name[:100]


def task_line(event: dict[str, Any]) -> tuple[str, str, str]:
    """The log line of a task run's event: started, an attempt failed and will be retried, finished."""
    kind, name = event["event"], f"task run {event.get('task_run_name')!r}"
    if kind == events.TASK_STARTED:
        return ("INFO", ENGINE, f"{name} started")
    if kind == events.TASK_RETRYING:
        retry = event.get("retry_in_seconds")
        then = f"; retrying in {retry:g}s" if isinstance(retry, int | float) else ""
        head = f"{name} attempt {event.get('attempt')}/{event.get('max_attempts')} failed: {error_text(event)}"
        return ("WARNING", ENGINE, head + then)
    took = event.get("duration_seconds")
    took_text = f" in {took:.2f}s" if isinstance(took, int | float) else ""
    if event.get("state") == "COMPLETED":
        return ("INFO", ENGINE, f"{name} completed{took_text}")
    attempts = event.get("attempts")
    after = f" after {attempts} attempts" if isinstance(attempts, int) and attempts > 1 else ""
    return ("ERROR", ENGINE, f"{name} failed{after}{took_text}: {error_text(event)}")


def error_text(event: dict[str, Any]) -> str:
    """`ErrorType: message` of a failure event."""
    kind, message = event.get("error_type"), event.get("message")
    # Before the flow ran the engine's own message says it all: no `deploytool.engine.load.LoadError: ` in
    # front of it, nor a type the message already names ("importing x.py:f raised SyntaxError: ...").
    said = kind and message and (str(kind).startswith("deploytool.") or str(kind).rsplit(".", 1)[-1] in str(message))
    if said and event.get("stage") not in (None, "flow"):
        return str(message)
    if kind and message:
        return f"{kind}: {message}"
    return str(message or kind or "unknown error")


def timed_out_text(event: dict[str, Any]) -> str:
    seconds = event.get("timeout_seconds")
    limit = f"{seconds:g} s" if isinstance(seconds, int | float) else "its timeout"
    hard = " (it did not unwind and was ended)" if event.get("hard") else ""
    return f"timed out after {limit}{hard}"


def _with_traceback(head: str, event: dict[str, Any]) -> str:
    tb = event.get("traceback")
    return f"{head}\n{str(tb).rstrip()}" if tb else head
