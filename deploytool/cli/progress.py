"""Build and push output of `deploytool deploy`: a live display in a terminal, plain lines elsewhere (CI).

In a terminal the step output sink is a `LiveSteps`: it sets `wants_progress = True`, so the Docker steps also
send JSON events on the stream "progress" (deploytool.steps.docker_progress), and it draws one line per image
layer (per image and action: build pull, push) with its status and a bar when Docker gives sizes. Every other
line of output is printed above the display, as it comes. Without a terminal, lines are printed as they are.

rich is imported only when a live display is wanted.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

StepSink = Callable[[str, str], None]

DONE = frozenset(
    {"Pushed", "Layer already exists", "Pull complete", "Already exists", "Download complete", "Mounted from"}
)


def plain_line(stream: str, line: str) -> None:
    """The sink without a terminal: each line as it comes (stderr lines to stderr); progress events ignored."""
    if stream != "progress":
        print(line, file=sys.stderr if stream == "stderr" else sys.stdout)


@contextlib.contextmanager
def step_output(live: bool, plain: StepSink = plain_line, console: Any = None) -> Iterator[StepSink]:
    """The sink for step output: a LiveSteps display when `live` (a terminal), else `plain`."""
    if not live:
        yield plain
        return
    steps = LiveSteps(console=console)
    try:
        yield steps
    finally:
        steps.close()


class LiveSteps:
    """A step output sink that draws Docker's per-layer progress with rich.progress (see the module docstring)."""

    wants_progress = True

    def __init__(self, console: Any = None) -> None:
        self._console = console
        self._progress: Any = None
        self.tasks: dict[tuple[str, str, str], Any] = {}  # (action, ref, layer) -> rich task id
        self._layers: set[str] = set()

    def __call__(self, stream: str, line: str) -> None:
        if stream == "progress":
            self._event(line)
            return
        head = line.split(":", 1)[0]
        if head in self._layers:  # the plain "<layer>: <status>" line is already drawn as the layer's bar
            return
        console = self._progress.console if self._progress is not None else self._make_console()
        console.print(line, markup=False, highlight=False, style="red" if stream == "stderr" else None)

    def _make_console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=False)
        return self._console

    def _ensure_progress(self) -> Any:
        if self._progress is None:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
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
        total = event.get("total") if isinstance(event.get("total"), int) else None
        current = event.get("current") if isinstance(event.get("current"), int) else None
        if key not in self.tasks:
            self.tasks[key] = progress.add_task(description, total=total)
        task = self.tasks[key]
        finished = status in DONE or status.startswith("Mounted from")
        if finished:
            known = progress.tasks[[t.id for t in progress.tasks].index(task)].total
            progress.update(task, description=description, total=known or 1, completed=known or 1)
        elif current is not None:
            progress.update(task, description=description, total=total, completed=current)
        else:
            progress.update(task, description=description)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
