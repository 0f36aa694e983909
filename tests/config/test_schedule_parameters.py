"""Parameters are checked wherever they can be set: per-schedule `parameters` against the flow's signature, and
a required parameter that a schedule's runs would lack (a warning: every such run would fail; --strict: error)."""

from __future__ import annotations

from pathlib import Path

from deploytool.config.validate import validate_file

FLOW = "from deploytool import flow\n\n\n@flow\ndef main(day: str, n: int = 1):\n    pass\n"

TEXT = """\
deployments:
  - name: d
    entrypoint: flow.py:main
    work_pool: {name: p}
    schedules:
      - cron: "0 * * * *"
      - cron: "0 1 * * *"
        parameters: {day: mon, n: "x", nope: 1}
      - cron: "0 2 * * *"
        active: false
  - name: manual
    entrypoint: flow.py:main
    work_pool: {name: p}
"""


def _issues(tmp_path: Path, *, strict: bool = False) -> list[tuple[int, str, str, str]]:
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "deploy.yaml").write_text(TEXT)
    return [
        (i.line, i.severity, i.path, i.message) for i in validate_file(tmp_path / "deploy.yaml", strict=strict).issues
    ]


def test_schedule_parameters_are_checked_and_a_missing_required_one_is_reported(tmp_path: Path) -> None:
    assert _issues(tmp_path) == [
        (
            6,
            "warning",
            "deployments[d].schedules[0]",
            "required parameter 'day' has no value: every run of this schedule would fail (the scheduler makes none)",
        ),
        (
            8,
            "error",
            "deployments[d].schedules[1].parameters.n",
            "parameter 'n' must be an integer, got 'x' (a string)",
        ),
        (8, "error", "deployments[d].schedules[1].parameters.nope", "unknown parameter 'nope'"),
    ]


def test_strict_makes_the_missing_parameter_an_error(tmp_path: Path) -> None:
    assert [i[1] for i in _issues(tmp_path, strict=True)] == ["error", "error", "error"]
