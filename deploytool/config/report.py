"""Collecting the issues of a project file at their positions (shared by the semantic checks)."""

from __future__ import annotations

from deploytool.config.keypath import format_path
from deploytool.config.yamlload import Path, Positions
from deploytool.errors import ConfigIssue
from deploytool.records import record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


@record(frozen=False)
class Reporter:
    data: Any
    positions: Positions
    filename: str
    issues: list[ConfigIssue]

    def error(self, path: Path, message: str, hint: str | None = None, *, key: bool = False) -> None:
        self._add(path, message, hint, key, "error")

    def warn(self, path: Path, message: str, hint: str | None = None, *, key: bool = False) -> None:
        self._add(path, message, hint, key, "warning")

    def _add(self, path: Path, message: str, hint: str | None, key: bool, severity: str) -> None:
        line, col = self.positions.locate(path, key=key)
        self.issues.append(ConfigIssue(self.filename, line, col, format_path(self.data, path), message, hint, severity))
