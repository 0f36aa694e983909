"""Variables: named JSON values used by templates (`{{ prefect.variables.<name> }}`)."""

from __future__ import annotations

from deploytool.errors import NotFoundError
from deploytool.models import Variable, utcnow
from deploytool.store.rows import dt, dump, load, ts
from deploytool.store.sql import Database

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


class VariableRepo:
    """Name -> JSON value."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def set(self, name: str, value: Any) -> Variable:
        """Create or replace a variable. `value` must be JSON-serialisable."""
        variable = Variable(name=name, value=value, updated=utcnow())
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO variables (name, value, updated) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                (name, dump(value), ts(variable.updated)),
            )
        return variable

    def get(self, name: str) -> Variable:
        """The variable; NotFoundError if it is not set."""
        with self._db.read() as conn:
            row = conn.execute("SELECT name, value, updated FROM variables WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"variable {name!r} is not set", hint=f"set it: deploytool variable set {name} VALUE")
        return Variable(name=row["name"], value=load(row["value"]), updated=dt(row["updated"]))

    def list(self) -> list[Variable]:
        """All variables, by name."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT name, value, updated FROM variables ORDER BY name").fetchall()
        return [Variable(name=r["name"], value=load(r["value"]), updated=dt(r["updated"])) for r in rows]

    def delete(self, name: str) -> None:
        """Remove a variable; NotFoundError if it is not set."""
        with self._db.transaction() as conn:
            if not conn.execute("DELETE FROM variables WHERE name = ?", (name,)).rowcount:
                raise NotFoundError(f"variable {name!r} is not set", hint="list variables: deploytool variable ls")
