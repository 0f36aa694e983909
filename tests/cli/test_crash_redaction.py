"""The last line of defence keeps secrets hidden: an internal error's message, crash.log and the worker's log."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from deploytool.cli import worker_cmds
from deploytool.redaction import Redactor
from tests.cli.cli_helpers import CLI

SECRET = "crash-s3cret-'q\"-Ü"


def test_an_internal_error_masks_the_secrets_this_process_handled(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    import deploytool.core.values as values

    def boom(*args: object, **kwargs: object) -> None:
        Redactor([SECRET], remember=True)  # as the worker does for each run it launches
        raise RuntimeError(f"lost {SECRET!r} and {SECRET}")

    monkeypatch.setattr(values, "list_variables", boom)
    result = cli("variable", "ls")
    assert result.code == 1 and "internal error: RuntimeError: lost '***' and ***" in result.err
    log = Path(result.err.split("the traceback is in ")[1].split(". Please")[0])
    text = log.read_text()
    assert "RuntimeError: lost '***' and ***" in text
    assert SECRET not in text and repr(SECRET)[1:-1] not in text


def test_the_worker_log_masks_the_secrets_of_its_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    logger = logging.getLogger("deploytool")
    before = list(logger.handlers)
    try:
        worker_cmds._log_to_stderr()
        Redactor([SECRET], remember=True)
        logging.getLogger("deploytool.worker.loop").warning("run x: could not stop %r", SECRET)
    finally:
        logger.handlers[:] = before
    assert "run x: could not stop '***'" in stderr.getvalue()
