"""Deleting flow runs (`flow-run delete`): kept beside FlowRunRepo, which holds the rest of their lifecycle."""

from __future__ import annotations

from collections.abc import Collection

from deploytool.models import RunState
from deploytool.store.runs import FlowRunRepo


class DeletableFlowRunRepo(FlowRunRepo):
    """FlowRunRepo with `delete` (the store's FlowRunRepository)."""

    def delete(self, run_id: str, states: Collection[RunState]) -> bool:
        """Delete the run, with its logs and task runs, if it is in one of `states`; whether it was deleted."""
        marks = ", ".join("?" * len(states))
        with self._db.transaction() as conn:
            sql = f"DELETE FROM flow_runs WHERE id = ? AND state IN ({marks})"
            return bool(conn.execute(sql, (run_id, *(s.value for s in states))).rowcount)
