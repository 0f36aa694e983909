"""Which log records of a job become lines of the run's log, and at what level.

The flow's own records (the run logger, `logging.getLogger(__name__)` in the project's code) pass at
`DEPLOYTOOL_LOG_LEVEL` (default INFO). Records of libraries (code under site-packages or dist-packages, and the
standard library) pass at `DEPLOYTOOL_LIBRARY_LOG_LEVEL` (default WARNING), so that an HTTP client's
`HTTP Request: GET ...` INFO lines stay out of the run's log unless asked for. deploytool's own records
(`deploytool.*`) always follow DEPLOYTOOL_LOG_LEVEL. A level is a name (DEBUG, INFO, WARNING, ERROR, CRITICAL)
or a number; anything else keeps the default and says so in the run's log. docs/engine.md, "Logging".
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

LOG_LEVEL_ENV = "DEPLOYTOOL_LOG_LEVEL"
LIBRARY_LOG_LEVEL_ENV = "DEPLOYTOOL_LIBRARY_LOG_LEVEL"
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


def levels(environ: Mapping[str, str]) -> tuple[int, int, list[str]]:
    """(flow level, library level, problems) from the environment."""
    problems: list[str] = []
    flow = _level(environ, LOG_LEVEL_ENV, logging.INFO, problems)
    library = _level(environ, LIBRARY_LOG_LEVEL_ENV, logging.WARNING, problems)
    return flow, library, problems


def _level(environ: Mapping[str, str], key: str, default: int, problems: list[str]) -> int:
    text = environ.get(key, "").strip()
    if not text:
        return default
    if text.isdigit():
        return int(text)
    value = logging.getLevelName(text.upper())
    if isinstance(value, int):
        return value
    problems.append(
        f"{key}={text!r} is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL or a number);"
        f" using {logging.getLevelName(default)}"
    )
    return default
