"""Futures of submitted task runs (`TaskFuture`, `.map()`'s `TaskFutureList`, `wait`) and the thread-pool task
runner they run on. Standard library only (imported inside jobs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_futures
from typing import Any, Generic, NamedTuple, TypeVar

R = TypeVar("R")

COMPLETED, FAILED, RUNNING = "COMPLETED", "FAILED", "RUNNING"


class ThreadPoolTaskRunner:
    """Runs submitted task runs on a pool of threads: `@flow(task_runner=ThreadPoolTaskRunner(max_workers=4))`.

    `max_workers` None means Python's default, `min(32, CPUs + 4)`; 1 runs submitted tasks one at a time.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 1):
            raise ValueError(f"max_workers must be a positive integer or None, not {max_workers!r}")
        self.max_workers = max_workers
        self._executor: Executor | None = None
        self._lock = threading.Lock()

    def duplicate(self) -> ThreadPoolTaskRunner:
        """A fresh runner with the same settings (each flow run gets its own)."""
        return type(self)(self.max_workers)

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="deploytool-task")
            return self._executor.submit(fn)

    def shutdown(self, wait: bool = True) -> None:
        """Release the threads, after waiting for the task runs still going (`wait`), or dropping the ones
        not started yet (the flow run is ending with an error)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=not wait)

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers!r})"


class TaskFuture(Generic[R]):
    """The future of a submitted task run: `result()`, `wait()`, `done()`, `state`."""

    def __init__(self, run_name: str, future: Future[R]) -> None:
        self.name = run_name
        self._future = future

    @property
    def task_run_name(self) -> str:
        return self.name

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the task run ended, or `timeout` seconds passed."""
        wait_futures([self._future], timeout=timeout)

    def done(self) -> bool:
        return self._future.done()

    @property
    def state(self) -> str:
        """RUNNING (or waiting for a thread), COMPLETED or FAILED."""
        if not self._future.done():
            return RUNNING
        return FAILED if self._future.exception() is not None else COMPLETED

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> R:
        """The task's return value, waiting for it. A failed task run raises its error (or, with
        `raise_on_failure=False`, returns it); TimeoutError when `timeout` seconds pass first."""
        try:
            return self._future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(f"task run {self.name!r} did not finish within {timeout}s") from None
        except Exception as error:
            if raise_on_failure:
                raise
            return error  # type: ignore[return-value]

    def add_done_callback(self, fn: Callable[[TaskFuture[R]], None]) -> None:
        self._future.add_done_callback(lambda _: fn(self))

    def __repr__(self) -> str:
        return f"TaskFuture({self.name!r}, state={self.state})"


class TaskFutureList(list[TaskFuture[R]]):
    """The futures of `.map()`: a list, plus `result()` (the values, in order) and `wait()`."""

    def wait(self, timeout: float | None = None) -> None:
        wait(self, timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list[R]:
        deadline = None if timeout is None else time.monotonic() + timeout
        values = []
        for future in self:
            left = None if deadline is None else max(deadline - time.monotonic(), 0)
            values.append(future.result(left, raise_on_failure))
        return values


class DoneAndNotDone(NamedTuple):
    done: set[TaskFuture[Any]]
    not_done: set[TaskFuture[Any]]


def wait(futures: Iterable[TaskFuture[Any]], timeout: float | None = None) -> DoneAndNotDone:
    """Wait until every future is done (or `timeout` seconds passed); return the done and the not-done ones."""
    items = list(futures)
    by_future = {f._future: f for f in items}
    done, not_done = wait_futures(list(by_future), timeout=timeout)
    return DoneAndNotDone({by_future[f] for f in done}, {by_future[f] for f in not_done})
