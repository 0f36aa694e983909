"""Build and push output of `deploytool deploy`: a live display in a terminal, plain lines elsewhere (CI).

In a terminal the step output sink is a `LiveSteps`: it sets `wants_progress = True`, so the Docker steps also
send JSON events on the stream "progress" (deploytool.steps.docker_progress), and it draws one line per image
layer (per image and action: build pull, push) with its status and a bar when Docker gives sizes (never past
100%: Docker's byte counts can overshoot the layer's total). A build shows one updating line per Dockerfile step
(`Step 3/9 : RUN pip install ...` with its latest output line beside it); the step's full output is printed only
when the build fails (or always with `deploy --verbose`). Every other line is printed above the display, as it
comes. Without a terminal, lines are printed as they are.

rich is imported only when a live display is wanted.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

StepSink = Callable[[str, str], None]

_BUILD_STEP = re.compile(r"^Step \d+/\d+ : ")
DONE = frozenset(
    {"Pushed", "Layer already exists", "Pull complete", "Already exists", "Download complete", "Mounted from"}
)


def plain_line(stream: str, line: str) -> None:
    """The sink without a terminal: each line as it comes (stderr lines to stderr); progress events ignored."""
    if stream != "progress":
        print(line, file=sys.stderr if stream == "stderr" else sys.stdout)


@contextlib.contextmanager
def step_output(
    live: bool, plain: StepSink = plain_line, console: Any = None, *, verbose: bool = False
) -> Iterator[StepSink]:
    """The sink for step output: a LiveSteps display when `live` (a terminal), else `plain`."""
    if not live:
        yield plain
        return
    steps = LiveSteps(console=console, verbose=verbose)
    try:
        yield steps
    finally:
        steps.close()


class LiveSteps:
    """A step output sink that draws Docker's per-layer progress with rich.progress (see the module docstring)."""

    wants_progress = True

    def __init__(self, console: Any = None, *, verbose: bool = False) -> None:
        self._console = console
        self._verbose = verbose
        self._progress: Any = None
        self.tasks: dict[tuple[str, str, str], Any] = {}  # (action, ref, layer) -> rich task id
        self._layers: set[str] = set()
        self._step: tuple[Any, str] | None = None  # the build step being drawn: (task id, its "Step n/m" line)
        self._step_lines: list[str] = []  # its output, printed if the build fails

    def __call__(self, stream: str, line: str) -> None:
        if stream == "progress":
            self._event(line)
            return
        head = line.split(":", 1)[0]
        if head in self._layers:  # the plain "<layer>: <status>" line is already drawn as the layer's bar
            return
        if not self._verbose and stream == "stdout" and _BUILD_STEP.match(line):
            self._start_step(line)
            return
        if not self._verbose and stream == "stdout" and self._step is not None and not _ends_build(line):
            self._step_lines.append(line)
            task, title = self._step
            self._ensure_progress().update(task, description=f"{title}  {_short(line)}")
            return
        if stream == "stderr" and self._step_lines:  # a failure: the failing step's whole output first
            for kept in self._step_lines:
                self._print(kept, "stdout")
            self._step_lines = []
        if _ends_build(line) or stream == "stderr":
            self._end_step()
        self._print(line, stream)

    def _start_step(self, line: str) -> None:
        self._end_step()
        progress = self._ensure_progress()
        self._step = (progress.add_task(_short(line, 100), total=None, size=""), _short(line, 100))
        self._step_lines = []

    def _end_step(self) -> None:
        if self._step is not None:
            task, title = self._step
            self._ensure_progress().update(task, description=title, total=1, completed=1)
            self._step = None

    def _print(self, line: str, stream: str) -> None:
        console = self._progress.console if self._progress is not None else self._make_console()
        console.print(line, markup=False, highlight=False, style="red" if stream == "stderr" else None)

    def _make_console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=False)
        return self._console

    def _ensure_progress(self) -> Any:
        if self._progress is None:
            from rich.progress import BarColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[size]}"),
                console=self._make_console(),
                transient=False,
            )
            self._progress.start()
        return self._progress

    def _event(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict) or not isinstance(event.get("layer"), str):
            return
        progress = self._ensure_progress()
        action, ref, layer = str(event.get("action", "")), str(event.get("ref", "")), event["layer"]
        status = str(event.get("status", ""))
        self._layers.add(layer)
        key = (action, ref, layer)
        description = f"{action} {ref} {layer}: {status}"
        total = event.get("total") if isinstance(event.get("total"), int) and event["total"] > 0 else None
        current = event.get("current") if isinstance(event.get("current"), int) else None
        if key not in self.tasks:
            self.tasks[key] = progress.add_task(description, total=total, size="")
        task = self.tasks[key]
        finished = status in DONE or status.startswith("Mounted from")
        if finished:
            known = progress.tasks[[t.id for t in progress.tasks].index(task)].total
            size = _size(known, known) if known else ""
            progress.update(task, description=description, total=known or 1, completed=known or 1, size=size)
        elif current is not None:
            # Docker counts bytes sent (with protocol overhead) against the layer's size: cap at 100%.
            done = min(current, total) if total is not None else current
            progress.update(task, description=description, total=total, completed=done, size=_size(done, total))
        else:
            progress.update(task, description=description)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _ends_build(line: str) -> bool:
    return line.startswith(("Successfully built ", "Successfully tagged "))


def _short(line: str, width: int = 60) -> str:
    line = " ".join(line.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _size(current: int | None, total: int | None) -> str:
    """`12.3/45.6 MB` (current never above total), or the current size alone when the total is unknown."""
    if current is None:
        return ""
    if total is None:
        return f"{current / 1e6:.1f} MB"
    return f"{min(current, total) / 1e6:.1f}/{total / 1e6:.1f} MB"
