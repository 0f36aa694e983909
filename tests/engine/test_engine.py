"""`python -m deploytool.engine` end to end: a real subprocess, a flow file in tmp_path, a spec in the env."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from deploytool.engine import spec as contract
from tests.engine.helpers import ENGINE, engine_env, make_spec, parse_output, run_engine, write_flow

GREET = """
from deploytool import flow, get_run_logger

@flow(name="greet", log_prints=True)
def main(name: str, times: int = 1) -> dict:
    for _ in range(times):
        print(f"hello {name}")
    get_run_logger().warning("about to return")
    return {"greeted": name, "times": times}
"""


def test_success_with_parameters_reports_started_logs_and_result(tmp_path: Path) -> None:
    write_flow(tmp_path, GREET)
    run = run_engine(tmp_path, make_spec(parameters={"name": "Ada", "times": 2}))

    assert run.exit_code == contract.EXIT_COMPLETED
    assert run.kinds() == ["started", "flow_loaded", "attempt_started", "completed"]
    started = run.one("started")
    assert isinstance(started["pid"], int) and started["run_id"] == "run-1"
    assert run.logs() == [("INFO", "hello Ada"), ("INFO", "hello Ada"), ("WARNING", "about to return")]
    completed = run.one("completed")
    assert completed["result_repr"] == "{'greeted': 'Ada', 'times': 2}"
    assert completed["result_type"] == "dict"
    assert completed["exit_code"] == 0 and completed["attempts"] == 1


def test_plain_print_output_is_log_text_and_a_plain_function_works(tmp_path: Path) -> None:
    write_flow(tmp_path, "def main():\n    print('just a function')\n    return 'x' * 5000\n")
    run = run_engine(tmp_path, make_spec())
    assert run.exit_code == 0
    assert "just a function" in run.log
    assert len(run.one("completed")["result_repr"]) == 1000  # a result's repr is cut


def test_failure_reports_the_full_traceback_of_the_users_code(tmp_path: Path) -> None:
    write_flow(
        tmp_path,
        """
        def helper(n):
            return {}[n]

        def main(n: str = "missing-key"):
            return helper(n)
        """,
    )
    run = run_engine(tmp_path, make_spec())

    assert run.exit_code == contract.EXIT_FAILED
    failed = run.one("failed")
    assert failed["stage"] == "flow" and failed["error_type"] == "KeyError"
    assert failed["message"] == "'missing-key'"
    trace = failed["traceback"]
    assert trace.startswith("Traceback (most recent call last):")
    assert 'flows.py", line 6, in main' in trace and "line 3, in helper" in trace
    assert trace.rstrip().endswith("KeyError: 'missing-key'")
    assert "deploytool/engine" not in trace  # the engine's own frames are not the user's problem
    assert run.kinds()[-1] == "failed"


def test_retries_with_delay_then_success(tmp_path: Path) -> None:
    write_flow(
        tmp_path,
        """
        from pathlib import Path
        from deploytool import flow

        @flow(retries=2, retry_delay_seconds=0.2)
        def main():
            counter = Path("count")
            n = int(counter.read_text()) + 1 if counter.exists() else 1
            counter.write_text(str(n))
            if n < 3:
                raise RuntimeError(f"attempt {n} failed")
            return n
        """,
    )
    run = run_engine(tmp_path, make_spec())

    assert run.exit_code == 0
    assert run.kinds() == [
        "started", "flow_loaded",
        "attempt_started", "attempt_failed", "attempt_started", "attempt_failed", "attempt_started",
        "completed",
    ]  # fmt: skip
    first, second = (e for e in run.events if e["event"] == "attempt_failed")
    assert (first["attempt"], first["max_attempts"], first["will_retry"]) == (1, 3, True)
    assert first["retry_in_seconds"] == 0.2 and first["message"] == "attempt 1 failed"
    assert "RuntimeError: attempt 2 failed" in second["traceback"]
    assert run.one("completed")["attempts"] == 3


def test_flow_options_from_the_spec_override_the_decorator(tmp_path: Path) -> None:
    write_flow(
        tmp_path,
        """
        from deploytool import flow

        @flow(retries=5)
        def main():
            print("not logged unless log_prints")
            raise ValueError("no")
        """,
    )
    run = run_engine(tmp_path, make_spec(flow_options={"retries": 1, "log_prints": True}))
    assert run.exit_code == contract.EXIT_FAILED
    assert run.one("failed")["attempts"] == 2
    assert ("INFO", "not logged unless log_prints") in run.logs()


def test_timeout_exits_with_its_own_code(tmp_path: Path) -> None:
    write_flow(
        tmp_path,
        """
        import time
        from deploytool import flow

        @flow(timeout_seconds=0.5, retries=2)
        def main():
            time.sleep(30)
        """,
    )
    run = run_engine(tmp_path, make_spec())
    assert run.exit_code == contract.EXIT_TIMED_OUT
    timed_out = run.one("timed_out")
    assert timed_out["hard"] is False and timed_out["timeout_seconds"] == 0.5 and timed_out["attempt"] == 1
    assert "time.sleep(30)" in timed_out["traceback"]  # where the flow was when time ran out


def test_timeout_is_hard_even_when_the_flow_swallows_the_interruption(tmp_path: Path) -> None:
    write_flow(
        tmp_path,
        """
        import time

        def main():
            while True:
                try:
                    time.sleep(30)
                except BaseException:
                    pass
        """,
    )
    run = run_engine(tmp_path, make_spec(flow_options={"timeout_seconds": 0.3}))
    assert run.exit_code == contract.EXIT_TIMED_OUT  # the flow loops forever: only the hard timeout ends it
    assert run.one("timed_out")["hard"] is True


@pytest.mark.parametrize(
    ("entrypoint", "message", "hint"),
    [
        ("nowhere.py:main", "flow file nowhere.py not found", "relative to the directory"),
        ("flows.py:mian", "flows.py has no 'mian'", "did you mean 'main'?"),
        ("flows.py", "is not of the form", None),
        ("no_such_pkg.sub:main", "module 'no_such_pkg.sub' of the entrypoint not found", "sys.path"),
    ],
)
def test_an_entrypoint_that_cannot_be_loaded_exits_2_with_a_clear_message(
    tmp_path: Path, entrypoint: str, message: str, hint: str | None
) -> None:
    write_flow(tmp_path, "def main():\n    return 1\n")
    run = run_engine(tmp_path, make_spec(entrypoint))
    assert run.exit_code == contract.EXIT_NOT_STARTED
    failed = run.one("failed")
    assert failed["stage"] == "load"
    assert message in failed["message"]
    assert (hint is None and failed["hint"] is None) or (hint is not None and hint in failed["hint"])
    assert "attempt_started" not in run.kinds()


def test_an_error_while_importing_the_flow_file_keeps_its_traceback(tmp_path: Path) -> None:
    write_flow(tmp_path, "import not_installed_anywhere\n\ndef main():\n    pass\n")
    run = run_engine(tmp_path, make_spec())
    assert run.exit_code == contract.EXIT_NOT_STARTED
    failed = run.one("failed")
    assert failed["stage"] == "load" and failed["error_type"] == "ModuleNotFoundError"
    assert "No module named 'not_installed_anywhere'" in failed["message"]
    assert 'flows.py", line 1' in failed["traceback"]


def test_package_module_entrypoint_and_sibling_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "util.py").write_text("def double(x):\n    return 2 * x\n")
    (package / "jobs.py").write_text("from pkg.util import double\n\ndef main(x: int):\n    return double(x)\n")
    run = run_engine(tmp_path, make_spec("pkg.jobs:main", parameters={"x": 4}))
    assert run.exit_code == 0 and run.one("completed")["result_repr"] == "8"

    sub = tmp_path / "flows"
    sub.mkdir()
    (sub / "helpers.py").write_text("VALUE = 'sibling'\n")
    write_flow(sub, "import helpers\n\ndef main():\n    return helpers.VALUE\n", "job.py")
    run = run_engine(tmp_path, make_spec("flows/job.py:main"))
    assert run.exit_code == 0 and run.one("completed")["result_repr"] == "'sibling'"


def test_bad_parameters_name_each_problem(tmp_path: Path) -> None:
    write_flow(tmp_path, GREET)
    run = run_engine(tmp_path, make_spec(parameters={"nme": "x", "times": 1}))
    assert run.exit_code == contract.EXIT_NOT_STARTED
    failed = run.one("failed")
    assert failed["stage"] == "parameters"
    assert failed["message"] == "flow 'greet': unknown parameter 'nme'; missing required parameter 'name'"
    assert failed["hint"] == "the flow takes: name, times=1"


def test_missing_or_malformed_spec_exits_2(tmp_path: Path) -> None:
    run = run_engine(tmp_path, None)
    assert run.exit_code == contract.EXIT_NOT_STARTED
    assert run.one("failed")["message"] == "DEPLOYTOOL_RUN_SPEC is not set"

    env = engine_env(None) | {contract.SPEC_ENV: '{"run_id": 3}'}
    done = subprocess.run(ENGINE, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=20, check=False)
    events, _ = parse_output(done.stdout)
    assert done.returncode == contract.EXIT_NOT_STARTED
    assert events[-1]["stage"] == "spec" and "'run_id' must be a str" in events[-1]["message"]


def test_working_dir_of_the_spec_is_where_the_entrypoint_is_found(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write_flow(project, "import os\n\ndef main():\n    return os.getcwd()\n")
    run = run_engine(tmp_path, make_spec(working_dir=str(project)))
    assert run.exit_code == 0 and run.one("completed")["result_repr"] == repr(str(project))


def test_pull_steps_run_first_and_the_flow_runs_where_they_lead(tmp_path: Path) -> None:
    pytest.importorskip("deploytool.steps.pull", reason="the pull step runner is another change")
    project = tmp_path / "checkout"
    project.mkdir()
    write_flow(project, "import os\n\ndef main():\n    return os.getcwd()\n")
    steps = [{"name": "set_working_directory", "id": "wd", "inputs": {"directory": str(project)}}]
    run = run_engine(tmp_path, make_spec(pull_steps=steps))
    assert run.exit_code == 0, run.events
    assert run.one("pull_finished")["directory"] == str(project)
    assert run.one("completed")["result_repr"] == repr(str(project))


def test_a_failing_pull_step_exits_2_before_loading_the_flow(tmp_path: Path) -> None:
    pytest.importorskip("deploytool.steps.pull", reason="the pull step runner is another change")
    steps = [{"name": "set_working_directory", "id": "wd", "inputs": {"directory": str(tmp_path / "absent")}}]
    run = run_engine(tmp_path, make_spec(pull_steps=steps))
    assert run.exit_code == contract.EXIT_NOT_STARTED
    assert run.one("pull_failed")["message"] == run.one("failed")["message"]
    assert run.one("failed")["stage"] == "pull"
    assert "flow_loaded" not in run.kinds()
    # the step's own message says what failed and where: no traceback of deploytool's step runner in the log
    assert run.one("pull_failed")["traceback"] is None and run.one("failed")["traceback"] is None


def test_sigterm_ends_the_run_promptly_with_an_event(tmp_path: Path) -> None:
    write_flow(
        tmp_path,
        """
        import time

        def main():
            try:
                print("working", flush=True)
                time.sleep(60)
            finally:
                print("cleaning up", flush=True)
        """,
    )
    proc = subprocess.Popen(
        ENGINE, cwd=tmp_path, env=engine_env(make_spec()), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.strip() == "working":
            break
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=50)  # well before the flow's own sleep(60) would end
    assert proc.returncode == contract.EXIT_TERMINATED
    events, log = parse_output("".join(lines) + rest)
    assert "cleaning up" in log  # the flow's finally blocks ran
    assert events[-1]["event"] == "terminated" and events[-1]["signal"] == "SIGTERM"
    assert events[-1]["exit_code"] == 143


@pytest.mark.parametrize(
    ("call", "code"), [("sys.exit(0)", 0), ("sys.exit()", 0), ("sys.exit(3)", 1), ("sys.exit('no')", 1)]
)
def test_sys_exit_in_a_flow_completes_it_when_zero_and_fails_it_otherwise(tmp_path: Path, call: str, code: int) -> None:
    write_flow(tmp_path, f"import sys\nfrom deploytool import flow\n\n@flow(retries=2)\ndef main():\n    {call}\n")
    run = run_engine(tmp_path, make_spec())
    assert run.exit_code == code
    assert run.kinds() == ["started", "flow_loaded", "attempt_started", "completed" if code == 0 else "failed"]
    if code:
        failed = run.one("failed")
        assert failed["error_type"] == "SystemExit" and failed["message"] == f"the flow called {call}"


def test_a_syntax_error_in_the_flow_file_shows_the_line_not_the_import_machinery(tmp_path: Path) -> None:
    write_flow(tmp_path, "def main():\n    pass\nx = (\n")
    run = run_engine(tmp_path, make_spec())
    assert run.exit_code == contract.EXIT_NOT_STARTED
    failed = run.one("failed")
    assert failed["stage"] == "load" and failed["error_type"] == "SyntaxError"
    assert failed["traceback"].startswith('  File "') and 'flows.py", line 3' in failed["traceback"]
    assert "importlib" not in failed["traceback"] and "x = (" in failed["traceback"]
