"""How `run` and the `flow-run` commands show a run and its log lines: states, durations, log lines."""

from __future__ import annotations

from deploytool.cli.output import paint

TYPE_CHECKING = False  # not typing's: imported at the start of the run commands
if TYPE_CHECKING:
    from typing import TextIO

    from deploytool.models import FlowRun, LogLine

WATCH_EXIT_HELP = (
    "Exit codes with --watch: 0 COMPLETED, 3 FAILED, 4 CRASHED, 5 CANCELLED, 1 error (e.g. bad parameters),"
    " 130 interrupted (Ctrl-C stops watching; the run goes on)."
)


def state_text(run_: FlowRun, stream: TextIO | None = None) -> str:
    """The state with its duration, worker or message; the state coloured when `stream` is a terminal."""
    from deploytool.core.run_summary import duration_seconds, duration_text

    text = run_.state.value if stream is None else paint(run_.state.value, run_.state.value, stream)
    duration = duration_seconds(run_)
    if run_.end_time is not None and duration is not None:
        text += f" after {duration_text(duration)}"
    if run_.worker_name and run_.state.value in ("PENDING", "RUNNING"):
        text += f" (worker {run_.worker_name})"
    if run_.state_message and run_.state.value not in ("SCHEDULED", "PENDING", "RUNNING", "COMPLETED"):
        text += f": {run_.state_message}"
    return text


def log_text(line: LogLine, stream: TextIO | None = None) -> str:
    """A log line in local time (of day); its level coloured when `stream` is a terminal."""
    source = "" if line.source in ("stdout", "stderr") else f" [{line.source}]"
    level = f"{line.level:<7}"
    if stream is not None:
        level = paint(line.level, line.level, stream) + level[len(line.level) :]
    return f"{line.time.astimezone():%H:%M:%S} {level}{source} {line.message}"
