"""Code run in separate OS processes (multiprocessing, spawn) by the concurrency tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from deploytool.models import Deployment, RunState
from deploytool.store import Store

GATE_SECONDS = 300.0  # a safety net for a hung test: the gate opens as soon as every process reaches it


def gate(folder: str, name: str, parties: int) -> None:
    """Wait until `parties` processes have reached this gate (a folder they each leave a file in).

    So that the processes really contend, however late a loaded machine starts each of them (a start time
    agreed in advance is missed when spawning an interpreter takes longer than planned).
    """
    where = Path(folder)
    where.mkdir(parents=True, exist_ok=True)
    (where / name).touch()
    deadline = time.monotonic() + GATE_SECONDS
    while sum(1 for _ in where.iterdir()) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {sum(1 for _ in where.iterdir())} of {parties} processes reached {folder}")
        time.sleep(0.005)


def claim_all(db_path: str, pool_name: str, worker: str, gates: str, parties: int) -> list[str]:
    """Claim runs until none is left; start each one (PENDING -> RUNNING) as a worker would.

    All start together; each claims one run and waits for the others to hold one too, so every process is
    inside its claim loop while the others claim the rest.
    """
    claimed: list[str] = []

    def claim() -> bool:
        run = store.runs.claim_next(pool_name, None, worker, 60, datetime.now(UTC))
        if run is None:
            return False
        store.runs.set_state(run.id, RunState.RUNNING, expect_worker=worker)
        claimed.append(run.id)
        return True

    with Store.open(db_path) as store:
        gate(f"{gates}/start", worker, parties)
        claim()
        gate(f"{gates}/first-claim", worker, parties)
        while claim():
            pass
    return claimed


def upsert_many(db_path: str, pool_name: str, prefix: str, count: int, gates: str, parties: int) -> int:
    """Upsert `count` deployments of its own plus a shared one, each batch in one transaction."""
    created = 0
    with Store.open(db_path) as store:
        gate(f"{gates}/start", prefix, parties)
        for batch in range(0, count, 10):
            with store.transaction():
                for i in range(batch, batch + 10):
                    _, new = store.deployments.upsert(Deployment("flow", f"{prefix}-{i}", "f.py:f", pool_name))
                    created += new
                store.deployments.upsert(Deployment("flow", "shared", "f.py:f", pool_name, version=prefix))
    return created


def open_fresh_and_write(db_path: str, name: str, gates: str, parties: int) -> str:
    """Open a store that may not exist yet (racing the others to create and migrate it) and write to it."""
    gate(f"{gates}/start", name, parties)
    with Store.open(db_path) as store:
        store.variables.set(name, name)
    return name
