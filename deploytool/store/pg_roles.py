"""Least privilege on a PostgreSQL store: `deploytool store grant --role NAME --as deployer|worker|viewer`, and the
one place where PostgreSQL's "permission denied" becomes a message that says who may not do what.

- **viewer**: reads every table (blocks' secrets are encrypted: docs/stores.md, "Secrets at rest").
- **deployer** (CI): also writes work pools and queues, deployments and their schedule marks, variables and blocks,
  and flow runs (queues, cancels, retries and deletes runs).
- **worker**: also writes flow runs (claims, states, leases, scheduled runs), their logs and task runs, workers'
  heartbeats and schedule marks; it cannot change pools, queues, deployments, variables or blocks (it may update
  a pool's `updated` column only: a claim locks the pool's row, which needs an UPDATE right on one column).

Privileges are granted on each of deploytool's tables, their sequences and the schema. A table added by a later
`store migrate` gets no privileges until `store grant` is run again for each role (it is idempotent).
"""

from __future__ import annotations

import re

from deploytool.errors import DeploytoolError
from deploytool.records import record
from deploytool.store.pg_migrate import VERSION_TABLE
from deploytool.store.sql import DATA_TABLES, Connection

ROLES = ("deployer", "worker", "viewer")
WRITES: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "deployer": frozenset(
        {"work_pools", "work_queues", "deployments", "schedule_marks", "flow_runs", "variables", "blocks"}
    ),
    "worker": frozenset({"flow_runs", "logs", "task_runs", "workers", "schedule_marks"}),
}
_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")
# What a table holds, as a user would name it in "role X may not change ...".
NOUNS = {
    "work_pools": "work pools",
    "work_queues": "work queues",
    "deployments": "deployments",
    "schedule_marks": "schedules",
    "flow_runs": "flow runs",
    "logs": "run logs",
    "task_runs": "task runs",
    "workers": "workers' heartbeats",
    "variables": "variables",
    "blocks": "blocks",
    VERSION_TABLE: "the store's schema",
}


@record
class Grant:
    role: str
    kind: str
    created: bool  # the role did not exist and was created (LOGIN, no password)
    writes: list[str]  # the tables it may write
    reads: list[str]  # the tables it may read


def check_role_name(role: str) -> str:
    if not _ROLE_NAME.fullmatch(role):
        raise DeploytoolError(
            f"invalid role name {role!r}",
            hint="a PostgreSQL role name: a letter or '_', then letters, digits, '_', '$' or '-' (63 at most)",
        )
    return role


def _quoted(role: str) -> str:
    return '"' + role.replace('"', '""') + '"'


def grant(conn: Connection, role: str, kind: str) -> Grant:
    """Give `role` exactly the privileges of `kind` on the store's tables, sequences and schema (creating the
    role, with LOGIN and no password, when it does not exist). Inside one transaction: all or none."""
    if kind not in ROLES:
        raise DeploytoolError(f"unknown role kind {kind!r}", hint=f"use one of: {', '.join(ROLES)}")
    who = _quoted(check_role_name(role))
    created = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = ?", (role,)).fetchone() is None
    if created:
        conn.execute(f"CREATE ROLE {who} LOGIN")
    schema = _quoted(str(conn.execute("SELECT current_schema()").fetchone()[0]))
    tables = [*DATA_TABLES, VERSION_TABLE]
    conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {who}")
    for table in tables:
        conn.execute(f"REVOKE ALL ON TABLE {table} FROM {who}")
        rights = "SELECT, INSERT, UPDATE, DELETE" if table in WRITES[kind] else "SELECT"
        conn.execute(f"GRANT {rights} ON TABLE {table} TO {who}")
    if kind == "worker":
        # A claim locks its pool's row (SELECT ... FOR NO KEY UPDATE: see PostgresDatabase.lock_pool_for_claim),
        # which PostgreSQL allows only to a role that may update a column of it: this one, which no code changes.
        conn.execute(f"GRANT UPDATE (updated) ON TABLE work_pools TO {who}")
    sequences = [
        r[0]
        for r in conn.execute(
            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()"
        ).fetchall()
    ]
    for sequence in sequences:
        conn.execute(f"REVOKE ALL ON SEQUENCE {_quoted(sequence)} FROM {who}")
        if WRITES[kind]:
            conn.execute(f"GRANT USAGE, SELECT ON SEQUENCE {_quoted(sequence)} TO {who}")
    writes = sorted(WRITES[kind])
    return Grant(role, kind, created, writes, sorted(t for t in tables if t not in WRITES[kind]))


def granted_roles(conn: Connection) -> list[str]:
    """The roles other than the current one with privileges on the store's tables (to remind after a migration)."""
    rows = conn.execute(
        "SELECT DISTINCT grantee FROM information_schema.role_table_grants WHERE table_schema = current_schema()"
        " AND grantee <> current_user AND grantee <> 'PUBLIC' ORDER BY grantee"
    ).fetchall()
    return [str(r[0]) for r in rows]


_DENIED = re.compile(r"permission denied for (?:table|relation|sequence|schema) \"?([A-Za-z0-9_]+)")


def permission_denied(server_message: str, statement: str, role: str, at: str) -> DeploytoolError:
    """PostgreSQL's "permission denied" (InsufficientPrivilege) as deploytool's message: the role, what it may
    not do, and what to do. The statement's parameters are never shown."""
    found = _DENIED.search(server_message)
    thing = found.group(1) if found else None
    reading = statement.lstrip().upper().startswith("SELECT") and " FOR " not in statement.upper()
    if thing in NOUNS:
        what = f"{'read' if reading else 'change'} {NOUNS[thing]}"
    elif found:
        what = f"use the schema {thing}" if "schema" in server_message else f"use {thing}"
    else:
        what = "do this"
    return DeploytoolError(
        f"permission denied: role {role} may not {what} in the store at {at} ({server_message.strip()})",
        hint="this role was given fewer rights (deploytool store grant --as deployer|worker|viewer): deployers"
        " change pools, queues, deployments, variables and blocks and queue runs; workers claim and record runs;"
        " viewers read. Run this as a role that may, or ask the store's owner (docs/stores.md#roles)",
    )
