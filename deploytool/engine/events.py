"""Structured event lines: how the engine reports to the worker through the job's output.

An event is one line: the marker `EVENT_MARKER` (`::deploytool-event::`) followed by a JSON object with at least
`event` (its kind) and `time` (ISO 8601, UTC). Every other line of output is the run's log. The marker is plain
ASCII on purpose: control characters such as the record separator are line breaks to str.splitlines() and get
mangled by log tooling. When a flow printed text without a newline just before an event, the marker appears
mid-line and `parse_line` splits the line into that text and the event. Kinds and fields: docs/engine.md.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a job does not import typing (issue 17)
if TYPE_CHECKING:
    from typing import Any

EVENT_MARKER = "::deploytool-event::"

# Event kinds.
STARTED = "started"
PULL_FINISHED = "pull_finished"
PULL_FAILED = "pull_failed"
FLOW_LOADED = "flow_loaded"
ATTEMPT_STARTED = "attempt_started"
ATTEMPT_FAILED = "attempt_failed"
LOG = "log"
TASK_STARTED = "task_started"
TASK_RETRYING = "task_retrying"
TASK_FINISHED = "task_finished"
COMPLETED = "completed"
FAILED = "failed"
TIMED_OUT = "timed_out"
TERMINATED = "terminated"
FINAL_EVENTS = frozenset({COMPLETED, FAILED, TIMED_OUT, TERMINATED})
"""Exactly one of these ends the output of an engine that was not killed with SIGKILL."""

MAX_TRACEBACK_CHARS = 64 * 1024  # the end of a traceback is what matters; keep that when cutting
MAX_REPR_CHARS = 1000
_PACKAGE_DIR = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
)  # frames of deploytool itself start with this
_DEFERRED_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGALRM}


def iso_time(seconds: float) -> str:
    """A POSIX timestamp as ISO 8601 in UTC with milliseconds (`2026-05-01T09:00:01.234+00:00`), as
    `datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")` gives it, without importing
    datetime in every job."""
    whole, micros = divmod(round(seconds * 1_000_000), 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros // 1000:03d}+00:00"


def format_event(kind: str, **fields: Any) -> str:
    """The line (without its newline) for an event. Values that JSON cannot encode are written as repr()."""
    payload = {"event": kind, "time": iso_time(time.time()), **fields}
    return EVENT_MARKER + json.dumps(payload, default=repr, ensure_ascii=False, separators=(",", ":"))


def parse_line(line: str) -> tuple[str | None, dict[str, Any] | None]:
    """Split one output line (without its newline) into (log text, event).

    A plain line gives (line, None); an event line gives (None, event); text followed by an event on the same
    line gives both. A marker followed by text that is not a JSON object is treated as log text.
    """
    index = line.find(EVENT_MARKER)
    if index < 0:
        return line, None
    try:
        event = json.loads(line[index + len(EVENT_MARKER) :])
    except json.JSONDecodeError:
        return line, None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return line, None
    return (line[:index] or None), event


def exception_fields(error: BaseException) -> dict[str, Any]:
    """`error_type`, `message` and the full `traceback` of an exception, for failure events."""
    # Leading frames in deploytool itself (the engine calling the flow) are noise to the user: start the
    # traceback at the first frame of the user's code, unless nothing else is left.
    # Python's import machinery (<frozen importlib._bootstrap...>) is noise too; a SyntaxError in the user's file
    # has no frame of its own but names the file, line and column itself.
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith((_PACKAGE_DIR, "<frozen importlib")):
        tb = tb.tb_next
    if tb is None and not isinstance(error, SyntaxError):
        tb = error.__traceback__
    import traceback  # only a failure pays for it (and the linecache, tokenize and re it loads)

    text = "".join(traceback.format_exception(type(error), error, tb))
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "... (traceback cut) ...\n" + text[-MAX_TRACEBACK_CHARS:]
    return {"error_type": _qualified_name(type(error)), "message": str(error), "traceback": text}


def short_repr(value: Any) -> str:
    """repr() of a value, cut to MAX_REPR_CHARS; a repr() that raises is reported, not propagated."""
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr() failed: {type(exc).__name__}: {exc}>"
    return text if len(text) <= MAX_REPR_CHARS else text[: MAX_REPR_CHARS - 3] + "..."


def _qualified_name(cls: type) -> str:
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class EventWriter:
    """Writes event lines to the job's standard output, between whatever the flow itself prints.

    It writes to a duplicate of file descriptor 1 taken at start, so a flow that replaces sys.stdout (or
    redirects it) cannot swallow events; it flushes Python's own streams first so that lines keep their order.
    """

    def __init__(self, fd: int = 1) -> None:
        self._fd = os.dup(fd)
        self._lock = threading.Lock()
        self.common: dict[str, Any] = {}
        """Fields added to every event (the engine sets `run_id` once it knows it)."""

    def emit(self, kind: str, **fields: Any) -> None:
        data = (format_event(kind, **{**fields, **self.common}) + "\n").encode("utf-8", errors="replace")
        # Hold back SIGTERM/SIGINT/SIGALRM while writing: a handler that raises mid-write would cut the line.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
        try:
            self._write(data)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _write(self, data: bytes) -> None:
        with self._lock:
            for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                try:
                    if stream is not None:
                        stream.flush()
                except (OSError, ValueError):
                    pass  # a closed or broken stream must not stop the report
            view = memoryview(data)
            while view:
                try:
                    written = os.write(self._fd, view)
                except InterruptedError:
                    continue
                except OSError:
                    return  # nobody is reading any more (the worker went away): nothing left to report to
                view = view[written:]
