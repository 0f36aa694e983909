"""Block secrets at rest: encrypted in the store with a key kept outside it, decrypted by the worker at launch.

What a user would check: a dump of the SQLite file or a SELECT on PostgreSQL shows no secret; a real worker runs
a flow that reads the secret; a wrong or missing key is a clear error naming the block; `store rotate-key`
re-encrypts all or nothing; a store written by the previous schema (secrets in clear) is encrypted on migration.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from deploytool.core.values import set_block
from deploytool.models import TERMINAL, RunState
from deploytool.secretbox import SecretKeyError, new_key_text
from deploytool.store import Store
from deploytool.store.sealing import SEALED_SCHEMA_VERSION
from tests.store import pg_cluster as pg
from tests.store.backends import StoreFactory
from tests.store.helpers import deploytool
from tests.worker.helpers import log_text, make_deployment, queue_run, tick_until, worker, write_flow

SECRET = "hunter2-Pa55-s3cr3t"
TOKEN = "ghp_0123456789abcdefSECRET"
FLOW = """
import hashlib, os
print('the password is', os.environ['DB_PASSWORD'])
with open(os.environ['OUT'], 'w') as out:
    out.write(hashlib.sha256(os.environ['DB_PASSWORD'].encode()).hexdigest())
"""


def _clean(done: subprocess.CompletedProcess[str], *secrets: str) -> str:
    """The command's output, checked to hold no traceback and none of `secrets`."""
    text = done.stdout + done.stderr
    assert "Traceback" not in text
    for secret in secrets:
        assert secret not in text
    return text


def _files_hold(folder: Path, needle: str) -> list[str]:
    return [p.name for p in folder.iterdir() if p.is_file() and needle.encode() in p.read_bytes()]


# --- at rest --------------------------------------------------------------------------------------------------


def test_a_dump_of_the_sqlite_store_shows_no_secret(isolated_home: Path) -> None:
    done = deploytool("block", "set", "secret/db", "--from-json", "-", stdin=json.dumps({"value": SECRET}))
    assert done.returncode == 0, done.stderr
    creds = {"token": TOKEN, "url": f"https://x:{TOKEN}@git.example", "nested": {"api_key": SECRET + "-2"}}
    done = deploytool("block", "set", "github-credentials/ci", "--from-json", "-", stdin=json.dumps(creds))
    assert done.returncode == 0, done.stderr
    key_file = isolated_home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # made on first use: one machine needs no setup
    key_text = key_file.read_text().strip()
    for needle in (SECRET, TOKEN, key_text):
        assert _files_hold(isolated_home, needle) in ([], ["secret.key"]), needle
    dump = subprocess.run(["sqlite3", str(isolated_home / "deploytool.db"), ".dump"], capture_output=True, text=True)
    if dump.returncode == 0:  # the sqlite3 shell, when installed, shows the same
        assert SECRET not in dump.stdout and TOKEN not in dump.stdout and "INSERT INTO blocks" in dump.stdout
    shown = _clean(deploytool("block", "inspect", "github-credentials/ci", "-o", "json"), SECRET, TOKEN)
    assert json.loads(shown)["data"]["data"]["url"] == "https://x:***@git.example"


