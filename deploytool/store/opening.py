"""Opening a store by URL (the backends are imported only when a URL names them), migrating it, and the
newest schema version of each backend.

`deploytool/store/__init__.py` gives `open_store` to `Store.open` (`api.set_opener`): the interface module names
no backend, so no backend's import of the interface runs in a circle.
"""

from __future__ import annotations

from pathlib import Path

from deploytool.errors import DeploytoolError
from deploytool.store.urls import backend_of, sqlite_path

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from deploytool.store.api import Store
    from deploytool.store.pg_roles import Grant


def open_store(target: Path | str) -> Store:
    """Open the store that `target` names (see the module's doc)."""
    if backend_of(target) == "postgresql":
        from deploytool.store.postgres import open_postgres

        return open_postgres(str(target))
    from deploytool.store.sqlite_migrate import open_sqlite

    return open_sqlite(sqlite_path(target))


def migrate_store(target: Path | str) -> tuple[int, list[int]]:
    """Apply the pending schema migrations of the store `target` names; (version, versions applied)."""
    if backend_of(target) == "postgresql":
        from deploytool.store.postgres import migrate_postgres

        return migrate_postgres(str(target))
    from deploytool.store.sqlite_migrate import migrate_sqlite

    return migrate_sqlite(sqlite_path(target))


def latest_version(backend: str) -> int:
    """The newest schema version this deploytool knows for a backend."""
    if backend == "postgresql":
        from deploytool.store.pg_migrate import latest

        return latest()
    from deploytool.store.sqlite_migrate import migration_versions

    return migration_versions()[-1]


def grant_role(target: Path | str, role: str, kind: str) -> Grant:
    """Give a PostgreSQL role the privileges of `kind` (deployer, worker, viewer) on the store (store/pg_roles.py)."""
    if backend_of(target) != "postgresql":
        raise DeploytoolError(
            "store grant is for PostgreSQL stores: the SQLite store is one file, and its file mode (0600) decides"
            " who may use it",
            hint="point --store or DEPLOYTOOL_STORE_URL at the PostgreSQL store (docs/stores.md#roles)",
        )
    from deploytool.store.pg_roles import grant
    from deploytool.store.postgres import PostgresDatabase, open_postgres

    store = open_postgres(str(target))
    try:
        database = store.database
        assert isinstance(database, PostgresDatabase)
        with database.transaction() as conn:
            return grant(conn, role, kind)
    finally:
        store.close()


def roles_with_grants(target: Path | str) -> list[str]:
    """The PostgreSQL roles (other than the one in use) with privileges on the store's tables; [] for SQLite."""
    if backend_of(target) != "postgresql":
        return []
    from deploytool.store.pg_roles import granted_roles
    from deploytool.store.postgres import open_postgres

    store = open_postgres(str(target))
    try:
        with store.database.read() as conn:
            return granted_roles(conn)
    finally:
        store.close()
