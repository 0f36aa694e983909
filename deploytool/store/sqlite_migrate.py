"""The SQLite store's schema migrations: the numbered scripts in `store/migrations/`, applied in one write
transaction and recorded in `schema_migrations` (`PRAGMA user_version` holds the newest).

Opening a store that is up to date reads no script: the versions come from the scripts' file names, and the
texts are read only when one is pending.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from deploytool.errors import DeploytoolError
from deploytool.pkgfiles import files
from deploytool.store.db import SqliteDatabase, _is_locked, connect, locked_error
from deploytool.store.urls import MEMORY

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from deploytool.store.sqlstore import SqlStore


def _migration_names(folder: Traversable) -> dict[int, str]:
    """version -> file name of the numbered migration scripts in `folder`, in order."""
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql") and entry.name[:4].isdigit())
    versions = [int(name[:4]) for name in names]
    # A duplicate would silently skip schema changes: refuse to start instead. A gap is allowed (two changes
    # made at the same time take 0002 and 0003, whichever lands first): `migrate` records each version it
    # applied, so a lower number shipped later is still applied.
    assert len(set(versions)) == len(versions) and (not versions or versions[0] == 1), (
        f"migration files must be numbered from 1 without duplicates: {versions}"
    )
    return dict(zip(versions, names, strict=True))


def migration_versions() -> list[int]:
    """The versions of the migration scripts shipped in `store/migrations/`, in order (no script is read)."""
    return list(_migration_names(files("deploytool.store").joinpath("migrations")))


def migrations() -> list[tuple[int, str]]:
    """The numbered migration scripts shipped in `store/migrations/`, in order: (version, sql)."""
    folder = files("deploytool.store").joinpath("migrations")
    return [(v, folder.joinpath(name).read_text(encoding="utf-8")) for v, name in _migration_names(folder).items()]


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (sqlite3.complete_statement knows about strings and triggers)."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf
            buf = ""
    if buf.strip() and not buf.strip().startswith("--"):
        yield buf


def migrate(db: SqliteDatabase) -> int:
    """Bring the schema up to date; return the schema version. Safe to run concurrently from many processes.

    DeploytoolError if the database was written by a newer deploytool (a schema version we do not know), is
    another program's SQLite database, or its upgrade fails (then nothing is changed).
    """
    versions = migration_versions()  # the scripts themselves are read only when one is pending
    known = versions[-1] if versions else 0
    with db.read() as conn:
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if current == known and not _pending(conn, versions, current):
            return current
    _refuse_newer(current, known, db.path)
    try:
        # A migration may rewrite what older versions stored in clear (block secrets: store/sealing.py): the
        # freed space is zeroed, and the write-ahead log, which may hold older copies of pages, is emptied.
        db.conn.execute("PRAGMA secure_delete = ON")
        _apply(db, migrations(), known)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and _is_locked(exc):
            raise locked_error(db.path) from exc
        raise DeploytoolError(
            f"{db.path} is not a usable deploytool store: upgrading its schema failed: {exc}",
            hint="nothing was changed; point DEPLOYTOOL_HOME at another directory, or move the file away",
        ) from exc
    return known


def _apply(db: SqliteDatabase, scripts: list[tuple[int, str]], known: int) -> None:
    """Apply the pending scripts in one write transaction (all or nothing)."""
    from deploytool.store.sealing import PYTHON_STEPS, key_source  # a migration's Python steps, with their keys

    with db.transaction() as conn:
        # Read again under the write lock: another process may have migrated meanwhile.
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        _refuse_newer(current, known, db.path)
        _refuse_foreign(conn, current, db.path)
        waiting = set(_pending(conn, [version for version, _ in scripts], current))
        pending = [(version, script) for version, script in scripts if version in waiting]
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY) STRICT")
        conn.executemany(
            "INSERT OR IGNORE INTO schema_migrations (version) VALUES (?)",
            [(version,) for version, _ in scripts if version <= current and version not in waiting],
        )
        for version, script in pending:
            for statement in _statements(script):
                conn.execute(statement)
            if version in PYTHON_STEPS:
                PYTHON_STEPS[version](conn, key_source(db.dialect.name, db.path))
            conn.execute("INSERT INTO schema_migrations (version) VALUES (?)", (version,))
        conn.execute(f"PRAGMA user_version = {known}")


def _pending(conn: sqlite3.Connection, versions: list[int], current: int) -> list[int]:
    """The versions not applied yet. A store made before `schema_migrations` existed applied 1..user_version."""
    table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if table is None:
        return [v for v in versions if v > current]
    applied = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}
    return [v for v in versions if v not in applied]


def _refuse_foreign(conn: sqlite3.Connection, current: int, path: str) -> None:
    """A database with tables but no schema version was not made by deploytool: never add ours to it."""
    if current:
        return
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise DeploytoolError(
            f"{path} is an SQLite database but not a deploytool store (it has tables {shown})",
            hint="point DEPLOYTOOL_HOME at another directory, or move the file away",
        )


def _refuse_newer(current: int, known: int, path: str) -> None:
    if current > known:
        raise DeploytoolError(
            f"the store {path} has schema version {current}, but this deploytool knows only up to {known}",
            hint="it was written by a newer deploytool: upgrade deploytool,"
            " or set DEPLOYTOOL_HOME to another directory",
        )


def migrate_sqlite(path: str) -> tuple[int, list[int]]:
    """Bring the SQLite store at `path` up to date (creating it if missing); (version, versions applied)."""
    db = SqliteDatabase(connect(path), path)
    try:
        with db.read() as conn:
            before = int(conn.execute("PRAGMA user_version").fetchone()[0])
            pending = _pending(conn, migration_versions(), before) if before else []
        version = migrate(db)
        return version, pending if before else migration_versions()
    finally:
        db.close()


def open_sqlite(path: str) -> SqlStore:
    """Open (creating and migrating as needed) the SQLite store at `path`; `":memory:"` for a private one.

    DeploytoolError if the file is not a deploytool store, stays locked, or comes from a newer version.
    """
    from deploytool.store.sqlstore import SqlStore

    db = SqliteDatabase(connect(path), str(Path(path).expanduser()) if path != MEMORY else MEMORY)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return SqlStore(db)