def test_a_select_on_postgresql_shows_no_secret(postgres: pg.Cluster) -> None:
    import psycopg

    url = postgres.fresh_database()
    done = deploytool(
        "--store", url, "block", "set", "secret/db", "--from-json", "-", stdin=json.dumps({"value": SECRET})
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT * FROM blocks").fetchall()
    assert rows and SECRET not in repr(rows) and pg.TEST_SECRET_KEY not in repr(rows)
    with Store.open(url) as store:
        assert store.blocks.get("secret", "db").data == {"value": "********"}
        assert store.blocks.reveal("secret", "db").data == {"value": SECRET}


# --- the worker decrypts at launch ----------------------------------------------------------------------------


def _secret_run(store: Store, project: Path, out: Path) -> str:
    entry = write_flow(project, FLOW)
    env = {"DB_PASSWORD": "{{ prefect.blocks.secret.db }}", "OUT": str(out)}
    deployment = make_deployment(store, project, entry, job_variables={"env": env})
    return queue_run(store, deployment).id


def test_a_real_worker_runs_a_flow_that_reads_the_secret(shared: Store, tmp_path: Path) -> None:
    set_block(shared, "secret/db", {"value": SECRET})
    out = tmp_path / "digest"
    run_id = _secret_run(shared, tmp_path, out)
    w = worker(shared)
    w.register()
    tick_until(w, lambda: shared.runs.get(run_id).state in TERMINAL, timeout=60)
    w.close()
    assert shared.runs.get(run_id).state is RunState.COMPLETED, log_text(shared, run_id)
    assert out.read_text() == hashlib.sha256(SECRET.encode()).hexdigest()  # the flow had the plaintext
    assert "the password is ***" in log_text(shared, run_id)


def test_a_wrong_key_fails_the_run_naming_the_block(
    shared: Store, store_factory: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYTOOL_SECRET_KEY", new_key_text())
    with store_factory.open() as writer:
        set_block(writer, "secret/db", {"value": SECRET})
    monkeypatch.setenv("DEPLOYTOOL_SECRET_KEY", new_key_text())  # this host was given another key
    with store_factory.open() as store:
        run_id = _secret_run(store, tmp_path, tmp_path / "digest")
        w = worker(store)
        w.register()
        tick_until(w, lambda: store.runs.get(run_id).state in TERMINAL, timeout=60)
        w.close()
        run = store.runs.get(run_id)
        assert run.state is RunState.FAILED
        message = run.state_message or ""
        assert "cannot read the secrets of block secret/db: it was encrypted with the key of id" in message
        assert "but DEPLOYTOOL_SECRET_KEY has id" in message and "give this host the key" in message
        assert SECRET not in message and "v1:" not in message
        assert store.blocks.get("secret", "db").data == {"value": "********"}  # listing needs no key
        with pytest.raises(SecretKeyError, match=re.escape("store's other secrets (block secret/db) are encrypted")):
            set_block(store, "secret/other", {"value": "x"})  # one key per store: never a mix


def test_a_lost_key_file_is_a_clear_error(isolated_home: Path, tmp_path: Path) -> None:
    assert deploytool("block", "set", "secret/db", f"value={SECRET}").returncode == 0
    (isolated_home / "secret.key").unlink()
    with Store.open(isolated_home / "deploytool.db") as store:
        with pytest.raises(SecretKeyError) as caught:
            store.blocks.reveal("secret", "db")
    assert str(caught.value).startswith(f"cannot read the secrets of block secret/db: the key file {isolated_home}")
    assert caught.value.hint is not None and caught.value.hint.startswith("restore it from your copy of the key")
    done = deploytool("block", "inspect", "secret/db")
    assert done.returncode == 0 and "********" in _clean(done, SECRET)


def test_postgresql_needs_the_key_given_explicitly(postgres: pg.Cluster, isolated_home: Path) -> None:
    url = postgres.fresh_database()
    done = deploytool("--store", url, "block", "set", "secret/db", f"value={SECRET}", env={"DEPLOYTOOL_SECRET_KEY": ""})
    assert done.returncode == 1
    text = _clean(done, SECRET)
    assert "cannot store the secrets of block secret/db: this host has no secret key: the PostgreSQL store" in text
    assert "every host that reads or writes them must be given the same key" in text
    assert "DEPLOYTOOL_SECRET_KEY_FILE" in text and not (isolated_home / "secret.key").exists()
    bad = deploytool("--store", url, "block", "set", "secret/db", "value=x", env={"DEPLOYTOOL_SECRET_KEY": "short"})
    assert bad.returncode == 1
    assert "DEPLOYTOOL_SECRET_KEY does not hold a deploytool secret key" in _clean(bad, "short")


# --- rotate-key -----------------------------------------------------------------------------------------------


def test_rotate_key_of_the_sqlite_store_replaces_its_key_file(isolated_home: Path) -> None:
    assert deploytool("block", "set", "secret/db", f"value={SECRET}").returncode == 0
    old = (isolated_home / "secret.key").read_text()
    done = deploytool("store", "rotate-key", "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(_clean(done, SECRET, old.strip()))["data"]
    assert data["blocks"] == 1 and data["old_key_id"] != data["new_key_id"]
    assert (isolated_home / "secret.key.old").read_text() == old and (isolated_home / "secret.key").read_text() != old
    with Store.open(isolated_home / "deploytool.db") as store:
        assert store.blocks.reveal("secret", "db").data == {"value": SECRET}
        assert store.blocks.key_ids() == {data["new_key_id"]: 1}


def test_rotate_key_is_all_or_nothing(any_store: Store, store_factory: StoreFactory, tmp_path: Path) -> None:
    set_block(any_store, "secret/a", {"value": "aaaa"})
    set_block(any_store, "secret/b", {"value": "bbbb"})
    before = any_store.blocks.key_ids()
    database = any_store.database  # type: ignore[attr-defined]
    with database.transaction() as conn:  # b's sealed value replaced by a's: it no longer opens as b's
        sealed = conn.execute("SELECT sealed FROM blocks WHERE name = 'a'").fetchone()[0]
        conn.execute("UPDATE blocks SET sealed = ? WHERE name = 'b'", (sealed,))
    new_file = tmp_path / "new.key"
    assert deploytool("store", "new-key", "--file", str(new_file)).returncode == 0
    assert stat.S_IMODE(new_file.stat().st_mode) == 0o600
    done = deploytool("--store", store_factory.url, "store", "rotate-key", "--new-key-file", str(new_file))
    assert done.returncode == 1
    assert "cannot read the secrets of block secret/b: its encrypted value does not decrypt" in _clean(done, "aaaa")
    with store_factory.open() as store:
        assert store.blocks.key_ids() == before
        assert store.blocks.reveal("secret", "a").data == {"value": "aaaa"}


def test_rotate_key_with_explicit_keys_on_postgresql(postgres: pg.Cluster, tmp_path: Path) -> None:
    url = postgres.fresh_database()
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    for path in (old_file, new_file):
        assert deploytool("store", "new-key", "--file", str(path)).returncode == 0
    env = {"DEPLOYTOOL_SECRET_KEY": "", "DEPLOYTOOL_SECRET_KEY_FILE": str(old_file), "DEPLOYTOOL_STORE_URL": url}
    assert deploytool("block", "set", "secret/db", f"value={SECRET}", env=env).returncode == 0
    refused = deploytool("store", "rotate-key", env=env)
    assert refused.returncode == 1 and "give the new key with --new-key-file PATH" in _clean(refused)
    done = deploytool("store", "rotate-key", "--new-key-file", str(new_file), env=env)
    assert done.returncode == 0, done.stderr
    assert "Encrypted the secrets of 1 block(s) again" in _clean(done, SECRET)
    still_old = deploytool("store", "info", env=env)
    assert "1 block(s) encrypted with key id" in still_old.stdout
    with_new = {**env, "DEPLOYTOOL_SECRET_KEY_FILE": str(new_file)}
    done = deploytool("store", "info", "-o", "json", env=with_new)
    key = json.loads(done.stdout)["data"]["secret_key"]
    assert list(key["in_store"]) == [key["key_id"]]


# --- migrating a store of the previous schema -----------------------------------------------------------------


def _previous_scripts(folder: str) -> list[tuple[int, str]]:
    """The migration scripts before the one that encrypts block secrets: a store of the previous schema."""
    from importlib import resources

    root = resources.files("deploytool.store").joinpath("migrations")
    if folder:
        root = root.joinpath(folder)
    names = sorted(e.name for e in root.iterdir() if e.name.endswith(".sql") and e.name[:4].isdigit())
    return [(int(n[:4]), root.joinpath(n).read_text()) for n in names if int(n[:4]) < SEALED_SCHEMA_VERSION]


def _plaintext_rows() -> list[tuple[str, str, str, str, str]]:
    return [
        ("secret", "db", json.dumps({"value": SECRET}), json.dumps(["value"]), "2026-01-01T00:00:00.000000+00:00"),
        ("github-credentials", "ci", json.dumps({"token": TOKEN}), "[]", "2026-01-01T00:00:00.000000+00:00"),
        ("json", "cfg", json.dumps({"region": "eu"}), "[]", "2026-01-01T00:00:00.000000+00:00"),
    ]


def test_an_sqlite_store_of_the_previous_schema_is_encrypted_when_opened(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    path = isolated_home / "deploytool.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    scripts = _previous_scripts("")
    for _, script in scripts:
        conn.executescript(script)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY) STRICT")
    conn.executemany("INSERT INTO schema_migrations VALUES (?)", [(number,) for number, _ in scripts])
    conn.execute(f"PRAGMA user_version = {scripts[-1][0]}")
    conn.executemany("INSERT INTO blocks VALUES (?, ?, ?, ?, ?)", _plaintext_rows())
    conn.commit()
    conn.close()
    path.chmod(0o600)
    assert _files_hold(isolated_home, SECRET)  # as an older deploytool left it

    done = deploytool("block", "ls")
    assert done.returncode == 0, done.stderr
    _clean(done, SECRET, TOKEN)
    assert _files_hold(isolated_home, SECRET) == [] and _files_hold(isolated_home, TOKEN) == []
    with Store.open(path) as store:
        assert store.blocks.reveal("secret", "db").data == {"value": SECRET}
        assert store.blocks.reveal("github-credentials", "ci").data == {"token": TOKEN}
        assert store.blocks.get("github-credentials", "ci").secret_fields == ["token"]
        assert store.blocks.get("json", "cfg").data == {"region": "eu"}  # nothing secret: as it was
        assert len(store.blocks.key_ids()) == 1


def test_store_migrate_encrypts_a_postgresql_store_of_the_previous_schema(postgres: pg.Cluster) -> None:
    import psycopg

    url = postgres.empty_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE deploytool_schema (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)")
        for number, script in _previous_scripts("postgresql"):
            conn.execute(script)  # type: ignore[arg-type]
            conn.execute("INSERT INTO deploytool_schema VALUES (%s, '2026-01-01')", (number,))
        for row in _plaintext_rows():
            conn.execute("INSERT INTO blocks VALUES (%s, %s, %s, %s, %s)", row)

    done = deploytool("--store", url, "store", "migrate", env={"DEPLOYTOOL_SECRET_KEY": ""})
    assert done.returncode == 1
    text = _clean(done, SECRET, TOKEN)
    assert "2 block(s) hold secrets in clear, stored by an older deploytool (github-credentials/ci, secret/db)" in text
    assert "nothing was changed" in text
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT max(version) FROM deploytool_schema").fetchone() == (SEALED_SCHEMA_VERSION - 1,)

    done = deploytool("--store", url, "store", "migrate")
    assert done.returncode == 0, done.stderr
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT * FROM blocks").fetchall()
    assert SECRET not in repr(rows) and TOKEN not in repr(rows)
    with Store.open(url) as store:
        assert store.blocks.reveal("secret", "db").data == {"value": SECRET}
        assert store.blocks.reveal("github-credentials", "ci").data == {"token": TOKEN}


def test_store_copy_to_postgresql_keeps_the_secrets_encrypted_with_their_key(
    postgres: pg.Cluster, isolated_home: Path
) -> None:
    no_key = {"DEPLOYTOOL_SECRET_KEY": ""}  # this machine's SQLite store: its own key file
    assert deploytool("block", "set", "secret/db", f"value={SECRET}", env=no_key).returncode == 0
    key_file = isolated_home / "secret.key"
    url = postgres.empty_database()
    done = deploytool("store", "copy", "--to", url, env=no_key)
    assert done.returncode == 0, done.stderr
    assert "encrypted with the key of id" in _clean(done, SECRET) and f"(the key file {key_file})" in done.stderr
    env = {"DEPLOYTOOL_SECRET_KEY": "", "DEPLOYTOOL_SECRET_KEY_FILE": str(key_file), "DEPLOYTOOL_STORE_URL": url}
    info = json.loads(deploytool("store", "info", "-o", "json", env=env).stdout)["data"]["secret_key"]
    assert list(info["in_store"]) == [info["key_id"]]  # the PostgreSQL hosts given that key file can read them
