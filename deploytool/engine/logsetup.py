"""Which log records of a job become lines of the run's log, at what level, and from when.

The flow's own records (the run logger, `logging.getLogger(__name__)` in the project's code) pass at
`DEPLOYTOOL_LOG_LEVEL` (default INFO). Records of libraries (code under site-packages or dist-packages, and the
standard library) pass at `DEPLOYTOOL_LIBRARY_LOG_LEVEL` (default WARNING), so that an HTTP client's
`HTTP Request: GET ...` INFO lines stay out of the run's log unless asked for. deploytool's own records
(`deploytool.*`) always follow DEPLOYTOOL_LOG_LEVEL. A level is a name (DEBUG, INFO, WARNING, ERROR, CRITICAL)
or a number; anything else keeps the default and says so in the run's log. docs/engine.md, "Logging".

This module does not import `logging`: a run whose flow never logs does not pay for it (issue 17). `route()`
installs the handler (deploytool.engine.loghandler) at once when logging is already imported, else right after
the first `import logging` of the job, before any code can log a record.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType

from deploytool.engine import events

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the engine does not import typing
if TYPE_CHECKING:
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec

LOG_LEVEL_ENV = "DEPLOYTOOL_LOG_LEVEL"
LIBRARY_LOG_LEVEL_ENV = "DEPLOYTOOL_LIBRARY_LOG_LEVEL"
LEVELS = {"CRITICAL": 50, "FATAL": 50, "ERROR": 40, "WARN": 30, "WARNING": 30, "INFO": 20, "DEBUG": 10, "NOTSET": 0}
"""logging.getLevelNamesMapping() of a fresh interpreter (a test holds them equal)."""


def levels(environ: Mapping[str, str]) -> tuple[int, int, list[str]]:
    """(flow level, library level, problems) from the environment."""
    problems: list[str] = []
    flow = _level(environ, LOG_LEVEL_ENV, "INFO", problems)
    library = _level(environ, LIBRARY_LOG_LEVEL_ENV, "WARNING", problems)
    return flow, library, problems


def _level(environ: Mapping[str, str], key: str, default: str, problems: list[str]) -> int:
    text = environ.get(key, "").strip()
    if not text:
        return LEVELS[default]
    if text.isdigit():
        return int(text)
    value = LEVELS.get(text.upper())
    if value is not None:
        return value
    problems.append(
        f"{key}={text!r} is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL or a number); using {default}"
    )
    return LEVELS[default]


def route(writer: events.EventWriter, environ: Mapping[str, str]) -> None:
    """Send the job's log records to the run's log as `log` events, at the levels `environ` sets; a level that is
    not one is reported there at once (as a WARNING of `deploytool.engine`)."""
    flow_level, library_level, problems = levels(environ)
    if flow_level <= LEVELS["WARNING"]:
        for problem in problems:
            now = events.iso_time(time.time())
            writer.emit(events.LOG, level="WARNING", logger="deploytool.engine", message=problem, time=now)

    def install() -> None:
        from deploytool.engine import loghandler

        loghandler.install(writer, flow_level, library_level)

    if "logging" in sys.modules:
        install()
    else:
        sys.meta_path.insert(0, AfterImport("logging", install))


class AfterImport:
    """A meta path finder that calls `then()` right after the module `name` has run, wherever it is imported
    from (the flow, a library, deploytool), and then leaves the import system as it was."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name = name
        self.then = then
        self._finding = False

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self.name or self._finding:
            return None
        # The module as the import system finds it without this finder (every other finder, old-style ones
        # included, as importlib itself asks them).
        self._finding = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding = False
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _RunAfter(self, spec.loader)  # type: ignore[assignment]
        return spec


class _RunAfter:
    """The loader of a module found by AfterImport: runs it with its own loader, then the hook."""

    def __init__(self, hook: AfterImport, loader: Loader) -> None:
        self.hook = hook
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader  # the module keeps its real loader (linecache reads sources through it)
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        if self.hook in sys.meta_path:
            sys.meta_path.remove(self.hook)
        self.loader.exec_module(module)
        self.hook.then()
