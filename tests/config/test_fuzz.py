"""Malformed YAML and wrong types always give clean issues, never an exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploytool.config.validate import validate_text
from tests.config.strategies import KEYS, VALUES


def _check(text: str, tmp_path: Path, name: str = "deploy.yaml") -> None:
    result = validate_text(text, tmp_path / name, name)
    for issue in result.issues:
        assert issue.line >= 1 and issue.column >= 1
        assert issue.message
    if result.project is None:
        assert result.errors


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(tmp_path: Path, text: str) -> None:
    _check(text, tmp_path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_wrong_shapes_never_raise(tmp_path: Path, doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True)
    _check(text, tmp_path)
    _check(text, tmp_path, "prefect.yaml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(KEYS, VALUES, max_size=6), max_size=4))
def test_wrong_deployments_never_raise(tmp_path: Path, deployments: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump({"deployments": deployments}, allow_unicode=True)
    _check(text, tmp_path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="{}[]:-&*<>!|'\"#\n\t ab1", max_size=80))
def test_yaml_punctuation_soup_never_raises(tmp_path: Path, text: str) -> None:
    _check(text, tmp_path)
