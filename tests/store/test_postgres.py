"""The PostgreSQL store's own behaviour: schema and migrations, bad databases, connections, clock, indexes.

The repositories' behaviour is the contract suite's (test_contract.py, run against PostgreSQL too).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from deploytool.errors import DeploytoolError
from deploytool.models import Deployment, FlowRun, LogLine, RunState, WorkPool, new_id
from deploytool.store import Store, migrate_store
from deploytool.store import postgres as pg_backend
from deploytool.store.pg_migrate import MIGRATE_LOCK, latest, scripts
from tests.store import pg_cluster as pg
from tests.store.helpers import NOW


def _url_with(url: str, user: str, password: str | None = None) -> str:
    rest = url.split("@", 1)[1]
    return f"postgresql://{user}{':' + password if password else ''}@{rest}"


# --- schema --------------------------------------------------------------------------------------------------


def test_an_empty_database_is_made_a_store_by_store_migrate_only(postgres: pg.Cluster) -> None:
    url = postgres.empty_database()
    with pytest.raises(DeploytoolError, match="has no deploytool store yet") as err:
        Store.open(url)
    assert err.value.hint is not None and "deploytool store migrate" in err.value.hint
    assert migrate_store(url) == (latest(), list(range(1, latest() + 1)))
    assert migrate_store(url) == (latest(), [])
    with Store.open(url) as store:
        assert store.schema_version() == latest() and store.backend == "postgresql"


def test_two_migrations_at_once_apply_each_script_once(postgres: pg.Cluster) -> None:
    url = postgres.empty_database()
    results: list[tuple[int, list[int]]] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        results.append(migrate_store(url))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(applied for _, applied in results) == [[], [], [], list(range(1, latest() + 1))]
    with Store.open(url) as store:
        assert store.schema_version() == latest()


def test_a_database_of_another_program_is_never_touched(postgres: pg.Cluster) -> None:
    url = postgres.empty_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id int)")
    for attempt in (lambda: Store.open(url), lambda: migrate_store(url)):
        with pytest.raises(
            DeploytoolError, match=r"not a deploytool store: it has tables of another program \(accounts\)"
        ):
            attempt()
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert tables == ["accounts"]


def test_a_schema_from_a_newer_deploytool_is_refused(postgres: pg.Cluster) -> None:
    url = postgres.fresh_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO deploytool_schema (version, applied) VALUES (99, 'later')")
    for attempt in (lambda: Store.open(url), lambda: migrate_store(url)):
        with pytest.raises(DeploytoolError, match="schema version 99, but this deploytool knows only up to") as err:
            attempt()
        assert err.value.hint is not None and "upgrade deploytool" in err.value.hint


def test_an_older_schema_asks_for_migrate_and_a_running_migration_says_so(postgres: pg.Cluster) -> None:
    url = postgres.empty_database()
    with psycopg.connect(url, autocommit=True) as conn:  # a store migrated by the previous deploytool
        conn.execute("CREATE TABLE deploytool_schema (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)")
        for number, script in scripts()[:-1]:
            conn.execute(script)  # type: ignore[arg-type]
            conn.execute("INSERT INTO deploytool_schema VALUES (%s, 'then')", (number,))
    with pytest.raises(DeploytoolError, match=f"has schema version {latest() - 1}; this deploytool needs") as err:
        Store.open(url)
    assert err.value.hint is not None and "store migrate" in err.value.hint
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))  # as a `store migrate` in progress
        with pytest.raises(DeploytoolError, match="is being migrated right now"):
            Store.open(url)
    assert migrate_store(url) == (latest(), [latest()])
    Store.open(url).close()


# --- connections ---------------------------------------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_named_by_host_and_port_without_the_password() -> None:
    port = _closed_port()
    with pytest.raises(DeploytoolError) as err:
        Store.open(f"postgresql://app:s3cret-Pw@127.0.0.1:{port}/deploytool")
    text = f"{err.value.message} {err.value.hint}"
    assert f"cannot connect to the PostgreSQL store at 127.0.0.1:{port}" in text
    assert "postgresql://app:***@127.0.0.1" in text and "s3cret-Pw" not in text
    assert "server runs" in (err.value.hint or "")


def test_wrong_credentials_are_a_clear_error_and_the_password_comes_from_where_libpq_looks(
    postgres: pg.Cluster, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.fresh_database()
    with pytest.raises(DeploytoolError, match="password authentication failed") as err:
        Store.open(_url_with(url, pg.PASSWORD_USER, "Wr0ng-Secret"))
    assert "Wr0ng-Secret" not in f"{err.value.message} {err.value.hint}"
    assert "PGPASSWORD" in (err.value.hint or "")
    plain = _url_with(url, pg.PASSWORD_USER)
    monkeypatch.setenv("PGPASSWORD", pg.PASSWORD)
    Store.open(plain).close()
    monkeypatch.delenv("PGPASSWORD")
    pgpass = Path.home() / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres.port}:*:{pg.PASSWORD_USER}:{pg.PASSWORD.replace(':', chr(92) + ':')}\n")
    pgpass.chmod(0o600)
    with Store.open(plain) as store:
        assert store.url == plain


def test_a_connection_cut_in_a_transaction_stores_nothing_and_the_next_call_reconnects(postgres: pg.Cluster) -> None:
    url = postgres.fresh_database()
    with Store.open(url) as store:
        store.pools.create(WorkPool("p", "process"))
        backend_pid = _backend_pid(store)
        with pytest.raises(DeploytoolError, match=r"connection to the store at 127\.0\.0\.1:\d+ was lost") as err:
            with store.transaction():
                store.deployments.upsert(Deployment("f", "a", "f.py:f", "p"))
                _terminate(url, backend_pid)
                store.deployments.upsert(Deployment("f", "b", "f.py:f", "p"))
        assert err.value.hint is not None and "nothing of the interrupted change was stored" in err.value.hint
        assert store.deployments.list() == []  # all or nothing; and this call reconnected
        store.deployments.upsert(Deployment("f", "c", "f.py:f", "p"))
        _terminate(url, _backend_pid(store))
        assert [d.name for d in store.deployments.list()] == ["c"]  # an idle connection cut: reopened


def _backend_pid(store: Store) -> int:
    with psycopg.connect(store.url) as conn:  # trust auth: the URL has no password
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name = 'deploytool'"
        ).fetchall()
    assert len(rows) == 1
    return int(rows[0][0])


def _terminate(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


# --- the database's clock ------------------------------------------------------------------------------------


def test_times_come_from_the_database_clock_even_when_this_hosts_clock_is_off(
    postgres: pg.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    skewed = timedelta(hours=1, minutes=7)
    monkeypatch.setattr(pg_backend, "utcnow", lambda: datetime.now(UTC) + skewed)
    with Store.open(postgres.fresh_database()) as store:
        assert abs((store.now() - datetime.now(UTC)).total_seconds()) < 30


# --- volume and indexes --------------------------------------------------------------------------------------


def test_a_chatty_flow_s_lines_are_stored_in_one_statement(postgres: pg.Cluster) -> None:
    with Store.open(postgres.fresh_database()) as store:
        store.pools.create(WorkPool("p", "process"))
        run = store.runs.create(FlowRun("f", "d", "p", None))
        statements: list[str] = []
        original = pg_backend.PostgresDatabase.run

        def counting(self: pg_backend.PostgresDatabase, statement: str, parameters: object) -> object:
            statements.append(statement)
            return original(self, statement, parameters)  # type: ignore[arg-type]

        pg_backend.PostgresDatabase.run = counting  # type: ignore[assignment,method-assign]
        try:
            store.logs.append(run.id, [LogLine(run.id, NOW, "INFO", "stdout", f"line {i}") for i in range(10_000)])
        finally:
            pg_backend.PostgresDatabase.run = original  # type: ignore[method-assign]
        assert [s.split()[0] for s in statements] == ["BEGIN", "WITH", "COMMIT"]
        assert len(store.logs.read(run.id, limit=20_000)) == 10_000


def test_claim_and_latest_runs_use_indexes(postgres: pg.Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    url = postgres.fresh_database()
    with Store.open(url) as store:
        store.pools.create(WorkPool("p", "process"))
        deployment, _ = store.deployments.upsert(Deployment("f", "d", "f.py:f", "p", concurrency_limit={"limit": 5}))
        done = [RunState.COMPLETED, RunState.FAILED]
        store.runs.insert_many(
            FlowRun("f", "d", "p", deployment.id, id=new_id(), state=done[i % 2], created=NOW + timedelta(seconds=i))
            for i in range(20_000)
        )
        store.runs.insert_many(
            FlowRun("f", "d", "p", deployment.id, id=new_id(), scheduled_time=NOW) for _ in range(200)
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        seen: list[tuple[str, object]] = []
        original = pg_backend.PostgresDatabase.run

        def recording(self: pg_backend.PostgresDatabase, statement: str, parameters: object) -> object:
            seen.append((statement, parameters))
            return original(self, statement, parameters)  # type: ignore[arg-type]

        monkeypatch.setattr(pg_backend.PostgresDatabase, "run", recording)
        assert store.runs.claim_next("p", None, "w", 30, NOW) is not None
        store.runs.list(limit=50)
        store.runs.list(state=RunState.FAILED, limit=50)
        store.runs.list(deployment_id=deployment.id, limit=50)
    plans = []
    with psycopg.connect(url) as conn:
        for statement, parameters in seen:
            if statement.startswith("SELECT") and "flow_runs" in statement:
                plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + statement, parameters))  # type: ignore[arg-type]
                plans.append(plan)
                assert "Seq Scan on flow_runs" not in plan, f"{statement}\n{plan}"
    assert len(plans) >= 5
