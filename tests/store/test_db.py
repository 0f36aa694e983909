"""The database file: permissions, pragmas, migrations, transactions."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from deploytool.errors import ConflictError, DeploytoolError
from deploytool.models import WorkPool
from deploytool.store import Store
from deploytool.store.sqlite_migrate import migrations


def test_new_store_file_is_private(db_path: Path) -> None:
    Store.open(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


def test_store_uses_wal_and_foreign_keys(store: Store, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    store.pools.create(WorkPool("p", "process"))
    assert stat.S_IMODE(Path(f"{db_path}-wal").stat().st_mode) == 0o600


def test_opening_twice_migrates_once(db_path: Path) -> None:
    Store.open(db_path).close()
    with Store.open(db_path) as store:
        store.pools.create(WorkPool("p", "process"))
    with Store.open(db_path) as store:
        assert [p.name for p in store.pools.list()] == ["p"]
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
    conn.close()


def test_store_from_a_newer_deploytool_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(DeploytoolError, match="schema version 999") as err:
        Store.open(db_path)
    assert err.value.hint is not None and "newer deploytool" in err.value.hint


def test_a_file_that_is_not_a_database_is_a_clear_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_text("this is not sqlite, but it is long enough to have a header " * 20)
    with pytest.raises(DeploytoolError, match="not a usable deploytool store"):
        Store.open(db_path)


def test_memory_store_works(tmp_path: Path) -> None:
    with Store.open(":memory:") as store:
        store.pools.create(WorkPool("p", "process"))
        assert store.pools.get("p").type == "process"
    assert list(tmp_path.iterdir()) == []


def test_transaction_applies_all_or_nothing(store: Store) -> None:
    with pytest.raises(ConflictError), store.transaction():
        store.pools.create(WorkPool("a", "process"))
        store.pools.create(WorkPool("a", "process"))  # conflict: the whole block is rolled back
    assert store.pools.list() == []


def test_nested_failure_rolls_back_only_its_own_writes(store: Store) -> None:
    with store.transaction():
        store.pools.create(WorkPool("a", "process"))
        with pytest.raises(ConflictError):
            store.pools.create(WorkPool("a", "docker"))
        store.pools.create(WorkPool("b", "process"))
    assert [(p.name, p.type) for p in store.pools.list()] == [("a", "process"), ("b", "process")]


def test_naive_datetimes_are_refused(store: Store) -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match="naive"):
        store.workers.heartbeat("w", "p", "host", 1, datetime(2025, 1, 1))


def _hold_write_lock(db_path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_briefly_locked_store_is_waited_for(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("deploytool.store.db.BUSY_TIMEOUT_MS", 20)  # so our own retry loop is exercised too
    with Store.open(db_path) as store:
        other = _hold_write_lock(db_path)
        threading.Timer(0.3, other.rollback).start()
        store.variables.set("x", 1)  # waits for the other writer instead of failing
        assert store.variables.get("x").value == 1
        other.close()


def test_a_store_locked_too_long_is_a_clear_error(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("deploytool.store.db.BUSY_TIMEOUT_MS", 20)
    monkeypatch.setattr("deploytool.store.db.LOCK_TIMEOUT", 0.3)
    with Store.open(db_path) as store:
        other = _hold_write_lock(db_path)
        with pytest.raises(DeploytoolError, match="stayed locked") as err:
            store.variables.set("x", 1)
        assert err.value.hint is not None and "another deploytool process" in err.value.hint
        other.rollback()
        other.close()
        store.variables.set("x", 2)  # usable again once the lock is gone
        assert store.variables.get("x").value == 2


def test_deploytool_home_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a directory")
    with pytest.raises(DeploytoolError, match="cannot create the store's directory") as err:
        Store.open(home / "sub" / "deploytool.db")
    assert err.value.hint is not None and "DEPLOYTOOL_HOME" in err.value.hint
    assert home.read_text() == "not a directory"


def test_another_programs_sqlite_database_is_refused_and_left_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE work_pools (x)")  # clashes with ours: must not become a half-migrated store
    conn.execute("CREATE TABLE notes (y)")
    conn.commit()
    conn.close()
    with pytest.raises(DeploytoolError, match=r"not a deploytool store \(it has tables notes, work_pools\)"):
        Store.open(db_path)
    conn = sqlite3.connect(db_path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    assert tables == ["notes", "work_pools"]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()


def test_a_store_made_with_only_the_first_schema_upgrades_with_its_data(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.executescript(migrations()[0][1])
    conn.execute("PRAGMA user_version = 1")
    now = "2025-01-31T12:00:00.000000+00:00"
    conn.execute("INSERT INTO work_pools VALUES ('old', 'process', '{}', 3, 1, 'kept', ?, ?)", (now, now))
    conn.execute("INSERT INTO work_queues VALUES ('old', 'default', 1, NULL, 0, ?, ?)", (now, now))
    conn.execute(
        "INSERT INTO deployments (id, flow_name, flow_key, name, entrypoint, pool_name, queue_name, parameters,"
        " parameter_schema, job_variables, pull_steps, schedules, tags, enforce_parameter_schema, created, updated)"
        " VALUES ('d1', 'etl', 'etl', 'nightly', 'f.py:etl', 'old', 'default', '{\"n\": 1}', '{}', '{}', '[]',"
        ' \'[{"cron": "0 2 * * *"}]\', \'["t"]\', 0, ?, ?)',
        (now, now),
    )
    conn.execute("INSERT INTO variables VALUES ('v', '\"x\"', ?)", (now,))
    conn.commit()
    conn.close()
    with Store.open(db_path) as store:
        pool = store.pools.get("old")
        assert (pool.concurrency_limit, pool.paused, pool.description) == (3, True, "kept")
        dep = store.deployments.get_by_name("etl", "nightly")
        assert (dep.parameters, dep.tags, dep.catch_up, dep.crash_retries) == ({"n": 1}, ["t"], "latest", None)
        assert store.variables.get("v").value == "x"
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
    assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [v for v, _ in migrations()]
    conn.close()


def test_an_empty_store_file_is_refused_not_replaced_by_a_new_store(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch(mode=0o600)
    with pytest.raises(DeploytoolError, match=r"empty file \(0 bytes\)") as err:
        Store.open(db_path)
    assert err.value.hint is not None and "backup" in err.value.hint
    assert db_path.stat().st_size == 0  # left as it was


def test_the_cli_names_an_empty_store_file_and_a_readable_one(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli.cli_helpers import CLI

    cli = CLI(capsys, monkeypatch)
    store_file = isolated_home / "deploytool.db"
    isolated_home.mkdir(parents=True, exist_ok=True)
    store_file.touch()
    result = cli("work-pool", "ls")
    assert result.code != 0
    assert f"the store {store_file} is an empty file (0 bytes)" in result.err and "Traceback" not in result.err
    store_file.unlink()
    assert cli("work-pool", "ls").code == 0
    store_file.chmod(0o644)
    # In its own process, as a user runs it (pytest's log capture would swallow the warning in-process).
    done = subprocess.run(
        [sys.executable, "-m", "deploytool", "work-pool", "ls"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "had mode 0644 (other users could read block secrets); it is now 0600" in done.stderr


@pytest.mark.parametrize("mode", [0o644, 0o660, 0o606])
def test_a_store_readable_by_others_is_made_private_with_a_warning(
    db_path: Path, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    with Store.open(db_path) as store:
        store.variables.set("kept", 1)
    db_path.chmod(mode)
    with caplog.at_level("WARNING", logger="deploytool.store"), Store.open(db_path) as store:
        assert store.variables.get("kept").value == 1
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert f"had mode {mode:04o}" in caplog.text and "now 0600" in caplog.text


def test_a_private_store_opens_without_a_warning(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    Store.open(db_path).close()
    with caplog.at_level("WARNING", logger="deploytool.store"):
        Store.open(db_path).close()
    assert caplog.text == ""


def test_no_one_ever_sees_an_empty_store_while_many_create_it(tmp_path: Path) -> None:
    target = tmp_path / "race" / "deploytool.db"
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Store.open(target).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []
