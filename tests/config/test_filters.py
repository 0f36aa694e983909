"""`deploytool validate` knows jinja2's filters without importing jinja2, and names a misspelled one."""

from __future__ import annotations

from pathlib import Path

import jinja2.filters

from deploytool.config.validate import validate_text
from deploytool.templating.context import FILTERS


def test_the_filter_list_is_jinja2_s() -> None:
    assert set(jinja2.filters.FILTERS) == FILTERS


def test_a_misspelled_filter_is_an_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "f.py").write_text("from deploytool import flow\n\n@flow\ndef f() -> None:\n    pass\n")
    text = (
        "deployments:\n  - name: a\n    entrypoint: f.py:f\n"
        "    description: \"{{ $HOME | uper }} {{ 'a|b' | upper }} {{ $X | default('y') | lower }}\"\n"
        "    work_pool: {name: p}\n"
    )
    result = validate_text(text, tmp_path / "deploy.yaml", "deploy.yaml")
    [error] = result.errors
    assert (error.line, error.path) == (4, "deployments[a].description")
    assert error.message == "unknown filter 'uper' in {{ $HOME | uper }}"
    assert error.hint is not None and "did you mean 'upper'?" in error.hint
