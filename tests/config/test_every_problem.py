"""`validate` reports every problem at once: a misspelled key or a null entrypoint does not hide the other
errors of the same deployment, and a typo'd key's first error is its did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.config.validate import validate_file

FLOW = "from deploytool import flow\n\n\n@flow\ndef main(x: int = 1):\n    pass\n"

TEXT = """\
deployments:
  - name: typo
    entrypiont: flow.py:main
    work_pool: {name: p}
    schedules:
      - cron: "61 * * * *"
  - name: null-entrypoint
    entrypoint: null
    work_pool: {name: p}
    schedules:
      - interval: -5
  - name: pool-typo
    entrypoint: flow.py:main
    work_pol: {name: p}
    tags: ["{{ ''.__class__ }}"]
"""


def _issues(tmp_path: Path, filename: str) -> list[tuple[int, str, str, str]]:
    (tmp_path / "flow.py").write_text(FLOW)
    path = tmp_path / filename
    path.write_text(TEXT)
    return [(i.line, i.severity, i.path, i.message) for i in validate_file(path).issues]


def test_a_misspelled_key_or_a_null_entrypoint_does_not_hide_the_other_errors(tmp_path: Path) -> None:
    assert _issues(tmp_path, "deploy.yaml") == [
        (3, "error", "deployments[typo].entrypiont", "unknown key 'entrypiont'"),
        (
            6,
            "error",
            "deployments[typo].schedules[0].cron",
            "invalid cron expression '61 * * * *': field 1 (minute) '61' is not valid",
        ),
        (8, "error", "deployments[null-entrypoint].entrypoint", "expected a string, got nothing (null)"),
        (
            11,
            "error",
            "deployments[null-entrypoint].schedules[0].interval",
            "an interval must be greater than 0 seconds, got -5",
        ),
        (14, "error", "deployments[pool-typo].work_pol", "unknown key 'work_pol'"),
        (15, "error", "deployments[pool-typo].tags[0]", "unsafe expression refused in {{ ''.__class__ }}"),
    ]


def test_in_a_prefect_yaml_the_typo_is_an_error_for_what_it_costs(tmp_path: Path) -> None:
    # Prefect ignores unknown keys, so an unknown key is a warning there; one that stands for a required key
    # (entrypoint) or the work pool is an error, with the did-you-mean first, not "missing" or "no work pool".
    issues = _issues(tmp_path, "prefect.yaml")
    assert (
        3,
        "error",
        "deployments[typo].entrypiont",
        "unknown key 'entrypiont': did you mean 'entrypoint'?",
    ) in issues
    assert (
        14,
        "error",
        "deployments[pool-typo].work_pol",
        "unknown key 'work_pol': did you mean 'work_pool'?",
    ) in issues
    assert not any("missing required key" in i[3] or i[3].startswith("no work pool") for i in issues)
    assert not any(i[0] in (3, 14) and i[1] == "warning" for i in issues)  # the error says it once
    assert any(i[0] == 6 for i in issues) and any(i[0] == 11 for i in issues)


@pytest.mark.parametrize("filename", ["deploy.yaml", "prefect.yaml"])
def test_a_typo_is_the_first_error_of_its_deployment(tmp_path: Path, filename: str) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    path = tmp_path / filename
    path.write_text("deployments:\n  - name: d\n    entrypoint: flow.py:main\n    workpool: {name: p}\n")
    errors = [i for i in validate_file(path).issues if i.severity == "error"]
    assert len(errors) == 1 and errors[0].path == "deployments[d].workpool"
    assert "did you mean 'work_pool'?" in errors[0].message + (errors[0].hint or "")
