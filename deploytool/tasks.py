"""Tasks: `@task`, futures from `.submit()`/`.map()`, `unmapped`, `wait`, and the thread-pool task runner.

This module is imported inside jobs (by flow code), so it imports the standard library only.

    @task(retries=2, retry_delay_seconds=1)
    def extract(n: int) -> list[int]: ...

    @flow
    def etl() -> None:
        rows = extract(3)                                  # runs here and now, returns the value
        future = extract.submit(3)                         # runs on the flow's task runner, returns a TaskFuture
        futures = load.map(rows, target=unmapped("db"))    # one task run per item
        wait(futures)

Every call, submission or mapped item is a *task run* (`extract-0`, `extract-1`, ...): with retries (a number,
or a list of delays, one per retry), a timeout per attempt, tags (from `tags=` and any `with tags(...)` block)
and `log_prints`. Inside a job the engine reports each task run's start, retries and end (with its duration)
as events, which become lines of the run's log and the task runs `flow-run inspect` lists (docs/engine.md).

The task runner of a flow is `@flow(task_runner=ThreadPoolTaskRunner(max_workers=N))`; the default is a
thread pool of `min(32, CPUs + 4)` threads (Python's default), created on the first `.submit()` of a flow run
and shut down (waiting for the task runs still going) when the flow run ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

from deploytool.flows import RetryDelay, retry_delay
from deploytool.futures import (
    COMPLETED,
    FAILED,
    DoneAndNotDone,
    TaskFuture,
    TaskFutureList,
    ThreadPoolTaskRunner,
    wait,
)
from deploytool.runcontext import TaskRunInfo, current_flow_run, log_prints_scope, task_listener

__all__ = [
    "DoneAndNotDone",
    "Task",
    "TaskFuture",
    "TaskFutureList",
    "TaskTimeoutError",
    "ThreadPoolTaskRunner",
    "tags",
    "task",
    "unmapped",
    "wait",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class TaskTimeoutError(TimeoutError):
    """An attempt of a task ran longer than its `timeout_seconds`."""


_listener_lock = threading.Lock()
_counters: dict[str, itertools.count[int]] = {}
_current_tags: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("deploytool_tags", default=())


def _next_run_name(task_name: str) -> str:
    with _listener_lock:
        counter = _counters.setdefault(task_name, itertools.count())
        return f"{task_name}-{next(counter)}"


@contextlib.contextmanager
def tags(*names: str) -> Iterator[set[str]]:
    """Add tags to every task run started inside the block (nested blocks add up), as Prefect's `tags`."""
    current = _current_tags.get()
    merged = tuple(dict.fromkeys((*current, *names)))
    token = _current_tags.set(merged)
    try:
        yield set(merged)
    finally:
        _current_tags.reset(token)


class unmapped(Generic[T]):  # Prefect's spelling
    """Wrap an argument of `.map()` that is passed whole to every task run instead of being iterated."""

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"unmapped({self.value!r})"


_default_runner: ThreadPoolTaskRunner | None = None


def _runner() -> ThreadPoolTaskRunner:
    # The current flow run's runner (made from the flow's task_runner option on first use), or outside a flow
    # one process-wide pool.
    global _default_runner
    context = current_flow_run()
    if context is not None:
        return context.task_runner(ThreadPoolTaskRunner)  # type: ignore[return-value]
    with _listener_lock:
        if _default_runner is None:
            _default_runner = ThreadPoolTaskRunner()
        return _default_runner


def _resolve(value: Any) -> Any:
    # Futures passed as arguments are waited for and replaced by their results (inside lists, tuples, sets and
    # dicts too), as in Prefect: a task that takes another's future runs after it.
    if isinstance(value, TaskFuture):
        return value.result()
    if isinstance(value, unmapped):
        return _resolve(value.value)
    if isinstance(value, list | tuple | set):
        items = [_resolve(v) for v in value]
        return type(value)(items) if not isinstance(value, tuple) or type(value) is tuple else value
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    return value


