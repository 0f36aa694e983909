"""`deploytool store ...`: where the store is, its schema, and moving everything to another store.

The store is chosen by `--store URL` (a global option, before the command) or DEPLOYTOOL_STORE_URL, else the
SQLite file in DEPLOYTOOL_HOME. URLs are printed with their password replaced by `***`.
"""

from __future__ import annotations

import sys
from enum import StrEnum

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, print_json, print_table
from deploytool.cli.params import OUTPUT, Group, Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Annotated, Any

GROUP = "store"
store_app = Group(
    GROUP,
    help="The store: show it (info), bring its schema up to date (migrate), copy it to another store (copy),"
    " the key of its secrets (new-key, rotate-key), PostgreSQL roles (grant).",
)
GROUPS = (store_app,)


def _target() -> str:
    from deploytool.settings import Settings

    return Settings.from_env().store


@store_app.command()
def info(output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Show the store in use: backend, URL (password hidden), schema version, the secret key's id and what it
    holds."""
    from deploytool.core.secret_keys import key_info
    from deploytool.store import Store, latest_version

    with json_errors("store-info", output), Store.open(_target()) as store:
        data: dict[str, Any] = {
            "backend": store.backend,
            "url": store.url,
            "schema_version": store.schema_version(),
            "latest_schema_version": latest_version(store.backend),
            "counts": store.table_counts(),
            "secret_key": key_info(store).to_dict(),
        }
    if output == OutputFormat.json:
        print_json("store-info", data)
        return
    print(f"Backend:        {data['backend']}")
    print(f"URL:            {data['url']}")
    print(f"Schema version: {data['schema_version']} (this deploytool: {data['latest_schema_version']})")
    key = data["secret_key"]
    here = f"id {key['key_id']}" if key["key_id"] else f"none ({key['problem']})"
    print(f"Secret key:     {here}, from {key['source']}")
    for key_id, count in key["in_store"].items():
        print(f"                {count} block(s) encrypted with key id {key_id}")
    print_table(None, ["TABLE", "ROWS"], sorted(data["counts"].items()))


@store_app.command()
def migrate(output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Apply the schema migrations the store is missing (creates an SQLite store; safe to run twice at once)."""
    from deploytool.store import backend_of, migrate_store, redact_url, roles_with_grants

    target = _target()
    with json_errors("store-migrate", output):
        version, applied = migrate_store(target)
    data = {"backend": backend_of(target), "url": redact_url(target), "schema_version": version, "applied": applied}
    if output == OutputFormat.json:
        print_json("store-migrate", data)
        return
    if applied:
        print(f"Applied migration(s) {', '.join(map(str, applied))}: {data['url']} is at schema version {version}.")
        with json_errors("store-migrate", output):
            roles = roles_with_grants(target)
        if roles:
            print(
                f"Roles with rights on this store: {', '.join(roles)}. Run `deploytool store grant --role NAME --as"
                " KIND` again for each, so that they get their rights on any table this migration added.",
                file=sys.stderr,
            )
    else:
        print(f"Nothing to do: {data['url']} is at schema version {version}.")


@store_app.command()
def copy(
    target: Annotated[str, Option("--to", help="The store to copy into.", metavar="URL")],
    source: Annotated[
        str | None, Option("--from", help="The store to copy from (default: the store in use).", metavar="URL")
    ] = None,
    replace: Annotated[
        bool, Option("--replace", help="Delete what the target holds first (otherwise it must be empty).")
    ] = False,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Copy everything (pools, queues, deployments, schedules, runs and logs, workers, variables, blocks) from
    one store into another, e.g. from the SQLite file to PostgreSQL. All or nothing."""
    from deploytool.core.secret_keys import key_info
    from deploytool.errors import DeploytoolError
    from deploytool.store import Store, backend_of, copy_store, migrate_store, redact_url

    with json_errors("store-copy", output):
        origin = source or _target()
        if redact_url(origin) == redact_url(target):
            raise DeploytoolError(
                f"--from and --to name the same store ({redact_url(target)})", hint="copy into another store"
            )
        if backend_of(target) == "postgresql":
            migrate_store(target)  # an empty database gets the schema first
        with Store.open(origin) as src, Store.open(target) as dst:
            result = copy_store(src, dst, replace=replace)
            keys = key_info(src)
    if output == OutputFormat.json:
        print_json("store-copy", {"from": result.source, "to": result.target, "counts": result.counts})
        return
    print(f"Copied {result.source} -> {result.target}{' (its previous content deleted)' if result.replaced else ''}:")
    print_table(None, ["TABLE", "ROWS"], list(result.counts.items()))
    print(
        "Point deploytool at the new store: export DEPLOYTOOL_STORE_URL='<the --to URL>' (or pass --store).",
        file=sys.stderr,
    )
    for key_id, count in keys.in_store.items():
        print(
            f"{count} block(s) were copied with their secrets encrypted with the key of id {key_id}"
            f"{' (' + keys.source + ')' if keys.key_id == key_id else ''}: give the hosts of the new store that key"
            " (DEPLOYTOOL_SECRET_KEY_FILE or DEPLOYTOOL_SECRET_KEY; docs/stores.md, 'Secrets at rest').",
            file=sys.stderr,
        )


@store_app.command("new-key")
def new_key(
    file: Annotated[
        Path | None,
        Option("--file", help="Write the key to this file (mode 0600; never overwritten).", metavar="PATH"),
    ] = None,
) -> None:
    """Make a new secret key for block secrets (printed, or written to --file). Give it to every host that reads
    or writes secrets: DEPLOYTOOL_SECRET_KEY_FILE=PATH, or DEPLOYTOOL_SECRET_KEY=KEY."""
    from deploytool.core.secret_keys import new_key as make

    with json_errors("store-new-key", OutputFormat.text):
        text, key_id = make(file)
    if text is not None:
        print(text)
        print(f"New key, id {key_id}: keep it secret, and the same on every host.", file=sys.stderr)
    else:
        print(f"Wrote a new key (id {key_id}) to {file} (mode 0600). Use it: DEPLOYTOOL_SECRET_KEY_FILE={file}")


@store_app.command("rotate-key")
def rotate_key(
    new_key_file: Annotated[
        Path | None,
        Option(
            "--new-key-file",
            help="The new key (from `store new-key --file`). Optional when the key is the SQLite store's own"
            " key file: then a new key is made and replaces it.",
            metavar="PATH",
        ),
    ] = None,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Encrypt every block secret again with a new key, all or none. The old key is the one in use
    (DEPLOYTOOL_SECRET_KEY, DEPLOYTOOL_SECRET_KEY_FILE, or $DEPLOYTOOL_HOME/secret.key)."""
    from deploytool.core.secret_keys import rotate_key as rotate
    from deploytool.store import Store

    with json_errors("store-rotate-key", output), Store.open(_target()) as store:
        done = rotate(store, new_key_file)
    data = {
        "blocks": done.blocks,
        "old_key_id": done.old_id,
        "new_key_id": done.new_id,
        "key_file": str(done.key_file) if done.key_file else None,
        "old_key_file": str(done.old_key_file) if done.old_key_file else None,
    }
    if output == OutputFormat.json:
        print_json("store-rotate-key", data)
        return
    print(f"Encrypted the secrets of {done.blocks} block(s) again: key id {done.old_id or '-'} -> {done.new_id}.")
    if done.key_file is not None:
        print(f"The new key is in {done.key_file}.", end="")
        print(
            f" The old one is kept in {done.old_key_file} (backups made before now need it)."
            if done.old_key_file
            else ""
        )
    else:
        print(
            f"Now give every host the new key ({new_key_file}): DEPLOYTOOL_SECRET_KEY_FILE or DEPLOYTOOL_SECRET_KEY."
            " A worker whose key file is replaced in place reads it again.",
            file=sys.stderr,
        )


class RoleKind(StrEnum):
    deployer = "deployer"
    worker = "worker"
    viewer = "viewer"


@store_app.command()
def grant(
    role: Annotated[str, Option("--role", help="The PostgreSQL role (created, with LOGIN, if missing).")],
    kind: Annotated[RoleKind, Option("--as", help="deployer (CI), worker or viewer.")],
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Give a PostgreSQL role the rights of a deployer (CI: pools, deployments, variables, blocks, queuing runs), a
    worker (claims and records runs, logs, heartbeats; cannot change deployments) or a viewer (reads). Run it as
    the store's owner; again after `store migrate`."""
    from dataclasses import asdict

    from deploytool.store import grant_role, redact_url

    target = _target()
    with json_errors("store-grant", output):
        done = grant_role(target, role, kind.value)
    if output == OutputFormat.json:
        print_json("store-grant", asdict(done))
        return
    if done.created:
        print(
            f"Created role {done.role} (LOGIN, no password: set one with ALTER ROLE, or use your server's"
            " authentication).",
            file=sys.stderr,
        )
    writes = ", ".join(done.writes) or "nothing"
    print(f"Role {done.role} is a {done.kind} of {redact_url(target)}: it writes {writes}; it reads every table.")
