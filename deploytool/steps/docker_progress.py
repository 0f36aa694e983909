"""Turning the Docker daemon's JSON build and push streams into lines of output and progress events.

Every step output goes through `StepContext.emit` as plain lines (what CI logs show): build output line by line,
and for layers (pull and push) one line per change of state (`3f4e5a: Pushing`, `3f4e5a: Pushed`), never the
per-chunk progress bars.

A sink that sets the attribute `wants_progress = True` (a terminal renderer, for a live display) also receives
structured events on the stream "progress": one JSON object per line,
`{"action": "build"|"push", "ref": "name:tag", "layer": "3f4e5a", "status": "Pushing", "current": 1234,
"total": 5678}` (`current`/`total` in bytes, present when Docker reports them). A sink without the attribute
never sees the "progress" stream.
"""

from __future__ import annotations

import json
import re
from typing import Any

from deploytool.steps.base import StepContext

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOISY = {"Downloading", "Extracting", "Pushing", "Waiting", "Preparing"}  # shown once per layer


class DockerStream:
    """Feed it the decoded JSON events of one build or push; it emits lines and keeps what the step needs."""

    def __init__(self, ctx: StepContext, action: str, ref: str) -> None:
        self.ctx = ctx
        self.action = action
        self.ref = ref
        self.image_id: str | None = None
        self.digest: str | None = None
        self.error: str | None = None
        self._partial = ""
        self._layer_status: dict[str, str] = {}
        self.progress = bool(getattr(ctx.on_output, "wants_progress", False))

    def feed(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        if "error" in event or "errorDetail" in event:
            detail = event.get("errorDetail") or {}
            message = event.get("error") or (detail.get("message") if isinstance(detail, dict) else None)
            self.error = str(message or "unknown error").strip()
            self._flush()
            self.ctx.emit("stderr", self.error)
            return
        aux = event.get("aux")
        if isinstance(aux, dict):
            if isinstance(aux.get("ID"), str):
                self.image_id = aux["ID"]
            if isinstance(aux.get("Digest"), str):
                self.digest = aux["Digest"]
        text = event.get("stream")
        if isinstance(text, str):
            self._text(text)
        status = event.get("status")
        if isinstance(status, str):
            self._status(status, event)

    def finish(self) -> None:
        self._flush()

    def _text(self, text: str) -> None:
        text = self._partial + _ANSI.sub("", text)
        *lines, self._partial = text.split("\n")
        for line in lines:
            line = line.rstrip("\r")
            if line.strip():
                self.ctx.emit("stdout", line)

    def _flush(self) -> None:
        if self._partial.strip():
            self.ctx.emit("stdout", self._partial.rstrip("\r"))
        self._partial = ""

    def _status(self, status: str, event: dict[str, Any]) -> None:
        layer = event.get("id")
        if not isinstance(layer, str) or not layer:
            self.ctx.emit("stdout", status)
            return
        if self.progress:
            raw = event.get("progressDetail")
            detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
            payload: dict[str, Any] = {"action": self.action, "ref": self.ref, "layer": layer, "status": status}
            for key in ("current", "total"):
                if isinstance(detail.get(key), int):
                    payload[key] = detail[key]
            if self.ctx.on_output is not None:
                self.ctx.on_output("progress", json.dumps(payload))
        previous = self._layer_status.get(layer)
        if previous == status and status in _NOISY:
            return
        self._layer_status[layer] = status
        self.ctx.emit("stdout", f"{layer}: {status}")
