"""The handler that turns a job's log records into `log` events, and the rule of which records pass.

Imported only once something in the job has imported `logging` (deploytool.engine.logsetup installs it then), so
that a run whose flow never logs does not pay for the logging package. docs/engine.md, "Logging".
"""

from __future__ import annotations

import logging
import os

from deploytool.engine import events

_STDLIB = os.path.dirname(os.__file__) + os.sep
_LIBRARY_DIRS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def is_library(record: logging.LogRecord) -> bool:
    """A record logged by installed or standard-library code, not by the flow's project (or deploytool)."""
    if record.name.startswith("deploytool.") or record.name == "deploytool":
        return False
    path = record.pathname or ""
    return path.startswith(_STDLIB) or any(part in path for part in _LIBRARY_DIRS)


class LevelFilter(logging.Filter):
    """Lets a record through at the flow's level or, for a library's record, at the libraries' level."""

    def __init__(self, flow_level: int, library_level: int) -> None:
        super().__init__()
        self.flow_level = flow_level
        self.library_level = library_level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= (self.library_level if is_library(record) else self.flow_level)


class EventLogHandler(logging.Handler):
    """Sends log records as `log` events: level, logger name and the message (with any traceback)."""

    def __init__(self, writer: events.EventWriter, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._writer = writer
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._writer.emit(
                events.LOG,
                level=record.levelname,
                logger=record.name,
                message=self.format(record),
                time=events.iso_time(record.created),
            )
        except Exception:
            self.handleError(record)


def install(writer: events.EventWriter, flow_level: int, library_level: int) -> None:
    """Give the root logger the handler (and the level) that sends the job's records to the run's log."""
    handler = EventLogHandler(writer)
    handler.addFilter(LevelFilter(flow_level, library_level))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(flow_level, library_level))
