"""What the scheduler keeps in the store: per-schedule marks, and the auto-scheduled runs of a deployment.

Auto-scheduled runs are ordinary flow runs whose idempotency key is `scheduled:<deployment id>:<schedule id>:<time>`
(made by deploytool.scheduling); the key is what makes creating a slot twice impossible, whoever creates it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from deploytool.models import FlowRun
from deploytool.store.api import AUTO_PREFIX
from deploytool.store.rows import dt, ts
from deploytool.store.run_rows import SELECT, run_from_row
from deploytool.store.sql import Database


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ScheduleRepo:
    """Schedule marks (how far each schedule has been turned into runs) and auto-scheduled run queries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- marks ------------------------------------------------------------------------------------------

    def marks(self, deployment_id: str) -> dict[str, datetime]:
        """schedule id -> the latest slot already handled, for one deployment."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT schedule_id, until FROM schedule_marks WHERE deployment_id = ?", (deployment_id,)
            ).fetchall()
        return {row["schedule_id"]: dt(row["until"]) for row in rows}

    def set_mark(self, deployment_id: str, schedule_id: str, until: datetime) -> None:
        """Record that the schedule's slots up to `until` are handled (a mark never moves back)."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO schedule_marks (deployment_id, schedule_id, until) VALUES (?, ?, ?)"
                " ON CONFLICT (deployment_id, schedule_id) DO UPDATE SET until = CASE"
                " WHEN excluded.until > schedule_marks.until THEN excluded.until ELSE schedule_marks.until END",
                (deployment_id, schedule_id, ts(until)),
            )

    def clear_marks(self, deployment_id: str, keep: Collection[str] = ()) -> int:
        """Forget the marks of a deployment's schedules, except those in `keep`; return how many."""
        with self._db.transaction() as conn:
            marks = [
                r[0]
                for r in conn.execute(
                    "SELECT schedule_id FROM schedule_marks WHERE deployment_id = ?", (deployment_id,)
                )
            ]
            gone = [m for m in marks if m not in keep]
            conn.executemany(
                "DELETE FROM schedule_marks WHERE deployment_id = ? AND schedule_id = ?",
                [(deployment_id, m) for m in gone],
            )
        return len(gone)

    # --- auto-scheduled runs ----------------------------------------------------------------------------

    def waiting_runs(self, deployment_id: str) -> list[FlowRun]:
        """The deployment's auto-scheduled runs that are still SCHEDULED (not claimed), by scheduled time."""
        pattern = _escape_like(f"{AUTO_PREFIX}{deployment_id}:") + "%"
        with self._db.read() as conn:
            rows = conn.execute(
                f"{SELECT} WHERE deployment_id = ? AND state = 'SCHEDULED' AND idempotency_key LIKE ? ESCAPE '\\'"
                " ORDER BY scheduled_time",
                (deployment_id, pattern),
            ).fetchall()
        return [run_from_row(r) for r in rows]

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these idempotency keys are already used, by a run in any state."""
        wanted = list(keys)
        found: set[str] = set()
        with self._db.read() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = conn.execute(
                    f"SELECT idempotency_key FROM flow_runs WHERE idempotency_key IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                found.update(r[0] for r in rows)
        return found

    def delete_waiting(self, run_ids: Collection[str]) -> int:
        """Delete these runs if they are still SCHEDULED (a run claimed meanwhile is left alone)."""
        ids = list(run_ids)
        deleted = 0
        with self._db.transaction() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                deleted += conn.execute(
                    f"DELETE FROM flow_runs WHERE state = 'SCHEDULED' AND id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                ).rowcount
        return deleted
