"""Tasks in-process: calling, submitting, mapping, futures, retries, timeouts, tags and log_prints."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from deploytool import flow, tags, task, unmapped, wait
from deploytool.runcontext import TaskListener, TaskRunInfo, set_task_listener
from deploytool.tasks import TaskFuture, TaskTimeoutError, ThreadPoolTaskRunner


class Recorder(TaskListener):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()

    def task_started(self, run: TaskRunInfo) -> None:
        with self.lock:
            self.events.append(("started", run.name, run.tags))

    def task_retrying(self, run: TaskRunInfo, attempt: int, error: BaseException, retry_in: float) -> None:
        with self.lock:
            self.events.append(("retrying", run.name, attempt, str(error), retry_in))

    def task_finished(self, run: TaskRunInfo, state: str, duration: float, error: BaseException | None) -> None:
        with self.lock:
            self.events.append(("finished", run.name, state, run.attempts[0], type(error).__name__ if error else None))


@pytest.fixture
def recorder() -> Any:
    listener = Recorder()
    set_task_listener(listener)
    yield listener
    set_task_listener(None)


def test_calling_a_task_runs_it_and_reports_the_task_run(recorder: Recorder) -> None:
    @task
    def double(x: int) -> int:
        return x * 2

    @flow
    def main() -> int:
        return double(21)

    assert main() == 42
    name = recorder.events[0][1]
    assert name.startswith("double-")
    assert recorder.events == [("started", name, ()), ("finished", name, "COMPLETED", 1, None)]


def test_submit_returns_a_future_and_map_runs_one_task_run_per_item(recorder: Recorder) -> None:
    @task
    def add(a: int, b: int) -> int:
        return a + b

    @flow
    def main() -> tuple[int, list[int]]:
        first = add.submit(1, 2)
        assert isinstance(first, TaskFuture)
        mapped = add.map([1, 2, 3], unmapped(10))
        later = add.submit(first, 100)  # a future as an argument is waited for and replaced by its value
        done, not_done = wait([first, *mapped])
        assert len(done) == 4 and not not_done
        return later.result(), mapped.result()

    assert main() == (103, [11, 12, 13])
    finished = [e for e in recorder.events if e[0] == "finished"]
    assert len(finished) == 5 and all(e[2] == "COMPLETED" for e in finished)


def test_map_refuses_iterables_of_different_lengths_and_no_iterable() -> None:
    @task
    def add(a: int, b: int) -> int:
        return a + b

    with pytest.raises(ValueError, match=r"same length \(argument 1: 2, b: 3\)"):
        add.map([1, 2], b=[1, 2, 3])
    with pytest.raises(TypeError, match="at least one iterable"):
        add.map(1, unmapped([1]))


def test_retries_then_success_and_failure_after_the_last_attempt(recorder: Recorder) -> None:
    calls = {"n": 0}

    @task(retries=2, retry_delay_seconds=0)
    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ValueError(f"try {calls['n']}")
        return "ok"

    @task(retries=1, retry_delay_seconds=[0])
    def always() -> None:
        raise RuntimeError("never")

    assert flaky() == "ok"
    with pytest.raises(RuntimeError, match="never"):
        always()
    kinds = [(e[0], *e[2:3]) if e[0] != "started" else ("started",) for e in recorder.events]
    assert kinds == [
        ("started",),
        ("retrying", 1),
        ("retrying", 2),
        ("finished", "COMPLETED"),
        ("started",),
        ("retrying", 1),
        ("finished", "FAILED"),
    ]
    assert recorder.events[3][3] == 3  # three attempts


def test_a_submitted_failure_is_raised_by_result_or_returned(recorder: Recorder) -> None:
    @task
    def bad() -> None:
        raise KeyError("k")

    @flow
    def main() -> Any:
        future = bad.submit()
        future.wait()
        assert future.state == "FAILED"
        returned = future.result(raise_on_failure=False)
        with pytest.raises(KeyError):
            future.result()
        return returned

    assert isinstance(main(), KeyError)


def test_a_task_attempt_past_its_timeout_fails_and_is_not_retried(recorder: Recorder) -> None:
    release = threading.Event()

    @task(timeout_seconds=0.05, retries=3)
    def stuck() -> None:
        release.wait()

    with pytest.raises(TaskTimeoutError, match=r"ran longer than its timeout of 0\.05s"):
        stuck()
    release.set()
    assert [e[0] for e in recorder.events] == ["started", "finished"]
    assert recorder.events[-1][2:] == ("FAILED", 1, "TaskTimeoutError")


def test_tags_of_the_decorator_and_of_a_tags_block_reach_the_task_run(recorder: Recorder) -> None:
    @task(tags=["etl"])
    def step() -> None:
        return None

    @flow
    def main() -> None:
        with tags("nightly"):
            step.submit().result()

    main()
    assert recorder.events[0][2] == ("etl", "nightly")


def test_the_flows_task_runner_limits_concurrency() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    @task
    def work(i: int) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def main() -> None:
        work.map(range(5)).result()

    main()
    assert peak[0] == 1


def test_submitted_task_runs_finish_before_the_flow_returns() -> None:
    finished: list[int] = []

    @task
    def slow(i: int) -> None:
        time.sleep(0.01)
        finished.append(i)

    @flow
    def main() -> None:
        slow.map(range(3))  # never waited for by the flow itself

    main()
    assert sorted(finished) == [0, 1, 2]


def test_log_prints_of_a_task_overrides_the_flows(caplog: pytest.LogCaptureFixture, capsys: Any) -> None:
    @task(log_prints=True)
    def loud() -> None:
        print("from the task")

    @task
    def quiet() -> None:
        print("plain print")

    @flow
    def main() -> None:
        loud.submit().result()
        quiet()

    with caplog.at_level(logging.INFO, logger="deploytool.flow_run"):
        main()
    assert [r.getMessage() for r in caplog.records] == ["from the task"]
    assert "plain print" in capsys.readouterr().out
    assert print.__module__ == "builtins"  # nothing left patched


def test_bad_task_options_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="retries must be 0 or more"):
        task(retries=-1)(lambda: None)
    with pytest.raises(TypeError, match="tags must be a list"):
        task(tags="abc")(lambda: None)
    with pytest.raises(ValueError, match="max_workers"):
        ThreadPoolTaskRunner(0)
