"""The scheduler never creates a run that `deploytool run` would refuse: a schedule whose runs would lack a
required parameter (or carry a wrong one) makes no runs and is reported once, not as one failed run per slot."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from deploytool.core.runs import create_run
from deploytool.errors import DeploytoolError
from deploytool.scheduling import schedule_runs
from deploytool.store import Store
from tests.scheduling.helpers import auto_runs, deploy, utc

NOW = utc(2025, 1, 6, 10, 30)
SCHEMA = {
    "type": "object",
    "properties": {"day": {"type": "string"}, "n": {"type": "integer"}},
    "required": ["day"],
    "additionalProperties": False,
}


def test_a_schedule_without_a_required_parameter_makes_no_runs_and_is_reported_once(store: Store) -> None:
    d = deploy(
        store,
        [{"cron": "* * * * *"}, {"cron": "0 * * * *", "parameters": {"day": "mon"}}],
        parameter_schema=SCHEMA,
    )
    with pytest.raises(DeploytoolError):
        create_run(store, d.full_name)  # what `deploytool run` says to the same parameters

    first = schedule_runs(store, NOW)
    assert [r.parameters for r in auto_runs(store, d)] == [{"day": "mon"}] * 3  # only the good schedule's runs
    assert len(first.errors) == 1
    assert "f/d: cron * * * * * makes no runs: required parameter 'day' has no value" in first.errors[0]
    later = schedule_runs(store, NOW.replace(minute=45))
    assert later.errors == [] and later.created == 0
    assert all(r.parameters == {"day": "mon"} for r in auto_runs(store, d))


def test_a_wrong_schedule_parameter_makes_no_runs_until_a_redeploy_fixes_it(store: Store, tmp_path: Path) -> None:
    d = deploy(store, [{"cron": "0 * * * *", "parameters": {"day": "mon", "n": "x"}}], parameter_schema=SCHEMA)
    report = schedule_runs(store, NOW)
    assert report.created == 0 and "parameter 'n' must be an integer" in report.errors[0]
    fixed = deploy(store, [{"cron": "0 * * * *", "parameters": {"day": "mon", "n": 2}}], parameter_schema=SCHEMA)
    assert fixed.id == d.id
    assert schedule_runs(store, NOW).created == 3


def test_without_enforce_parameter_schema_the_runs_are_made(store: Store) -> None:
    d = deploy(store, [{"cron": "0 * * * *"}], parameter_schema=SCHEMA, enforce_parameter_schema=False)
    assert schedule_runs(store, NOW).created == 3 and len(auto_runs(store, d)) == 3


def test_every_problem_of_a_refused_schedule_is_said_in_one_message_and_logged_once(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    deploy(store, [{"cron": "0 * * * *", "parameters": {"n": "x"}}], parameter_schema=SCHEMA)
    says = (
        "f/d: cron 0 * * * * makes no runs: parameter 'n' must be an integer, got 'x' (a string);"
        " required parameter 'day' has no value"
        " (give the value under the deployment's or the schedule's parameters, and deploy again)"
    )
    with caplog.at_level(logging.ERROR, logger="deploytool.scheduler"):
        assert schedule_runs(store, NOW).errors == [says]
        assert schedule_runs(store, NOW.replace(minute=45)).errors == []
    assert [r.getMessage() for r in caplog.records] == [f"scheduler: {says}"]
