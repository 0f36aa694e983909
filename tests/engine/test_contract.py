"""The worker/engine contract: the run spec in the environment and the event line format."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.engine import events, pull
from deploytool.engine.spec import SPEC_ENV, FlowOptions, RunSpec, RunSpecError


def test_run_spec_round_trips_through_the_environment() -> None:
    spec = RunSpec(
        run_id="abc",
        flow_name="etl",
        deployment_name="nightly",
        entrypoint="flows/etl.py:etl",
        parameters={"n": 3, "names": ["a"]},
        working_dir="/srv/app",
        pull_steps=[{"name": "git_clone", "id": "clone", "inputs": {"repository": "r"}}],
        flow_options=FlowOptions(retries=2, timeout_seconds=9.5),
    )
    env = spec.to_env()
    assert env["DEPLOYTOOL_RUN_ID"] == "abc"
    assert RunSpec.from_env(env) == spec
    assert spec.flow_options.overrides() == {"retries": 2, "timeout_seconds": 9.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not valid JSON"),
        ("[1]", "must be a JSON object"),
        ('{"run_id": "x", "flow_name": "f", "deployment_name": "d"}', "has no 'entrypoint'"),
        ('{"run_id": "x", "flow_name": "f", "deployment_name": "d", "entrypoint": "a:b", "extra": 1}', "unknown keys"),
        ('{"version": 99, "run_id": "x"}', "this engine reads version 1"),
    ],
)
def test_a_malformed_spec_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(RunSpecError, match=message):
        RunSpec.from_env({SPEC_ENV: text})


def test_a_spec_too_large_for_the_environment_is_refused() -> None:
    spec = RunSpec("r", "f", "d", "a.py:f", parameters={"blob": "x" * 200_000})
    with pytest.raises(RunSpecError, match="over the limit") as info:
        spec.to_env()
    assert info.value.hint


@pytest.mark.parametrize(
    "seconds", [0.0, 1.0005, 1764754807.5604999, 1764754807.9999996, 1764754807.999, 1780000000.123456, 4102444799.9995]
)
def test_event_times_are_what_datetime_writes(seconds: float) -> None:
    from datetime import UTC, datetime

    assert events.iso_time(seconds) == datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def test_event_lines_and_plain_lines() -> None:
    line = events.format_event("completed", exit_code=0, result_repr="'ok'")
    assert line.startswith("::deploytool-event::{")
    assert events.parse_line(line)[0] is None
    assert events.parse_line(line)[1] == {
        "event": "completed", "time": events.parse_line(line)[1]["time"], "exit_code": 0, "result_repr": "'ok'",  # type: ignore[index]
    }  # fmt: skip
    assert events.parse_line("just output") == ("just output", None)
    # A flow printed without a newline right before an event: both halves are kept.
    assert events.parse_line("progress: 50%" + line) == ("progress: 50%", events.parse_line(line)[1])
    # Something that only looks like an event is log text.
    assert events.parse_line("::deploytool-event::{broken") == ("::deploytool-event::{broken", None)


def test_pull_steps_fail_clearly_when_the_step_runner_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pull, "STEP_HOOK_MODULE", "deploytool.steps.not_there")
    reported: list[tuple[str, dict[str, object]]] = []
    with pytest.raises(pull.PullStepError, match="cannot run pull steps"):
        pull.run_pull_steps([{"name": "git_clone"}], tmp_path, lambda kind, **f: reported.append((kind, f)))
    assert reported[0][0] == "pull_failed"
