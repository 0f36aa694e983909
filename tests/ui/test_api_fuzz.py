"""Every operation of /api/v1/openapi.json fuzzed with schemathesis against a real `deploytool ui` over a real
store: no 500, no traceback, and every status, content type and body as the document says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.ui.ui_helpers import dashboard, deploytool, make_project

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DEPLOYTOOL_HOME", str(root / "home"))
        make_project(root / "project")
        for _ in range(3):
            deploytool("run", "greet/hello", "-p", "name=<b>x</b>")
        ids = deploytool("flow-run", "ls", "-o", "json").stdout
        import json

        for run in json.loads(ids)["data"]:  # finished runs: an event stream of any of them ends at once
            deploytool("flow-run", "cancel", run["id"])
        with dashboard(root) as (base, _):
            schema = schemathesis.openapi.from_url(base + "/api/v1/openapi.json")
            yield schema


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_as_documented(api: Any, mode: GenerationMode) -> None:
    # (schemathesis's own pytest plugin does not run on this pytest: each operation is driven by hypothesis here)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(operation.as_strategy(generation_mode=mode))
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def answers(case: Any) -> None:
            response = case.call_and_validate(checks=CHECKS)
            assert "Traceback" not in response.text

        try:
            answers()
        except Unsatisfiable:  # negative mode: an operation whose inputs are any string has nothing to get wrong
            assert mode is GenerationMode.NEGATIVE


def test_the_document_is_served_and_valid(tmp_path: Path) -> None:
    from deploytool.ui.openapi import openapi_document

    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    read_only = openapi_document(read_only=True)
    assert all(set(ops) == {"get"} for ops in read_only["paths"].values())
