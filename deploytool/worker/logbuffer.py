"""A run's log lines between its job and the store: numbered, bounded, and kept until they are stored.

Each line gets a key (the job's token and the line's number) when it arrives, and stays in the buffer until a
write of it is known to have committed (`Batch` → `stored`). A write that fails (the store is away) leaves the
lines where they are, and the next pass sends them again; a write whose COMMIT went through but whose answer
was lost is sent again too, and the store skips the keys it already has (`LogRepository.append(keys=...)`):
every line is stored once.

The buffer holds at most `MAX_LINES` lines or `MAX_BYTES` bytes of text per run, whichever is reached first
(normally it holds one pass's worth; it fills only while the store is away, or under a flood no store keeps up
with). Past that, the oldest lines are dropped, counted, and replaced by one WARNING line from the worker
saying how many lines and bytes were dropped, stored where they were. docs/worker.md, "When the store is away".
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from deploytool.models import LogLine

MAX_LINES = 100_000  # per run
MAX_BYTES = 32 * 1024 * 1024  # per run, of message text (UTF-8)
WORKER = "worker"


@dataclass(frozen=True)
class Batch:
    """Lines taken for one write: the lines, their keys, and how many dropped lines its marker line reports."""

    lines: list[LogLine]
    keys: list[str]
    dropped_lines: int = 0
    dropped_bytes: int = 0
    marker_key: str | None = None


class LineBuffer:
    """The unstored lines of one job. Not thread-safe by itself: RunOutput calls it under its lock."""

    def __init__(self, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES) -> None:
        self.max_lines, self.max_bytes = max_lines, max_bytes
        self._token = uuid.uuid4().hex[:16]
        self._numbers = itertools.count(1)
        self._lines: deque[tuple[str, LogLine, int]] = deque()
        self._bytes = 0
        self.dropped_lines = 0  # dropped and not yet reported by a stored marker line
        self.dropped_bytes = 0
        self._marker: tuple[str, LogLine] | None = None

    def __len__(self) -> int:
        return len(self._lines)

    def add(self, line: LogLine) -> None:
        size = len(line.message.encode("utf-8", "replace"))
        self._lines.append((self._key(), line, size))
        self._bytes += size
        while self._lines and (len(self._lines) > self.max_lines or self._bytes > self.max_bytes):
            _, _, gone = self._lines.popleft()
            self._bytes -= gone
            self.dropped_lines += 1
            self.dropped_bytes += gone
            self._marker = None  # said again with the new counts

    def take(self) -> Batch:
        """Every unstored line, oldest first (a marker line first when lines were dropped). They stay in the
        buffer until `stored(batch)`."""
        items = list(self._lines)
        if self.dropped_lines and self._marker is None:
            when = items[0][1].time if items else datetime.now(UTC)
            self._marker = (self._key(), LogLine(items[0][1].run_id if items else "", when, "WARNING", WORKER, ""))
        lines = [line for _, line, _ in items]
        keys = [key for key, _, _ in items]
        if self._marker is None:
            return Batch(lines, keys)
        key, marker = self._marker
        text = dropped_text(self.dropped_lines, self.dropped_bytes, self.max_lines, self.max_bytes)
        marker = LogLine(marker.run_id, marker.time, marker.level, marker.source, text)
        return Batch([marker, *lines], [key, *keys], self.dropped_lines, self.dropped_bytes, key)

    def stored(self, batch: Batch) -> None:
        """The batch was committed: forget its lines (lines dropped meanwhile were not in it anyway)."""
        done = set(batch.keys)
        while self._lines and self._lines[0][0] in done:
            _, _, size = self._lines.popleft()
            self._bytes -= size
        if batch.marker_key is not None:
            self.dropped_lines -= batch.dropped_lines
            self.dropped_bytes -= batch.dropped_bytes
            if self._marker is not None and self._marker[0] == batch.marker_key:
                self._marker = None

    def _key(self) -> str:
        return f"{self._token}:{next(self._numbers)}"


def dropped_text(lines: int, size: int, max_lines: int, max_bytes: int) -> str:
    limit = f"{max_bytes // 2**20} MiB" if max_bytes >= 2**20 else f"{max_bytes} bytes"
    return (
        f"{lines} line(s) ({size} bytes) of this run's output were dropped here: the worker keeps at most"
        f" {max_lines} lines or {limit} per run that are not stored yet (the store was unreachable, or the output"
        " came faster than it could be stored)"
    )
