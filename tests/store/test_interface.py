"""The store is used through its interface only: no driver or store internals outside the backends."""

from __future__ import annotations

import ast
from pathlib import Path

import deploytool

PACKAGE = Path(deploytool.__file__).parent
# What code outside deploytool/store may import from it: the package (its interface) and nothing deeper.
PUBLIC = {"deploytool.store"}
# The only modules that may use a database driver.
DRIVERS = {
    "sqlite3": {"store/db.py", "store/sqlite_file.py", "store/sqlite_migrate.py"},
    "psycopg": {"store/postgres.py", "store/pg_connect.py", "store/pg_listen.py"},
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_code_outside_the_store_imports_only_its_interface() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "store"
        for name in _imports(path)
        if name.startswith("deploytool.store") and name not in PUBLIC
    ]
    assert offenders == []


def test_only_the_backends_use_a_database_driver() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in PACKAGE.rglob("*.py")
        for name in _imports(path)
        for driver, allowed in DRIVERS.items()
        if name.split(".")[0] == driver and path.relative_to(PACKAGE).as_posix() not in allowed
    ]
    assert offenders == []
