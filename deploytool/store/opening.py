"""Opening a store by URL (the backends are imported only when a URL names them), migrating it, and the
newest schema version of each backend.

`deploytool/store/__init__.py` gives `open_store` to `Store.open` (`api.set_opener`): the interface module names
no backend, so no backend's import of the interface runs in a circle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from deploytool.store.urls import backend_of, sqlite_path

if TYPE_CHECKING:
    from deploytool.store.api import Store


def open_store(target: Path | str) -> Store:
    """Open the store that `target` names (see the module's doc)."""
    if backend_of(target) == "postgresql":
        from deploytool.store.postgres import open_postgres

        return open_postgres(str(target))
    from deploytool.store.db import open_sqlite

    return open_sqlite(sqlite_path(target))


def migrate_store(target: Path | str) -> tuple[int, list[int]]:
    """Apply the pending schema migrations of the store `target` names; (version, versions applied)."""
    if backend_of(target) == "postgresql":
        from deploytool.store.postgres import migrate_postgres

        return migrate_postgres(str(target))
    from deploytool.store.db import migrate_sqlite

    return migrate_sqlite(sqlite_path(target))


def latest_version(backend: str) -> int:
    """The newest schema version this deploytool knows for a backend."""
    if backend == "postgresql":
        from deploytool.store.pg_migrate import latest

        return latest()
    from deploytool.store.db import migrations

    return migrations()[-1][0]
