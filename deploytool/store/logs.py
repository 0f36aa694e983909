"""Run logs: batched appends and incremental reads (for `logs --follow`)."""

from __future__ import annotations

from collections.abc import Sequence

from deploytool.models import LogLine
from deploytool.store.rows import dt, ts
from deploytool.store.sql import Database


class LogRepo:
    """Log lines of flow runs, numbered by an increasing id."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, run_id: str, lines: Sequence[LogLine], *, keys: Sequence[str] | None = None) -> int:
        """Insert the lines in one batched statement (their `run_id` and `id` are ignored); return the last id.

        `keys` (one per line) make the append idempotent: a line whose key the run already has is skipped, so
        a batch sent again after its COMMIT's answer was lost is stored once (docs/reliability.md)."""
        if not lines:
            return 0
        if keys is not None and len(keys) != len(lines):
            raise ValueError(f"{len(keys)} keys for {len(lines)} lines")
        given = keys if keys is not None else [None] * len(lines)
        rows = [
            (run_id, ts(line.time), line.level, line.source, line.message, key)
            for line, key in zip(lines, given, strict=True)
        ]
        with self._db.transaction() as conn:
            return self._db.insert_logs(conn, rows)

    def read(self, run_id: str, after_id: int | None = None, limit: int = 1000) -> list[LogLine]:
        """Up to `limit` lines of the run with id > `after_id`, oldest first (to follow: the last id seen)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT id, run_id, time, level, source, message FROM logs"
                " WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?",
                (run_id, after_id or 0, limit),
            ).fetchall()
        return [
            LogLine(
                id=r["id"],
                run_id=r["run_id"],
                time=dt(r["time"]),
                level=r["level"],
                source=r["source"],
                message=r["message"],
            )
            for r in rows
        ]
