"""The PostgreSQL store's schema: versioned migrations applied by `deploytool store migrate`, checked on open.

Scripts are `store/migrations/postgresql/NNNN_*.sql` (the same numbers as the SQLite scripts, so a version means
the same tables on both backends). The applied versions are rows of `deploytool_schema`. `migrate` applies the
missing scripts in one transaction (PostgreSQL's DDL is transactional: all or nothing) holding a
transaction-level advisory lock, so two `store migrate` at once apply each script once: the second waits, then
finds nothing to do. Meanwhile other processes see the schema as it was before (and are told to wait).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from deploytool.errors import DeploytoolError
from deploytool.pkgfiles import files
from deploytool.store.sealing import PYTHON_STEPS, key_source
from deploytool.store.sql import Connection

VERSION_TABLE = "deploytool_schema"
# pg_advisory_xact_lock key of `store migrate` (any constant; "deploytl" in ASCII, as a bigint).
MIGRATE_LOCK = 0x6465706C6F79746C
Transaction = Callable[[], AbstractContextManager[Connection]]


def scripts() -> list[tuple[int, str]]:
    """(version, sql) of the PostgreSQL migrations shipped, in order."""
    folder = files("deploytool.store").joinpath("migrations").joinpath("postgresql")
    found = sorted(
        (int(entry.name[:4]), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql") and entry.name[:4].isdigit()
    )
    versions = [v for v, _ in found]
    assert len(set(versions)) == len(versions), f"duplicate PostgreSQL migration numbers: {versions}"
    return found


def latest() -> int:
    return scripts()[-1][0]


def current_version(conn: Connection) -> int:
    """The highest version applied; 0 for a database without deploytool's schema."""
    if conn.execute(f"SELECT to_regclass('{VERSION_TABLE}')").fetchone()[0] is None:
        return 0
    return int(conn.execute(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}").fetchone()[0])


def _other_tables(conn: Connection) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        f" AND table_name <> '{VERSION_TABLE}' ORDER BY table_name"
    )
    return [r[0] for r in rows]


def _refuse_newer(version: int, url: str) -> None:
    if version > latest():
        raise DeploytoolError(
            f"the store {url} has schema version {version}, but this deploytool knows only up to {latest()}",
            hint="it was migrated by a newer deploytool: upgrade deploytool on this machine",
        )


def _refuse_foreign(conn: Connection, url: str) -> None:
    tables = _other_tables(conn)
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise DeploytoolError(
            f"the database {url} is not a deploytool store: it has tables of another program ({shown})",
            hint="create a database for deploytool (createdb deploytool) and point DEPLOYTOOL_STORE_URL at it,"
            " or use a schema of its own (?options=-csearch_path%3Ddeploytool)",
        )


def check(transaction: Transaction, url: str) -> int:
    """Refuse (DeploytoolError with a hint) a database this deploytool cannot use as it is; its version."""
    migrate_hint = f"run: deploytool store migrate --store '{url}'"
    with transaction() as conn:
        version = current_version(conn)
        _refuse_newer(version, url)
        if version == 0:
            _refuse_foreign(conn, url)
            raise DeploytoolError(f"the database {url} has no deploytool store yet", hint=migrate_hint)
        if version < latest():
            busy = not conn.execute("SELECT pg_try_advisory_xact_lock(?)", (MIGRATE_LOCK,)).fetchone()[0]
            if busy:
                raise DeploytoolError(
                    f"the store {url} is being migrated right now (schema version {version} -> {latest()})",
                    hint="wait for `deploytool store migrate` to finish, then try again",
                )
            raise DeploytoolError(
                f"the store {url} has schema version {version}; this deploytool needs {latest()}", hint=migrate_hint
            )
    return version


def migrate(transaction: Transaction, url: str) -> tuple[int, list[int]]:
    """Apply the missing scripts; (the version now, the versions applied). Safe to run twice at once."""
    with transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATE_LOCK,))
        version = current_version(conn)
        _refuse_newer(version, url)
        if version == 0:
            _refuse_foreign(conn, url)
            conn.execute(f"CREATE TABLE {VERSION_TABLE} (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)")
        done = {int(r[0]) for r in conn.execute(f"SELECT version FROM {VERSION_TABLE}")}
        applied: list[int] = []
        for number, script in scripts():
            if number in done:
                continue
            conn.execute(script)
            if number in PYTHON_STEPS:
                PYTHON_STEPS[number](conn, key_source("postgresql", url))
            conn.execute(
                f"INSERT INTO {VERSION_TABLE} (version, applied) VALUES (?, to_char(clock_timestamp()"
                " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'))",
                (number,),
            )
            applied.append(number)
    return max(done | set(applied)), applied
