"""Bad arguments are clear errors naming the argument, never an internal error (issue #10 item 6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.cli_helpers import CLI, Result

HUGE = "99999999999999999999999"
DIGITS = "1" * 100_000
DEEP = "[" * 5000 + "]" * 5000
NESTED_101 = "[" * 101 + "]" * 101


def _refused(result: Result, *says: str) -> None:
    assert result.code in (1, 2), result
    assert "internal error" not in result.err and "Traceback" not in result.err
    for text in says:
        assert text in result.err, result.err


def test_integers_too_large_for_the_store_are_refused_naming_the_option(cli: CLI) -> None:
    _refused(cli("work-pool", "create", "p", "--type", "process", "--concurrency-limit", HUGE), "--concurrency-limit")
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    _refused(cli("work-pool", "update", "p", "--concurrency-limit", HUGE), f"--concurrency-limit {HUGE}: too large")
    _refused(cli("work-queue", "create", "q", "--pool", "p", "--priority", HUGE), f"--priority {HUGE}: too large")
    _refused(cli("work-queue", "create", "q", "--pool", "p", "--concurrency-limit", HUGE), "too large")
    _refused(cli("flow-run", "ls", "--limit", "99999999999999999999"), "--limit 99999999999999999999: too large")
    assert cli("work-pool", "update", "p", "--concurrency-limit", "1000000000").code == 0


@pytest.mark.parametrize("value", [DEEP, NESTED_101])
def test_deeply_nested_json_is_refused_naming_the_argument(cli: CLI, tmp_path: Path, value: str) -> None:
    _refused(cli("run", "f/d", "--param", f"x={value}"), "--param x: arrays and objects nest more than 100")
    _refused(cli("run", "f/d", "--params", f'{{"x": {value}}}'), "--params: arrays and objects nest")
    _refused(cli("run", "f/d", "--job-variable", f"env={value}"), "--job-variable env: arrays and objects")
    _refused(cli("variable", "set", "v", value), "the value of variable 'v': arrays and objects nest")
    _refused(cli("block", "set", "cfg/a", f"servers={value}"), "field 'servers': arrays and objects nest")
    (tmp_path / "b.json").write_text(f'{{"servers": {value}}}')
    _refused(cli("block", "set", "cfg/a", "--from-json", str(tmp_path / "b.json")), "b.json: arrays and objects")
    assert cli("variable", "ls").out.strip() in ("", "No variables.")


def test_an_integer_with_too_many_digits_is_refused_naming_where(cli: CLI, tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text(json.dumps({"n": 1}).replace("1", DIGITS))
    _refused(cli("block", "set", "cfg/a", "--from-json", str(tmp_path / "b.json")), "b.json: a number has more than")
    _refused(cli("variable", "set", "v", DIGITS), "the value of variable 'v': a number has more than 4300 digits")
    _refused(cli("run", "f/d", "--param", f"n={DIGITS}"), "--param n: a number has more than")
    _refused(cli("run", "f/d", "--params", f'{{"n": {DIGITS}}}'), "--params: a number has more than")
    assert cli("variable", "set", "v", '"' + DIGITS + '"').code == 0  # as a string it is fine


def test_an_argument_that_is_not_utf8_is_refused_naming_it(isolated_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploytool", "run", "f/d", "--param", b"tag=\xff"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert "argument 4 'tag=\\xff' (the value of --param) is not valid UTF-8 text" in result.stderr
    assert "internal error" not in result.stderr
