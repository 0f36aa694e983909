"""Each helper is written once, and names that collided are renamed for what they are (issue #11 item 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploytool.errors import close_matches, did_you_mean

PACKAGE = Path(__file__).resolve().parents[1] / "deploytool"
SOURCES = {str(p.relative_to(PACKAGE)): p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}


def test_did_you_mean_is_one_helper() -> None:
    users = sorted(name for name, text in SOURCES.items() if re.search(r"^\s*(import|from) difflib", text, re.M))
    assert users == ["errors.py"], "use deploytool.errors.did_you_mean / close_matches"
    assert did_you_mean("entrypiont", ["entrypoint", "name"]) == "did you mean 'entrypoint'?"
    assert did_you_mean("zzz", ["entrypoint"]) is None
    assert close_matches("Europe/Berlinn", ["Europe/Berlin", "Europe/Tallinn", "UTC"], n=3)[0] == "Europe/Berlin"


def test_secrets_are_masked_by_one_helper() -> None:
    # Masking a secret means building a pattern of its forms (deploytool.redaction); nobody else replaces
    # secrets by hand.
    by_hand = sorted(
        name
        for name, text in SOURCES.items()
        if name != "redaction.py" and re.search(r"""\.(replace|sub)\([^)]*["']\*\*\*["']""", text)
    )
    assert by_hand == []


@pytest.mark.parametrize("name", ["Worker", "OutputSink", "Redactor"])
def test_no_two_modules_define_the_same_name(name: str) -> None:
    pattern = re.compile(rf"^(class {name}\b|{name} = )", re.M)
    assert len([n for n, text in SOURCES.items() if pattern.search(text)]) == 1, name


def test_the_worker_command_shows_the_workers_own_defaults() -> None:
    import inspect

    from deploytool.cli.worker_cmds import start
    from deploytool.worker import options

    defaults = {n: p.default for n, p in inspect.signature(start).parameters.items()}
    assert defaults["heartbeat_seconds"] == options.DEFAULT_HEARTBEAT_SECONDS
    assert defaults["poll_seconds"] == options.DEFAULT_POLL_SECONDS
    assert defaults["shutdown_grace"] == options.DEFAULT_SHUTDOWN_GRACE_SECONDS
    assert defaults["stop_grace"] == options.DEFAULT_STOP_GRACE_SECONDS
    source = SOURCES["cli/worker_cmds.py"]
    assert not re.search(r"\] = \d+\.\d+,", source), "the worker's defaults come from deploytool.worker.options"
