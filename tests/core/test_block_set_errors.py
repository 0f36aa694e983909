"""What `deploytool block set` says about each bad argument, word for word: the `key=value` fields are read by the
CLI (deploytool.cli.values), the block's own checks are core's (deploytool.core.values.set_block)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.cli.entry import main
from deploytool.settings import Settings
from deploytool.store import Store


def _block_set(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["block", "set", *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["secret/x", "value=ok", "hunter2"],
            "Error: field argument 2 is not key=value (it has no =; not shown, in case it is a secret)\n"
            "  hint: for example token=abc123 or port=5432\n",
        ),
        (
            ["secret/x", "=hunter2"],
            "Error: field argument 1 is not key=value (it has no key; not shown, in case it is a secret)\n"
            "  hint: for example token=abc123 or port=5432\n",
        ),
        (
            ["secret/x", " =hunter2"],
            "Error: field argument 1 is not key=value (it has no key; not shown, in case it is a secret)\n"
            "  hint: for example token=abc123 or port=5432\n",
        ),
        (["t/x", "a=1", " a =2"], "Error: field 'a' is given twice\n  hint: give each field once\n"),
        (
            ["t/x", "n=" + "[" * 101 + "]" * 101],
            "Error: field 'n': arrays and objects nest more than 100 levels deep\n"
            "  hint: flatten the value, or give it as a string\n",
        ),
        (["t/x"], "Error: block t/x has no fields\n  hint: give key=value arguments or --from-json FILE\n"),
        (
            ["secret/x", "other=1"],
            "Error: a 'secret' block needs a 'value' field\n  hint: deploytool block set secret/x value=...\n",
        ),
        (
            ["justaname", "a=1"],
            "Error: 'justaname' is not TYPE/NAME\n  hint: for example secret/db-password or github-credentials/ci\n",
        ),
    ],
)
def test_each_bad_block_argument_is_named_exactly_and_no_value_is_echoed(
    capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    assert _block_set(capsys, *args) == error


def test_fields_are_json_when_they_parse_and_go_over_the_json_file(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    base.write_text('{"host": "old", "port": 1, "keep": true}')
    assert main(["block", "set", "database/main", "--from-json", str(base), "host= db ", "port=5432", "x={}"]) == 0
    with Store.open(Settings.from_env().db_path) as store:
        block = store.blocks.reveal("database", "main")
    assert block.data == {"host": " db ", "port": 5432, "keep": True, "x": {}}
