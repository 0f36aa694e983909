"""The exact output of `deploytool validate` for bad files, compared with tests/data/golden/*.expected.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/config/test_golden.py`, then read the
diff: these files are what users see.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploytool.cli.entry import main

GOLDEN = Path(__file__).parent.parent / "data" / "golden"
CASES = sorted(p.relative_to(GOLDEN) for p in GOLDEN.rglob("*.yaml"))
STRICT = {Path("prefect_compat/prefect.yaml")}


def _run(case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.chdir(GOLDEN)
    code = main(["validate", "--file", str(case), *args])
    out, err = capsys.readouterr()
    # Messages name absolute paths; the checkout's location is not part of the expected output.
    out, err = (text.replace(str(GOLDEN.resolve()), "<golden>") for text in (out, err))
    return f"$ deploytool validate --file {case} {' '.join(args)}".rstrip() + f"\n{err}{out}exit {code}\n"


def _compare(actual: str, expected_file: Path) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(actual, encoding="utf-8")
    assert expected_file.exists(), f"no golden file {expected_file}; run with UPDATE_GOLDEN=1 and review it"
    assert actual == expected_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_golden_output(case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    actual = _run(case, capsys, monkeypatch)
    _compare(actual, GOLDEN / case.with_suffix(".expected"))


@pytest.mark.parametrize("case", sorted(STRICT), ids=str)
def test_golden_strict(case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    actual = _run(case, capsys, monkeypatch, "--strict")
    _compare(actual, GOLDEN / case.with_suffix(".strict.expected"))
