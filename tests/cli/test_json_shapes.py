"""The JSON documents of `-o json`, pinned key by key (issue #11.4); the dashboard's API documents are pinned in
tests/ui/test_api_documents.py.

Core returns typed results and the CLI turns them into JSON; these tests hold that the JSON users and scripts
read stays exactly what it was: the same keys in the same order, the same values. Values that change from one
run of the test to the next (ids, times, durations) are replaced by `<volatile>` (tests/json_golden.py); the
rest is compared with the documents in tests/cli/golden/ as they are.

After a deliberate change of a document, rewrite its golden file: DEPLOYTOOL_WRITE_GOLDEN=1 pytest THIS_FILE.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.cli_helpers import CLI, open_store
from tests.core.helpers import populate_documents
from tests.json_golden import RELATIVE, TIME, check_golden

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def populated(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[CLI, dict[str, str]]:
    with open_store() as store:
        names = populate_documents(store, NOW)
    return CLI(capsys, monkeypatch), names


COMMANDS = {
    "flow-run-inspect": ["flow-run", "inspect", "done-run"],
    "flow-run-why-finished": ["flow-run", "why", "done-run"],
    "flow-run-why-waiting": ["flow-run", "why", "waiting-run"],
    "flow-run-ls": ["flow-run", "ls"],
    "work-pool-ls": ["work-pool", "ls"],
    "work-pool-inspect": ["work-pool", "inspect", "local"],
    "work-queue-ls": ["work-queue", "ls"],
    "work-queue-inspect": ["work-queue", "inspect", "fast"],
    "variable-ls": ["variable", "ls"],
    "variable-get": ["variable", "get", "region"],
    "block-ls": ["block", "ls"],
    "block-inspect-secret": ["block", "inspect", "secret/db-password"],
    "block-inspect-fields": ["block", "inspect", "database/main"],
    "deployment-ls": ["deployment", "ls"],
    "deployment-inspect": ["deployment", "inspect", "etl/daily"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_json_documents_stay_as_they_are(populated: tuple[CLI, dict[str, str]], name: str) -> None:
    cli, names = populated
    result = cli(*COMMANDS[name], "--output", "json")
    assert result.code == 0, result.err
    assert "s3cr3t-value" not in result.out
    check_golden(GOLDEN / f"cli-{name}.json", result.json(), names)


_LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_DURATION = re.compile(r"\b\d+\.\ds\b")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_text_stays_as_it_is(
    populated: tuple[CLI, dict[str, str]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text the same commands print (rendered by the CLI from core's typed results) is unchanged too."""
    monkeypatch.setenv("TZ", "UTC")
    cli, names = populated
    result = cli(*COMMANDS[name])
    assert result.code == 0, result.err
    text = result.out
    for real, placeholder in sorted(names.items(), key=lambda item: -len(item[0])):
        text = text.replace(real, placeholder)
    text = _DURATION.sub("<duration>", RELATIVE.sub("<relative>", _LOCAL_TIME.sub("<time>", TIME.sub("<time>", text))))
    path = GOLDEN / f"cli-{name}.txt"
    if os.environ.get("DEPLOYTOOL_WRITE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"the text of {name} changed (see {path})"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", ["prefect.yaml", "deploy.yaml"])
def test_validate_json_stays_as_it_is(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, example: str
) -> None:
    result = CLI(capsys, monkeypatch)("validate", "--file", str(EXAMPLES / example), "--output", "json")
    assert result.code == 0, result.err
    check_golden(
        GOLDEN / f"cli-validate-{example.replace('.', '-')}.json", result.json(), {str(EXAMPLES): "<examples>"}
    )