class Task(Generic[P, R]):
    """A function made into a task by `@task`. Calling it runs it at once; `.submit()` and `.map()` run it on
    the flow's task runner and return futures."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        retries: int = 0,
        retry_delay_seconds: RetryDelay = 0,
        timeout_seconds: float | None = None,
        tags: Iterable[str] | None = None,
        log_prints: bool | None = None,
        description: str | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@task needs a function, not {type(fn).__name__}")
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be 0 or more, not {retries!r}")
        if timeout_seconds is not None and timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, not {timeout_seconds}")
        if isinstance(tags, str):
            raise TypeError(f"tags must be a list of strings, not the string {tags!r}")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "task"))
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.timeout_seconds = timeout_seconds
        self.tags: tuple[str, ...] = tuple(tags or ())
        self.log_prints = log_prints
        self.description = description if description is not None else inspect.getdoc(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"Task(name={self.name!r}, fn={getattr(self.fn, '__qualname__', self.fn)!r})"

    def with_options(self, **options: Any) -> Task[P, R]:
        """A copy of this task with some options replaced (the same keywords as `@task`)."""
        current: dict[str, Any] = {
            "name": self.name,
            "retries": self.retries,
            "retry_delay_seconds": self.retry_delay_seconds,
            "timeout_seconds": self.timeout_seconds,
            "tags": self.tags,
            "log_prints": self.log_prints,
            "description": self.description,
        }
        unknown = sorted(set(options) - set(current))
        if unknown:
            raise TypeError(f"unknown task option(s): {', '.join(unknown)}")
        return Task(self.fn, **{**current, **options})

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._run(_next_run_name(self.name), args, kwargs)

    def submit(self, *args: Any, wait_for: Iterable[Any] | None = None, **kwargs: Any) -> TaskFuture[R]:
        """Run the task on the flow's task runner; returns its TaskFuture at once. Futures among the arguments
        (or in `wait_for`) are waited for first, and replaced by their results."""
        return self._submit(_next_run_name(self.name), args, kwargs, wait_for)

    def map(self, *args: Any, wait_for: Iterable[Any] | None = None, **kwargs: Any) -> TaskFutureList[R]:
        """Submit one task run per item of the iterable arguments (all of the same length); an argument
        wrapped in `unmapped(...)`, a string, bytes or a non-iterable value is passed whole to every run."""
        mapped: dict[int | str, list[Any]] = {}
        pairs: list[tuple[int | str, Any]] = [*enumerate(args), *kwargs.items()]
        for key, value in pairs:
            if _is_mapped(value):
                mapped[key] = list(value.result() if isinstance(value, TaskFuture) else value)
        if not mapped:
            raise TypeError(f"task {self.name!r}: .map() needs at least one iterable argument")
        lengths = {k: len(v) for k, v in mapped.items()}
        if len(set(lengths.values())) > 1:
            sizes = ", ".join(f"{k if isinstance(k, str) else f'argument {k + 1}'}: {n}" for k, n in lengths.items())
            raise ValueError(f"task {self.name!r}: .map() needs iterables of the same length ({sizes})")
        futures: TaskFutureList[R] = TaskFutureList()
        for index in range(next(iter(lengths.values()))):
            call_args = [mapped[i][index] if i in mapped else a for i, a in enumerate(args)]
            call_kwargs = {k: mapped[k][index] if k in mapped else v for k, v in kwargs.items()}
            futures.append(self._submit(_next_run_name(self.name), tuple(call_args), call_kwargs, wait_for))
        return futures

    def _submit(
        self, run_name: str, args: Sequence[Any], kwargs: dict[str, Any], wait_for: Iterable[Any] | None
    ) -> TaskFuture[R]:
        context = contextvars.copy_context()  # the flow run, tags and log_prints reach the task's thread
        upstream = list(wait_for or ())

        def run() -> R:
            for item in upstream:
                if isinstance(item, TaskFuture):
                    item.wait()
            return context.run(self._run, run_name, _resolve(list(args)), _resolve(dict(kwargs)))

        return TaskFuture(run_name, _runner().submit(run))

    def _run(self, run_name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> R:
        args = [_resolve(a) for a in args]
        kwargs = {k: _resolve(v) for k, v in kwargs.items()}
        max_attempts = self.retries + 1
        run_tags = tuple(dict.fromkeys((*self.tags, *_current_tags.get())))
        info = TaskRunInfo(os.urandom(16).hex(), run_name, self.name, max_attempts, run_tags, [1])
        listener = task_listener()
        started = time.monotonic()
        listener.task_started(info)
        attempt = 1
        while True:
            info.attempts[0] = attempt
            try:
                with log_prints_scope(self.log_prints):
                    result = self._attempt(run_name, args, kwargs)
            except Exception as error:
                if attempt >= max_attempts or isinstance(error, TaskTimeoutError):
                    listener.task_finished(info, FAILED, time.monotonic() - started, error)
                    raise
                delay = retry_delay(self.retry_delay_seconds, attempt)
                listener.task_retrying(info, attempt, error, delay)
                time.sleep(delay)
                attempt += 1
                continue
            listener.task_finished(info, COMPLETED, time.monotonic() - started, None)
            return result

    def _attempt(self, run_name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> R:
        if self.timeout_seconds is None:
            return _call(self.fn, args, kwargs)  # type: ignore[no-any-return]
        # A thread cannot be interrupted from outside: the attempt runs in a thread of its own, and the task run
        # fails with TaskTimeoutError at the limit (the abandoned thread is asked to stop at its next line).
        box: list[Any] = []
        context = contextvars.copy_context()

        def target() -> None:
            try:
                box.append((True, context.run(_call, self.fn, args, kwargs)))
            except BaseException as error:
                box.append((False, error))

        worker = threading.Thread(target=target, name=f"deploytool-task-{run_name}", daemon=True)
        worker.start()
        worker.join(self.timeout_seconds)
        if worker.is_alive():
            _interrupt(worker)
            raise TaskTimeoutError(f"task run {run_name!r} ran longer than its timeout of {self.timeout_seconds:g}s")
        ok, value = box[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


def _call(fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    result = fn(*args, **kwargs)
    if inspect.iscoroutine(result):
        import asyncio  # only async tasks pay for asyncio

        result = asyncio.run(result)
    return result


def _interrupt(thread: threading.Thread) -> None:
    # Raise TaskTimeoutError in the abandoned thread at its next Python line (a thread blocked in C code, e.g.
    # time.sleep, sees it when the call returns). Best effort; ctypes is loaded only here.
    import ctypes

    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(TaskTimeoutError))


def _is_mapped(value: Any) -> bool:
    if isinstance(value, unmapped | str | bytes | bytearray):
        return False
    if isinstance(value, TaskFuture):
        return True  # a future's result is iterated (Prefect maps over an upstream's list)
    try:
        iter(value)
    except TypeError:
        return False
    return True


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_seconds: RetryDelay = 0,
    timeout_seconds: float | None = None,
    tags: Iterable[str] | None = None,
    log_prints: bool | None = None,
    description: str | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_seconds: RetryDelay = 0,
    timeout_seconds: float | None = None,
    tags: Iterable[str] | None = None,
    log_prints: bool | None = None,
    description: str | None = None,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Make a function a task: `@task` or `@task(name=..., retries=..., timeout_seconds=..., tags=[...])`.

    `log_prints` None (the default) follows the flow's setting; True or False overrides it for this task.
    """

    def decorate(f: Callable[P, R]) -> Task[P, R]:
        return Task(
            f,
            name=name,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            timeout_seconds=timeout_seconds,
            tags=tags,
            log_prints=log_prints,
            description=description,
        )

    return decorate(fn) if fn is not None else decorate
