"""Job variables that fit their pool's schema are told so without jsonschema (config/schema_lite), and whatever
schema_lite finds wrong, or cannot evaluate, jsonschema words as before: the issues are the same either way.

`deploytool run` checks the run's merged job variables at every run; jsonschema's import was most of its CPU
(issue 17, item 4). Here both paths are held to the same result for the built-in pool types' schemas with
generated job variables, and for schemas with keywords schema_lite leaves to jsonschema.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploytool import jobvars
from deploytool.core.pools import default_template
from deploytool.jobvars import validate_job_variables

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.text(max_size=5))
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
)


def _by_jsonschema(monkeypatch: pytest.MonkeyPatch, *args: Any, **kwargs: Any) -> list[Any]:
    with monkeypatch.context() as patch:
        patch.setattr(jobvars, "_fits", lambda schema, values: False)
        return validate_job_variables(*args, **kwargs)


def _names(pool_type: str) -> list[str]:
    return sorted(default_template(pool_type)["variables"]["properties"])


@pytest.mark.parametrize("pool_type", ["process", "docker"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_same_issues_with_and_without_jsonschema(
    pool_type: str, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = default_template(pool_type)
    names = st.sampled_from([*_names(pool_type), "unknown_variable"])
    values = data.draw(st.dictionaries(names, VALUES, max_size=4))
    required = data.draw(st.booleans())
    assert validate_job_variables(values, template, check_required=required) == _by_jsonschema(
        monkeypatch, values, template, check_required=required
    )


def test_valid_job_variables_are_checked_without_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path answers for the values users give (no problem to word), and its answer is jsonschema's."""
    template = default_template("docker")
    values = {"image": "python:3.12", "env": {"A": "1", "B": None}, "registry_credentials": None, "labels": {}}
    assert jobvars._fits(template["variables"], values)
    assert validate_job_variables(values, template, check_required=True) == []
    assert _by_jsonschema(monkeypatch, values, template, check_required=True) == []


@pytest.mark.parametrize(
    ("schema", "value", "wrong"),
    [
        ({"type": "integer", "exclusiveMinimum": 0}, 0, True),  # a keyword schema_lite does not evaluate
        ({"type": "array", "items": False}, [1], True),  # a boolean subschema
        ({"enum": [[True]]}, [1], True),  # jsonschema's equality: True is not 1, inside a list too
        ({"enum": [{"a": 1}]}, {"a": True}, True),
        ({"enum": [[1, {"a": None}]]}, [1.0, {"a": None}], False),
    ],
)
def test_what_schema_lite_cannot_decide_goes_to_jsonschema(
    schema: dict[str, Any], value: Any, wrong: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = {"job_configuration": {}, "variables": {"type": "object", "properties": {"v": schema}}}
    fast = validate_job_variables({"v": value}, template)
    assert fast == _by_jsonschema(monkeypatch, {"v": value}, template)
    assert [issue.path for issue in fast] == (["v"] if wrong else [])


def test_a_schema_of_another_dialect_goes_to_jsonschema() -> None:
    variables = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {}}
    assert not jobvars._fits(variables, {})
