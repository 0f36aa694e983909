"""The @flow decorator and calling a flow locally."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploytool import DockerImage, Flow, flow, get_run_logger
from deploytool.flows import FlowTimeoutError


def test_bare_decorator_makes_a_flow_named_after_the_function() -> None:
    @flow
    def load_daily_numbers(x: int) -> int:
        """Load the numbers of the day."""
        return x * 2

    assert isinstance(load_daily_numbers, Flow)
    assert load_daily_numbers.name == "load-daily-numbers"
    assert load_daily_numbers.description == "Load the numbers of the day."
    assert load_daily_numbers.__wrapped__ is load_daily_numbers.fn
    assert load_daily_numbers.__name__ == "load_daily_numbers"
    assert load_daily_numbers(21) == 42


def test_decorator_with_options() -> None:
    @flow(name="etl", retries=2, retry_delay_seconds=1, timeout_seconds=5, description="d", version="1.2")
    def my_flow() -> str:
        """Ignored: description was given."""
        return "ok"

    assert (my_flow.name, my_flow.retries, my_flow.retry_delay_seconds) == ("etl", 2, 1)
    assert (my_flow.timeout_seconds, my_flow.description, my_flow.version) == (5, "d", "1.2")
    assert my_flow() == "ok"
    assert my_flow.with_options(retries=0).retries == 0
    with pytest.raises(TypeError, match="unknown flow option"):
        my_flow.with_options(retry=1)


def test_retries_until_success_with_the_delay_between_attempts() -> None:
    calls: list[float] = []

    @flow(retries=2, retry_delay_seconds=0.1)
    def flaky() -> int:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise RuntimeError("not yet")
        return len(calls)

    assert flaky() == 3
    assert calls[1] - calls[0] >= 0.1
    assert calls[2] - calls[1] >= 0.1


def test_the_last_error_is_raised_when_retries_run_out() -> None:
    attempts = []

    @flow(retries=1)
    def always_fails() -> None:
        attempts.append(1)
        raise ValueError(f"attempt {len(attempts)}")

    with pytest.raises(ValueError, match="attempt 2"):
        always_fails()
    assert len(attempts) == 2


def test_timeout_interrupts_the_flow_and_is_not_retried() -> None:
    attempts = []

    finished = []

    @flow(timeout_seconds=0.2, retries=3)
    def slow() -> None:
        attempts.append(1)
        time.sleep(10)
        finished.append(1)

    with pytest.raises(FlowTimeoutError, match=r"timeout of 0\.2s"):
        slow()
    assert attempts == [1]
    assert finished == []  # interrupted in its sleep, not timed out after it


def test_log_prints_turns_print_into_run_log_records(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    @flow(log_prints=True)
    def chatty() -> None:
        print("hello", "world")
        get_run_logger().warning("careful")

    caplog.set_level(logging.INFO)
    chatty()
    print("after the flow")
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert ("deploytool.flow_run", "INFO", "hello world") in records
    assert ("deploytool.flow_run", "WARNING", "careful") in records
    assert capsys.readouterr().out == "after the flow\n"


def test_without_log_prints_print_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    @flow
    def quiet() -> None:
        print("plain")

    quiet()
    assert capsys.readouterr().out == "plain\n"


def test_a_flow_in_a_script_shows_its_logs_without_logging_configured(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "from deploytool import flow\n@flow(log_prints=True)\ndef hi():\n    print('from the flow')\nhi()\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=20, check=True)
    assert "INFO" in done.stderr and "from the flow" in done.stderr


def test_docker_image_placeholder_defaults() -> None:
    image = DockerImage(name="registry/app")
    assert (image.tag, image.dockerfile, image.build_options) == (None, "auto", {})


def test_importing_the_flow_api_stays_light() -> None:
    code = (
        "import sys; from deploytool import flow, get_run_logger\n"
        "heavy = {'yaml', 'jinja2', 'jsonschema', 'docker', 'typer', 'rich', 'sqlite3'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=True)
    assert done.stdout.strip() == "[]"


def test_flow_types_can_be_written_in_annotations_that_python_evaluates() -> None:
    """Flow is generic for type checkers only (a job does not import typing), yet `Flow[[int], str]` in a module
    without `from __future__ import annotations` still evaluates, and typing sees its origin and arguments."""
    import typing

    alias = Flow[[int], str]
    assert typing.get_origin(alias) is Flow and typing.get_args(alias) == ([int], str)

    def make() -> Flow[[int], str]:
        return flow(str)

    assert typing.get_type_hints(make)["return"] == alias
    assert isinstance(make(), Flow)
